# Docker repositories: `apps` for the platform's workloads, `mlabs-runner` for the runner image.

resource "google_artifact_registry_repository" "this" {
  for_each = toset(var.repositories)

  project       = var.project_id
  location      = var.location
  repository_id = each.value
  format        = "DOCKER"
  description   = "mlabs ${each.value} images"

  cleanup_policy_dry_run = false

  # Untagged versions (superseded pushes, per-platform digests merged into an index) go after a while.
  cleanup_policies {
    id     = "delete-untagged"
    action = "DELETE"
    condition {
      tag_state  = "UNTAGGED"
      older_than = "${var.untagged_retention_days * 86400}s"
    }
  }

  # The newest versions are always kept, whatever their age.
  cleanup_policies {
    id     = "keep-recent"
    action = "KEEP"
    most_recent_versions {
      keep_count = var.keep_recent_versions
    }
  }

  labels = {
    "mlabs-managed-by" = "terraform"
  }
}
