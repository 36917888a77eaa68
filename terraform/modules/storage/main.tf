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

# The models bucket: what model-promote copies out of the private side (never data), read by the
# serving Deployments model-serve makes. Versioned, so a model-retire is undoable for a while.
resource "google_storage_bucket" "models" {
  name                        = var.models_bucket_name
  project                     = var.project_id
  location                    = upper(var.location)
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false

  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      days_since_noncurrent_time = var.models_noncurrent_retention_days
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

# Read-only on this bucket alone for the identities that load models (the GKE nodes' service account:
# model-serve's init container copies the promoted prefix as the node). Writes stay with CI's
# project-level storage role (model-promote, model-retire), granted in modules/iam.
resource "google_storage_bucket_iam_member" "model_readers" {
  for_each = toset(var.models_reader_members)

  bucket = google_storage_bucket.models.name
  role   = "roles/storage.objectViewer" # model-serve: the serving pods read the promoted model
  member = each.value
}
