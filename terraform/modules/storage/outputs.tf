output "bucket" {
  description = "Name of the snapshot bucket."
  value       = google_storage_bucket.snapshots.name
}

output "models_bucket" {
  description = "Name of the models bucket."
  value       = google_storage_bucket.models.name
}
