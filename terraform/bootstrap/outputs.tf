output "workload_identity_provider" {
  description = "Full resource name of the GitHub provider: set it as the repository variable MLABS_WIF_PROVIDER."
  value       = google_iam_workload_identity_pool_provider.github.name
}

output "service_account" {
  description = "Email of the CI service account: set it as the repository variable MLABS_CI_SERVICE_ACCOUNT."
  value       = google_service_account.ci.email
}

output "state_bucket" {
  description = "Bucket holding envs/dev's state: set it as the repository variable MLABS_TFSTATE_BUCKET."
  value       = google_storage_bucket.tfstate.name
}

output "node_service_account" {
  description = "Email of the service account the GKE nodes run as."
  value       = module.iam.node_service_account_email
}

output "repository_variables" {
  description = "The repository variables to set (Settings > Secrets and variables > Actions > Variables); docs/platform.md lists every variable and secret the workflows read."
  value       = local.repository_variables
}

output "github_variables_commands" {
  description = "One ready `gh variable set` line per repository variable above: `terraform output -raw github_variables_commands | sh` sets them all."
  value       = join("\n", [for name, value in local.repository_variables : "gh variable set ${name} --repo ${var.github_repository} --body '${value}'"])
}

locals {
  # Every repository variable bootstrap knows. The cluster, the snapshot bucket and the runner
  # image come from envs/dev's outputs after platform-create (docs/platform.md).
  known_variables = {
    MLABS_WIF_PROVIDER         = google_iam_workload_identity_pool_provider.github.name
    MLABS_CI_SERVICE_ACCOUNT   = google_service_account.ci.email
    MLABS_TFSTATE_BUCKET       = google_storage_bucket.tfstate.name
    MLABS_PROJECT_ID           = var.project_id
    MLABS_REGION               = var.region
    MLABS_CONTROL_RUNNER       = var.control_runner
    MLABS_ZONES                = join(",", var.zones)
    MLABS_NODE_SERVICE_ACCOUNT = module.iam.node_service_account_email
  }
  # The ones with a value: GitHub refuses a variable with an empty value, and an unset MLABS_ZONES
  # means every zone of the region.
  repository_variables = { for name, value in local.known_variables : name => value if value != "" }
}
