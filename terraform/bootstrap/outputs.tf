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
  description = "The repository variables to set (Settings > Secrets and variables > Actions > Variables)."
  value = {
    MLABS_WIF_PROVIDER       = google_iam_workload_identity_pool_provider.github.name
    MLABS_CI_SERVICE_ACCOUNT = google_service_account.ci.email
    MLABS_TFSTATE_BUCKET     = google_storage_bucket.tfstate.name
    MLABS_PROJECT_ID         = var.project_id
    MLABS_REGION             = var.region
  }
}
