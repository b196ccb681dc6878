# A DOKS cluster: the default pool inside the cluster resource, every other pool as its own node-pool
# resource (a cluster takes one node_pool block), in the platform's VPC, with HA, upgrades and a maintenance
# window as the stack says.

data "digitalocean_kubernetes_versions" "this" {
  version_prefix = "${var.kubernetes_version}."
}

locals {
  exact_version = can(regex("-do\\.", var.kubernetes_version))
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

  # `down` and preview teardown leave no load balancers or volumes that the cluster's workloads made.
  destroy_all_associated_resources = true
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
