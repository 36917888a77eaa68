# GKE Standard cluster with one small CPU system pool.
#
# GPU node pools are NOT in Terraform. They belong to the suite's actions (node-pool-expand,
# node-pool-snapshot, node-pool-destroy, node-pool-restore, cost-cleanup), which create them in
# whichever zone has GPUs right now and delete them when idle. If Terraform owned them, every
# platform-create after such a change would plan to recreate or delete them. So:
#   - the cluster declares no inline node_pool and ignores changes to node_pool, so pools created
#     outside Terraform never show up in a plan;
#   - the only google_container_node_pool here is the CPU system pool;
#   - destroying the cluster deletes whatever GPU pools it has, which is why platform-destroy
#     snapshots every GPU pool first.

resource "google_container_cluster" "this" {
  name     = var.cluster_name
  project  = var.project_id
  location = var.location

  node_locations = var.node_zones

  # Standard cluster (not Autopilot): the default pool is created empty and removed at once;
  # the system pool below and the actions' GPU pools are separate resources.
  enable_autopilot         = false
  remove_default_node_pool = true
  initial_node_count       = 1

  release_channel {
    channel = var.release_channel
  }

  workload_identity_config {
    workload_pool = "${var.project_id}.svc.id.goog"
  }

  networking_mode = "VPC_NATIVE"
  ip_allocation_policy {}

  # platform-destroy must be able to remove the cluster; its protection is the snapshot of every
  # GPU pool and the confirm input, not this flag.
  deletion_protection = var.deletion_protection

  resource_labels = {
    "mlabs-managed-by" = "terraform"
  }

  lifecycle {
    # Node pools created by the actions must never appear as a change in a Terraform plan.
    ignore_changes = [node_pool, initial_node_count, node_config]
  }
}

resource "google_container_node_pool" "system" {
  name     = "system"
  project  = var.project_id
  location = var.location
  cluster  = google_container_cluster.this.name

  node_locations = [var.node_zones[0]]

  autoscaling {
    min_node_count = 1
    max_node_count = var.system_pool_max_nodes
  }

  management {
    auto_repair  = true
    auto_upgrade = true
  }

  node_config {
    machine_type    = var.system_machine_type
    disk_size_gb    = 50
    disk_type       = "pd-balanced"
    service_account = var.node_service_account_email
    oauth_scopes    = ["https://www.googleapis.com/auth/cloud-platform"]

    labels = {
      "mlabs-role" = "system"
    }

    workload_metadata_config {
      mode = "GKE_METADATA"
    }

    shielded_instance_config {
      enable_secure_boot = true
    }
  }

  lifecycle {
    ignore_changes = [node_count]
  }
}
