# The CI service account's roles: the least the suite's actions need, each with the action that
# needs it. Applied from bootstrap/ by a person, never by CI: the CI identity cannot grant itself
# more (it holds no resourcemanager.projectIamAdmin). No service account keys exist anywhere: CI
# logs in only through Workload Identity Federation.

locals {
  ci_member   = "serviceAccount:${var.ci_service_account_email}"
  node_member = "serviceAccount:${google_service_account.nodes.email}"

  ci_project_roles = toset([
    "roles/container.clusterAdmin",            # platform-create/-destroy (cluster, system pool); node-pool-expand, -destroy, -restore, cost-cleanup (GPU pools)
    "roles/container.developer",               # train-private-first's burst: its ConfigMap and Job, their pods' logs; cost-cleanup: reads pods and their GPU requests (Kubernetes objects need these container.* permissions; clusterAdmin grants none)
    "roles/artifactregistry.admin",            # platform-create/-destroy (repositories and cleanup policies); image-build, image-merge (push through the Docker host: uploadArtifacts); image-prune (delete versions: deleteArtifacts)
    "roles/storage.admin",                     # platform-create/-destroy (snapshot bucket settings); node-pool-snapshot/-restore (snapshot objects); cost-cleanup (old snapshots); model-promote/-retire (models bucket objects)
    "roles/compute.viewer",                    # gpu-capacity: accelerator types per zone and regional GPU quotas
    "roles/compute.storageAdmin",              # cost-cleanup: snapshot, then delete, unattached persistent disks
    "roles/cloudquotas.admin",                 # gpu-quota: reads quota info and creates or updates QuotaPreferences
    "roles/serviceusage.serviceUsageConsumer", # every action: calls APIs billed to the project
  ])

  node_project_roles = toset([
    "roles/logging.logWriter",                   # GKE nodes (system and GPU pools): write container logs
    "roles/monitoring.metricWriter",             # GKE nodes: write metrics
    "roles/monitoring.viewer",                   # GKE nodes: the metrics agent reads its own configuration
    "roles/stackdriver.resourceMetadata.writer", # GKE nodes: resource metadata for logs and metrics
    "roles/artifactregistry.reader",             # GKE nodes: pull images from apps and mlabs-runner
  ])
}

# The identity every node of the cluster runs as, instead of the broad Compute Engine default account.
resource "google_service_account" "nodes" {
  project      = var.project_id
  account_id   = var.node_service_account_id
  display_name = "mlabs GKE nodes"
}

resource "google_project_iam_member" "ci" {
  for_each = local.ci_project_roles

  project = var.project_id
  role    = each.value
  member  = local.ci_member
}

resource "google_project_iam_member" "nodes" {
  for_each = local.node_project_roles

  project = var.project_id
  role    = each.value
  member  = local.node_member
}

# CI creates node pools (platform-create's system pool; node-pool-expand and -restore's GPU pools) that
# run as the node service account: it may act as that one account only, not as any other.
resource "google_service_account_iam_member" "ci_uses_nodes" {
  service_account_id = google_service_account.nodes.name
  role               = "roles/iam.serviceAccountUser" # platform-create, node-pool-expand, node-pool-restore: pools run as the node account
  member             = local.ci_member
}
