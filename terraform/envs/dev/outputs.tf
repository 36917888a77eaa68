# Every value a workflow reads with `terraform output`.

output "project_id" {
  description = "The GCP project."
  value       = var.project_id
}

output "region" {
  description = "Region of the platform."
  value       = var.region
}

output "location" {
  description = "Location of the cluster (the node-pool actions' `location` input)."
  value       = module.gke.location
}

output "cluster_name" {
  description = "Name of the GKE cluster (the node-pool actions' `cluster` input)."
  value       = module.gke.cluster_name
}

output "system_pool" {
  description = "The CPU system pool, the one pool Terraform manages; every other pool is a GPU pool of the actions."
  value       = module.gke.system_pool
}

output "snapshot_bucket" {
  description = "Bucket of node-pool snapshots (the node-pool actions' `bucket` input)."
  value       = module.storage.bucket
}

output "registry" {
  description = "Docker path of the apps repository, e.g. us-central1-docker.pkg.dev/mlabs-demo/apps."
  value       = lookup(module.registry.repository_urls, "apps", "")
}

output "runner_registry" {
  description = "Docker path of the mlabs-runner repository."
  value       = module.runner_registry.repository_urls[var.runner_repository]
}

output "node_service_account" {
  description = "Service account the nodes (and the actions' GPU pools) run as."
  value       = local.node_service_account_email
}

output "zones" {
  description = "Zones the cluster's nodes may use (var.zones, or every zone of the region that is UP)."
  value       = local.zones
}
