variable "project_id" {
  description = "The GCP project that holds the platform (the suite's demo uses mlabs-demo)."
  type        = string
  default     = "mlabs-demo"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a GCP project id: 6 to 30 characters, lowercase letters, digits or hyphens, starting with a letter and not ending with a hyphen."
  }
}

variable "region" {
  description = "Region of the state bucket (and of the platform)."
  type        = string
  default     = "us-central1"

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]$", var.region))
    error_message = "region must be a GCP region such as us-central1 or europe-west4."
  }
}

variable "zones" {
  description = "Zones of the region the platform's nodes may use, printed as the repository variable MLABS_ZONES (comma-separated). Empty (the default) = every zone of the region, and no MLABS_ZONES is printed."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for z in var.zones : can(regex("^[a-z]+-[a-z]+[0-9]-[a-z]$", z)) && substr(z, 0, length(z) - 2) == var.region])
    error_message = "every zone must be a zone of var.region: for europe-west4, europe-west4-a, europe-west4-b, ..."
  }
}

variable "github_repository" {
  description = "The GitHub repository (owner/name) whose workflows may log in, e.g. mlabs/platform."
  type        = string
  default     = "mlabs/platform"

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$", var.github_repository))
    error_message = "github_repository must be owner/name as GitHub spells it, e.g. mlabs/platform."
  }
}

variable "project_repositories" {
  description = "Project repositories (owner/name) whose workflows may also log in. project-create adds to it by pull request on repositories.auto.tfvars.json; project-archive removes from it."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for r in var.project_repositories : can(regex("^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$", r))])
    error_message = "project_repositories must list owner/name repositories as GitHub spells them, e.g. [\"mlabs/churn-model\"]."
  }
}

variable "attribute_condition" {
  description = <<-EOT
    CEL condition every GitHub token must satisfy before it is exchanged. Required: without one,
    any repository on github.com could log in through this provider. Leave null to admit only
    github_repository (assertion.repository == "<owner>/<name>").
  EOT
  type        = string
  default     = null

  validation {
    condition     = var.attribute_condition == null || try(trimspace(var.attribute_condition) != "", false)
    error_message = "attribute_condition must not be empty: leave it unset (null) to admit only github_repository, or give a CEL expression such as assertion.repository == \"mlabs/platform\"."
  }
}

variable "pool_id" {
  description = "Id of the Workload Identity pool."
  type        = string
  default     = "github"

  validation {
    condition     = can(regex("^[a-z0-9-]{4,32}$", var.pool_id)) && !startswith(var.pool_id, "gcp-")
    error_message = "pool_id must be 4 to 32 lowercase letters, digits or hyphens, and must not start with gcp-."
  }
}

variable "provider_id" {
  description = "Id of the GitHub provider inside the pool."
  type        = string
  default     = "github-actions"

  validation {
    condition     = can(regex("^[a-z0-9-]{4,32}$", var.provider_id)) && !startswith(var.provider_id, "gcp-")
    error_message = "provider_id must be 4 to 32 lowercase letters, digits or hyphens, and must not start with gcp-."
  }
}

variable "ci_service_account_id" {
  description = "Account id (the part before @) of the CI service account the workflows impersonate."
  type        = string
  default     = "mlabs-ci"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.ci_service_account_id))
    error_message = "ci_service_account_id must be 6 to 30 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "node_service_account_id" {
  description = "Account id of the service account the GKE nodes run as (envs/dev expects the same)."
  type        = string
  default     = "mlabs-nodes"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.node_service_account_id))
    error_message = "node_service_account_id must be 6 to 30 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "control_runner" {
  description = "Label of the self-hosted runner that runs the control jobs (routing, login check, platform, cost-cleanup): the repository variable MLABS_CONTROL_RUNNER."
  type        = string
  default     = "wsl2"

  validation {
    condition     = contains(["wsl2", "dgx", "agx"], var.control_runner)
    error_message = "control_runner must be one of the suite's machine labels: wsl2, dgx or agx."
  }
}
