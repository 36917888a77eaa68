# The platform of one project: the GKE cluster (system pool only), the Docker repositories (apps,
# and the runner image's) and the node-pool snapshot bucket. Applied by the platform-create workflow as the CI service account.
#
# Not here, on purpose:
#   - the state bucket, the Workload Identity pool and provider, the CI service account and every
#     IAM grant: bootstrap/ (a person applies it once; CI cannot change IAM, so it cannot raise
#     its own privileges);
#   - GPU node pools: the suite's node-pool actions own them (see modules/gke/main.tf).

# Every zone of the region, when var.zones leaves them to the region: any region works, with the
# zones Compute lists for it (sorted, so the system pool's zone, the first, stays put).
data "google_compute_zones" "region" {
  project = var.project_id
  region  = var.region
  status  = "UP"
}

locals {
  zones                      = length(var.zones) > 0 ? var.zones : sort(data.google_compute_zones.region.names)
  snapshot_bucket            = "${var.project_id}-nodepool-snapshots"
  models_bucket              = "${var.project_id}-models"
  node_service_account_email = "${var.node_service_account_id}@${var.project_id}.iam.gserviceaccount.com"
}

module "gke" {
  source = "../../modules/gke"

  project_id                 = var.project_id
  cluster_name               = var.cluster_name
  location                   = var.region
  node_zones                 = local.zones
  release_channel            = var.release_channel
  node_service_account_email = local.node_service_account_email
}

module "registry" {
  source = "../../modules/registry"

  project_id   = var.project_id
  location     = var.region
  repositories = var.repositories
}

# The runner image's repository, a module of its own so that platform-destroy keeps it unless its
# input delete_runner_images is set: the self-hosted runners pull their image from here, and a
# destroy without it would leave them unable to start. Same module, same cleanup policies.
module "runner_registry" {
  source = "../../modules/registry"

  project_id   = var.project_id
  location     = var.region
  repositories = [var.runner_repository]
}

# It used to be one of module.registry's repositories: an existing state moves, nothing is recreated.
moved {
  from = module.registry.google_artifact_registry_repository.this["mlabs-runner"]
  to   = module.runner_registry.google_artifact_registry_repository.this["mlabs-runner"]
}

# Kept by platform-destroy: its destroy targets only module.gke, module.registry and, when asked,
# module.runner_registry.
module "storage" {
  source = "../../modules/storage"

  project_id  = var.project_id
  location    = var.region
  bucket_name = local.snapshot_bucket

  models_bucket_name    = local.models_bucket
  models_reader_members = ["serviceAccount:${local.node_service_account_email}"]
}
