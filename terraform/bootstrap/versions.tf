# Bootstrap runs once, by a person with their own gcloud login, with local state.
# It creates what every later run depends on: the remote state bucket and keyless login.
terraform {
  required_version = ">= 1.9" # variable validations that refer to other variables

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 6.0"
    }
  }
}

provider "google" {
  project = var.project_id
  region  = var.region
}
