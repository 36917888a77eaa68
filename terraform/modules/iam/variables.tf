variable "project_id" {
  description = "The GCP project."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a GCP project id: 6 to 30 characters, lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "ci_service_account_email" {
  description = "Email of the CI service account the workflows impersonate."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z][a-z0-9-]{4,28}[a-z0-9]\\.iam\\.gserviceaccount\\.com$", var.ci_service_account_email))
    error_message = "ci_service_account_email must be a user-managed service account email: NAME@PROJECT.iam.gserviceaccount.com."
  }
}

variable "node_service_account_id" {
  description = "Account id of the service account the GKE nodes run as."
  type        = string
  default     = "mlabs-nodes"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.node_service_account_id))
    error_message = "node_service_account_id must be 6 to 30 lowercase letters, digits or hyphens, starting with a letter."
  }
}
