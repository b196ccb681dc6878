# A VPC for the platform: the cluster, its node pools and the Vault appliance all live in it.

variable "name" {
  description = "VPC name (unique per region)."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,62}$", var.name))
    error_message = "The name uses up to 63 lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "region" {
  description = "DigitalOcean region slug, such as nyc3."
  type        = string
  validation {
    condition     = can(regex("^[a-z]{3}[0-9]$", var.region))
    error_message = "The region is a slug such as nyc3."
  }
}

variable "ip_range" {
  description = "Private IPv4 range, /16 to /28, outside DOKS's 10.244.0.0/16 (pods) and 10.245.0.0/16 (services)."
  type        = string
  validation {
    condition     = can(cidrnetmask(var.ip_range)) && tonumber(split("/", var.ip_range)[1]) >= 16 && tonumber(split("/", var.ip_range)[1]) <= 28
    error_message = "The range is an IPv4 CIDR between /16 and /28."
  }
  validation {
    condition     = !contains(["10.244", "10.245"], join(".", slice(split(".", split("/", var.ip_range)[0]), 0, 2)))
    error_message = "The range overlaps DOKS's pod or service range (10.244.0.0/16, 10.245.0.0/16)."
  }
}

resource "digitalocean_vpc" "this" {
  name        = var.name
  region      = var.region
  ip_range    = var.ip_range
  description = "Managed by wildside-tofu."
}

output "id" {
  description = "The VPC's id (uuid)."
  value       = digitalocean_vpc.this.id
}

output "urn" {
  description = "The VPC's URN."
  value       = digitalocean_vpc.this.urn
}

output "ip_range" {
  description = "The VPC's range."
  value       = digitalocean_vpc.this.ip_range
}
