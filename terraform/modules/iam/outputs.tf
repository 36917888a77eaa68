output "node_service_account_email" {
  description = "Email of the service account the GKE nodes run as."
  value       = google_service_account.nodes.email
}

output "ci_roles" {
  description = "Project roles granted to the CI service account."
  value       = sort(tolist(local.ci_project_roles))
}
