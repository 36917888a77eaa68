terraform {
  required_version = ">= 1.9" # variable validations that refer to other variables

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 6.0"
    }
  }

  # Partial configuration: the bucket is given at init time, from the repository variable
  # MLABS_TFSTATE_BUCKET (bootstrap's output state_bucket):
  #   terraform init -backend-config="bucket=mlabs-demo-tfstate"
  backend "gcs" {
    prefix = "envs/dev"
  }
}

provider "google" {
  project = var.project_id
  region  = var.region
}
