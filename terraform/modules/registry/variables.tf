variable "project_id" {
  description = "The GCP project."
  type        = string
}

variable "location" {
  description = "Region of the repositories, e.g. us-central1."
  type        = string

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]$", var.location))
    error_message = "location must be a GCP region such as us-central1."
  }
}

variable "repositories" {
  description = "Docker repositories to create."
  type        = list(string)
  default     = ["apps", "mlabs-runner"]

  validation {
    condition     = length(var.repositories) > 0 && alltrue([for r in var.repositories : can(regex("^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$", r))])
    error_message = "repositories must be names of 1 to 63 lowercase letters, digits or hyphens, starting with a letter, e.g. apps."
  }
}

variable "untagged_retention_days" {
  description = "Days after which untagged image versions are deleted."
  type        = number
  default     = 14

  validation {
    condition     = var.untagged_retention_days >= 1 && var.untagged_retention_days <= 365
    error_message = "untagged_retention_days must be from 1 to 365."
  }
}

variable "keep_recent_versions" {
  description = "How many of the newest versions are always kept."
  type        = number
  default     = 10

  validation {
    condition     = var.keep_recent_versions >= 1 && var.keep_recent_versions <= 100
    error_message = "keep_recent_versions must be from 1 to 100."
  }
}
