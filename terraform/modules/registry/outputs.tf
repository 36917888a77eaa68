output "repository_urls" {
  description = "Docker host/path of each repository, by name."
  value       = { for name, r in google_artifact_registry_repository.this : name => "${r.location}-docker.pkg.dev/${r.project}/${r.repository_id}" }
}
