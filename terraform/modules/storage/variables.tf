variable "project_id" {
  description = "The GCP project."
  type        = string
}

variable "location" {
  description = "Region of the bucket, e.g. us-central1."
  type        = string

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]$", var.location))
    error_message = "location must be a GCP region such as us-central1."
  }
}

variable "bucket_name" {
  description = "Name of the snapshot bucket (the suite's convention: <project>-nodepool-snapshots)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]$", var.bucket_name)) && !startswith(var.bucket_name, "goog")
    error_message = "bucket_name must be 3 to 63 lowercase letters, digits, hyphens or underscores, starting and ending with a letter or digit, not starting with goog."
  }
}

variable "noncurrent_retention_days" {
  description = "Days a noncurrent (overwritten or deleted) snapshot version is kept."
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_retention_days >= 1 && var.noncurrent_retention_days <= 3650
    error_message = "noncurrent_retention_days must be from 1 to 3650."
  }
}

variable "models_bucket_name" {
  description = "Name of the models bucket (the suite's convention: <project>-models), written by model-promote."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]$", var.models_bucket_name)) && !startswith(var.models_bucket_name, "goog")
    error_message = "models_bucket_name must be 3 to 63 lowercase letters, digits, hyphens or underscores, starting and ending with a letter or digit, not starting with goog."
  }
}

variable "models_reader_members" {
  description = "IAM members (serviceAccount:...) that may read the models bucket: the serving nodes."
  type        = list(string)
  default     = []
}

variable "models_noncurrent_retention_days" {
  description = "Days a retired or overwritten model object is kept as a noncurrent version."
  type        = number
  default     = 7

  validation {
    condition     = var.models_noncurrent_retention_days >= 1 && var.models_noncurrent_retention_days <= 3650
    error_message = "models_noncurrent_retention_days must be from 1 to 3650."
  }
}
