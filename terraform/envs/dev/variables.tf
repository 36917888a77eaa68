variable "project_id" {
  description = "The GCP project that holds the platform."
  type        = string
  default     = "mlabs-demo"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a GCP project id: 6 to 30 characters, lowercase letters, digits or hyphens, starting with a letter and not ending with a hyphen."
  }
}

variable "region" {
  description = "Region of the cluster, the registry and the snapshot bucket."
  type        = string
  default     = "us-central1"

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]$", var.region))
    error_message = "region must be a GCP region such as us-central1 or europe-west4."
  }
}

variable "zones" {
  description = "Zones of the region the cluster's nodes may use, e.g. [\"europe-west4-a\", \"europe-west4-b\"]; the system pool runs in the first, GPU pools in any. Empty (the default) = every zone of the region that is UP, as Compute lists them."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for z in var.zones : can(regex("^[a-z]+-[a-z]+[0-9]-[a-z]$", z))])
    error_message = "zones must be zone names such as [\"europe-west4-a\", \"europe-west4-b\"], or empty for every zone of the region."
  }

  # A zone belongs to its region: the zone's name is the region's name and one letter.
  validation {
    condition     = alltrue([for z in var.zones : can(regex("^[a-z]+-[a-z]+[0-9]-[a-z]$", z)) && substr(z, 0, length(z) - 2) == var.region])
    error_message = "every zone must be a zone of var.region: for europe-west4, europe-west4-a, europe-west4-b, ...; for us-central1, us-central1-a, ..."
  }

  validation {
    condition     = length(distinct(var.zones)) == length(var.zones)
    error_message = "zones must not list a zone twice."
  }
}

variable "cluster_name" {
  description = "Name of the GKE cluster."
  type        = string
  default     = "mlabs"

  validation {
    condition     = can(regex("^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$", var.cluster_name))
    error_message = "cluster_name must be 1 to 40 lowercase letters, digits or hyphens, starting with a letter and not ending with a hyphen."
  }
}

variable "release_channel" {
  description = "GKE release channel: RAPID, REGULAR or STABLE."
  type        = string
  default     = "REGULAR"

  validation {
    condition     = contains(["RAPID", "REGULAR", "STABLE"], var.release_channel)
    error_message = "release_channel must be RAPID, REGULAR or STABLE."
  }
}

variable "repositories" {
  description = "Artifact Registry Docker repositories of the platform's workloads (destroyed with the platform)."
  type        = list(string)
  default     = ["apps"]

  validation {
    condition     = alltrue([for r in var.repositories : can(regex("^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$", r))])
    error_message = "repositories must be names of 1 to 63 lowercase letters, digits or hyphens, starting with a letter, e.g. apps."
  }

  validation {
    condition     = !contains(var.repositories, var.runner_repository)
    error_message = "repositories must not list the runner repository (var.runner_repository, default mlabs-runner): it is its own module, kept by platform-destroy."
  }
}

variable "runner_repository" {
  description = "Artifact Registry Docker repository of the mlabs-runner image, kept by platform-destroy unless delete_runner_images."
  type        = string
  default     = "mlabs-runner"

  validation {
    condition     = can(regex("^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$", var.runner_repository))
    error_message = "runner_repository must be a name of 1 to 63 lowercase letters, digits or hyphens, starting with a letter, e.g. mlabs-runner."
  }
}

variable "node_service_account_id" {
  description = "Account id of the node service account that bootstrap created (modules/iam)."
  type        = string
  default     = "mlabs-nodes"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.node_service_account_id))
    error_message = "node_service_account_id must be 6 to 30 lowercase letters, digits or hyphens, starting with a letter."
  }
}
