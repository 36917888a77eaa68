# The node-pool snapshot bucket: the way back for every GPU pool the actions delete.
# Kept by platform-destroy (it is outside the destroy's targets) and protected here as well.

resource "google_storage_bucket" "snapshots" {
  name                        = var.bucket_name
  project                     = var.project_id
  location                    = upper(var.location)
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false

  versioning {
    enabled = true
  }

  # Overwritten and deleted snapshots are kept as noncurrent versions for a while, then removed.
  lifecycle_rule {
    condition {
      days_since_noncurrent_time = var.noncurrent_retention_days
    }
    action {
      type = "Delete"
    }
  }

  lifecycle_rule {
    condition {
      num_newer_versions = 5
    }
    action {
      type = "Delete"
    }
  }

  labels = {
    "mlabs-managed-by" = "terraform"
    "mlabs-keep"       = "true"
  }

  lifecycle {
    prevent_destroy = true
  }
}
