variable "project_id" {
  description = "The GCP project."
  type        = string
}

variable "cluster_name" {
  description = "Name of the GKE cluster (the suite's demo uses mlabs)."
  type        = string

  validation {
    condition     = can(regex("^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$", var.cluster_name))
    error_message = "cluster_name must be 1 to 40 lowercase letters, digits or hyphens, starting with a letter and not ending with a hyphen."
  }
}

variable "location" {
  description = "Region (regional cluster) of the cluster, e.g. us-central1."
  type        = string

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]$", var.location))
    error_message = "location must be a GCP region such as us-central1."
  }
}

variable "node_zones" {
  description = "Zones the cluster's nodes may run in; the system pool uses the first, GPU pools any of them."
  type        = list(string)

  validation {
    condition     = length(var.node_zones) > 0 && alltrue([for z in var.node_zones : can(regex("^[a-z]+-[a-z]+[0-9]-[a-z]$", z))])
    error_message = "node_zones must be a non-empty list of zones such as [\"us-central1-a\", \"us-central1-b\"]."
  }
}

variable "release_channel" {
  description = "GKE release channel."
  type        = string
  default     = "REGULAR"

  validation {
    condition     = contains(["RAPID", "REGULAR", "STABLE"], var.release_channel)
    error_message = "release_channel must be RAPID, REGULAR or STABLE."
  }
}

variable "system_machine_type" {
  description = "Machine type of the CPU system pool."
  type        = string
  default     = "e2-standard-2"

  validation {
    condition     = can(regex("^[a-z0-9]+-[a-z0-9-]+$", var.system_machine_type)) && !can(regex("^(a2|a3|g2)-", var.system_machine_type))
    error_message = "system_machine_type must be a CPU machine type such as e2-standard-2 (GPU machine families a2, a3, g2 belong to the actions' GPU pools)."
  }
}

variable "system_pool_max_nodes" {
  description = "Upper bound of the system pool's autoscaler."
  type        = number
  default     = 2

  validation {
    condition     = var.system_pool_max_nodes >= 1 && var.system_pool_max_nodes <= 5
    error_message = "system_pool_max_nodes must be from 1 to 5: the system pool is small on purpose."
  }
}

variable "node_service_account_email" {
  description = "Service account the nodes run as (from modules/iam, applied by bootstrap)."
  type        = string
}

variable "deletion_protection" {
  description = "GKE deletion protection. Off so that platform-destroy can remove the cluster."
  type        = bool
  default     = false
}
