locals {
  state_bucket = "${var.project_id}-tfstate"

  # Every repository whose workflows may log in: the platform's own, and the projects project-create
  # added to repositories.auto.tfvars.json (by pull request).
  repositories = distinct(concat([var.github_repository], var.project_repositories))

  # Required: only tokens from those repositories are exchanged. The variable's validation refuses an
  # empty condition; null falls back to this one: `==` for one repository, `in [...]` for more (the two
  # forms project-create reads and writes).
  attribute_condition = coalesce(
    var.attribute_condition,
    length(local.repositories) == 1
    ? "assertion.repository == \"${var.github_repository}\""
    : "assertion.repository in [${join(", ", [for r in local.repositories : "\"${r}\""])}]"
  )
}

resource "google_project_service" "bootstrap" {
  for_each = toset([
    "iam.googleapis.com",
    "iamcredentials.googleapis.com",
    "sts.googleapis.com",
    "storage.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    # Used by envs/dev and the actions; enabled here so that CI needs no serviceusage.serviceUsageAdmin.
    "container.googleapis.com",
    "artifactregistry.googleapis.com",
    "compute.googleapis.com",
    "cloudquotas.googleapis.com",
    "cloudbilling.googleapis.com",
  ])

  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}

# Remote state of envs/dev. Never destroyed by Terraform: it holds the record of everything else.
resource "google_storage_bucket" "tfstate" {
  name                        = local.state_bucket
  project                     = var.project_id
  location                    = upper(var.region)
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false

  versioning {
    enabled = true
  }

  # Keep the last 10 versions of each state file; older ones go after 90 days.
  lifecycle_rule {
    condition {
      num_newer_versions         = 10
      days_since_noncurrent_time = 90
    }
    action {
      type = "Delete"
    }
  }

  lifecycle {
    prevent_destroy = true
  }

  depends_on = [google_project_service.bootstrap]
}

resource "google_iam_workload_identity_pool" "github" {
  project                   = var.project_id
  workload_identity_pool_id = var.pool_id
  display_name              = "GitHub Actions"
  description               = "Keyless login for the workflows of ${var.github_repository}"

  depends_on = [google_project_service.bootstrap]
}

resource "google_iam_workload_identity_pool_provider" "github" {
  project                            = var.project_id
  workload_identity_pool_id          = google_iam_workload_identity_pool.github.workload_identity_pool_id
  workload_identity_pool_provider_id = var.provider_id
  display_name                       = "GitHub OIDC"

  attribute_mapping = {
    "google.subject"             = "assertion.sub"
    "attribute.repository"       = "assertion.repository"
    "attribute.repository_owner" = "assertion.repository_owner"
    "attribute.ref"              = "assertion.ref"
    "attribute.workflow_ref"     = "assertion.workflow_ref"
    "attribute.environment"      = "assertion.environment"
  }

  attribute_condition = local.attribute_condition

  oidc {
    issuer_uri = "https://token.actions.githubusercontent.com"
  }
}

# The identity the workflows become. It has no keys: the only way in is the provider above.
resource "google_service_account" "ci" {
  project      = var.project_id
  account_id   = var.ci_service_account_id
  display_name = "mlabs CI (GitHub Actions through Workload Identity Federation)"

  depends_on = [google_project_service.bootstrap]
}

# Only workflows of the configured repository may impersonate the CI service account.
resource "google_service_account_iam_member" "ci_wif" {
  service_account_id = google_service_account.ci.name
  role               = "roles/iam.workloadIdentityUser" # wif-login: the repository's workflows impersonate the CI service account
  member             = "principalSet://iam.googleapis.com/${google_iam_workload_identity_pool.github.name}/attribute.repository/${var.github_repository}"
}

# Each project repository made by project-create may impersonate it too: one principalSet per named
# repository, never a wildcard.
resource "google_service_account_iam_member" "project_wif" {
  for_each = toset(var.project_repositories)

  service_account_id = google_service_account.ci.name
  role               = "roles/iam.workloadIdentityUser" # wif-login in the project's workflows (train, promote, serve)
  member             = "principalSet://iam.googleapis.com/${google_iam_workload_identity_pool.github.name}/attribute.repository/${each.value}"
}

# Terraform in the workflows reads and writes its state here, and nowhere else in this bucket.
resource "google_storage_bucket_iam_member" "ci_state" {
  bucket = google_storage_bucket.tfstate.name
  role   = "roles/storage.objectAdmin" # platform-create / platform-destroy: terraform state read, write and lock
  member = "serviceAccount:${google_service_account.ci.email}"
}

# The CI service account's project roles and the node service account. Applied here, by a person,
# so that CI never holds the right to change IAM and cannot grant itself more.
module "iam" {
  source = "../modules/iam"

  project_id               = var.project_id
  ci_service_account_email = google_service_account.ci.email
  node_service_account_id  = var.node_service_account_id

  depends_on = [google_project_service.bootstrap]
}
