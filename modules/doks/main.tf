# A DOKS cluster: the default pool inside the cluster resource, every other pool as its own node-pool
# resource (a cluster takes one node_pool block), in the platform's VPC, with HA, upgrades and a maintenance
# window as the stack says.

# A minor resolves to the newest patch DigitalOcean offers when the cluster is created; from then on the cluster
# keeps the version it runs (see `ignore_changes` below), so a new patch release never shows up as a change.
data "digitalocean_kubernetes_versions" "this" {
  version_prefix = "${local.minor}."
}

locals {
  exact_version = can(regex("-do\\.", var.kubernetes_version))
  minor         = join(".", slice(split(".", var.kubernetes_version), 0, 2))
  version       = local.exact_version ? var.kubernetes_version : data.digitalocean_kubernetes_versions.this.latest_version
}

resource "digitalocean_kubernetes_cluster" "this" {
  name          = var.name
  region        = var.region
  version       = local.version
  vpc_uuid      = var.vpc_uuid
  ha            = var.ha
  auto_upgrade  = var.auto_upgrade
  surge_upgrade = var.surge_upgrade
  tags          = var.tags

  # Deleting the cluster also deletes the load balancers, volumes and snapshots its workloads made: on for
  # previews (throwaway by design), off unless the stack asks, so no volume of data outlives a mistaken `down`
  # by accident.
  destroy_all_associated_resources = var.destroy_associated
  # The kubeconfig written to Vault outlives the 7-day default; `outputs push` refreshes it.
  kubeconfig_expire_seconds = var.kubeconfig_expire_seconds

  dynamic "control_plane_firewall" {
    for_each = length(var.api_allowed_cidrs) > 0 ? [var.api_allowed_cidrs] : []
    content {
      enabled           = true
      allowed_addresses = control_plane_firewall.value
    }
  }

  maintenance_policy {
    day        = var.maintenance_day
    start_time = var.maintenance_start_time
  }

  node_pool {
    name       = var.default_node_pool.name
    size       = var.default_node_pool.size
    node_count = var.default_node_pool.auto_scale ? null : var.default_node_pool.node_count
    auto_scale = var.default_node_pool.auto_scale
    min_nodes  = var.default_node_pool.auto_scale ? var.default_node_pool.min_nodes : null
    max_nodes  = var.default_node_pool.auto_scale ? var.default_node_pool.max_nodes : null
    labels     = var.default_node_pool.labels
    tags       = var.default_node_pool.tags

    dynamic "taint" {
      for_each = var.default_node_pool.taints
      content {
        key    = taint.value.key
        value  = taint.value.value
        effect = taint.value.effect
      }
    }
  }

  lifecycle {
    # The version is chosen once, at creation. After that, DigitalOcean moves it (patch upgrades in the
    # maintenance window with auto_upgrade), and the provider replaces a cluster whose configured version is
    # lower than the running one: following a newer patch release or a pin would either flap or destroy the
    # cluster. Minor upgrades are deliberate (`doctl kubernetes cluster upgrade`); the check below says when
    # one is due.
    ignore_changes = [version]
  }
}

check "kubernetes_version" {
  assert {
    condition = startswith(digitalocean_kubernetes_cluster.this.version, "${local.minor}.") && (
      var.auto_upgrade || !local.exact_version || digitalocean_kubernetes_cluster.this.version == var.kubernetes_version
    )
    error_message = "The cluster runs Kubernetes ${digitalocean_kubernetes_cluster.this.version}, not the stack's ${var.kubernetes_version}: the module never changes a running cluster's version. Upgrade it with `doctl kubernetes cluster upgrade ${var.name} --version <version>` (`doctl kubernetes options versions` lists them)."
  }
}

resource "digitalocean_kubernetes_node_pool" "extra" {
  for_each = var.node_pools

  cluster_id = digitalocean_kubernetes_cluster.this.id
  name       = each.key
  size       = each.value.size
  node_count = each.value.auto_scale ? null : each.value.node_count
  auto_scale = each.value.auto_scale
  min_nodes  = each.value.auto_scale ? each.value.min_nodes : null
  max_nodes  = each.value.auto_scale ? each.value.max_nodes : null
  labels     = each.value.labels
  tags       = each.value.tags

  dynamic "taint" {
    for_each = each.value.taints
    content {
      key    = taint.value.key
      value  = taint.value.value
      effect = taint.value.effect
    }
  }
}
