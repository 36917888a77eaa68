output "bucket" {
  description = "Name of the snapshot bucket."
  value       = google_storage_bucket.snapshots.name
}
