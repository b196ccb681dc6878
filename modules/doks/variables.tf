variable "name" {
  description = "Cluster name."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,62}$", var.name))
    error_message = "The name uses up to 63 lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "region" {
  description = "DigitalOcean region slug, such as nyc3."
  type        = string
}

variable "kubernetes_version" {
  description = "A minor (1.33: the newest patch DigitalOcean offers at creation) or an exact DOKS version (1.33.1-do.3)."
  type        = string
  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+(\\.[0-9]+-do\\.[0-9]+)?$", var.kubernetes_version))
    error_message = "The version is a minor such as 1.33 or an exact DOKS version such as 1.33.1-do.3."
  }
}

variable "vpc_uuid" {
  description = "The VPC the cluster's nodes live in."
  type        = string
}

variable "ha" {
  description = "Highly available control plane."
  type        = bool
  default     = false
}

variable "auto_upgrade" {
  description = "Apply patch upgrades in the maintenance window."
  type        = bool
  default     = true
}

variable "surge_upgrade" {
  description = "Upgrade with extra nodes so workloads keep running."
  type        = bool
  default     = true
}

variable "maintenance_day" {
  description = "Day of the maintenance window."
  type        = string
  default     = "sunday"
  validation {
    condition     = contains(["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "any"], var.maintenance_day)
    error_message = "The day is a weekday name in lowercase, or any."
  }
}

variable "maintenance_start_time" {
  description = "Start of the maintenance window, HH:MM in UTC."
  type        = string
  default     = "04:00"
  validation {
    condition     = can(regex("^([01][0-9]|2[0-3]):[0-5][0-9]$", var.maintenance_start_time))
    error_message = "The start time is HH:MM in UTC."
  }
}

variable "tags" {
  description = "Tags of the cluster."
  type        = list(string)
  default     = []
}

variable "default_node_pool" {
  description = "The cluster's default pool (DigitalOcean allows one node_pool block per cluster). It cannot scale to zero."
  type = object({
    name       = string
    size       = string
    node_count = number
    auto_scale = bool
    min_nodes  = number
    max_nodes  = number
    labels     = map(string)
    taints     = list(object({ key = string, value = string, effect = string }))
    tags       = list(string)
  })
  validation {
    condition     = var.default_node_pool.auto_scale ? var.default_node_pool.min_nodes >= 1 && var.default_node_pool.min_nodes <= var.default_node_pool.max_nodes : var.default_node_pool.node_count >= 1
    error_message = "The default pool needs at least one node (and min_nodes <= max_nodes when autoscaling)."
  }
}

variable "node_pools" {
  description = "Further pools, by name: separate digitalocean_kubernetes_node_pool resources, which may scale to zero."
  type = map(object({
    size       = string
    node_count = number
    auto_scale = bool
    min_nodes  = number
    max_nodes  = number
    labels     = map(string)
    taints     = list(object({ key = string, value = string, effect = string }))
    tags       = list(string)
  }))
  default = {}
  validation {
    condition     = alltrue([for pool in values(var.node_pools) : pool.auto_scale ? pool.min_nodes >= 0 && pool.min_nodes <= pool.max_nodes : pool.node_count >= 1])
    error_message = "Each pool has node_count >= 1, or autoscales with 0 <= min_nodes <= max_nodes."
  }
}

variable "api_allowed_cidrs" {
  description = "IPv4 CIDRs that may reach the Kubernetes API (the control-plane firewall); empty leaves it open."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for cidr in var.api_allowed_cidrs : can(cidrnetmask(cidr)) && !endswith(cidr, "/0")])
    error_message = "Each entry is an IPv4 CIDR, and none is the whole internet."
  }
}

variable "destroy_associated" {
  description = "Deleting the cluster also deletes the load balancers, volumes and volume snapshots its workloads made."
  type        = bool
  default     = false
}

variable "kubeconfig_expire_seconds" {
  description = "How long the kubeconfig's credentials last (DigitalOcean's default is 7 days)."
  type        = number
  default     = 2592000
  validation {
    condition     = var.kubeconfig_expire_seconds >= 3600
    error_message = "Credentials last at least an hour."
  }
}
