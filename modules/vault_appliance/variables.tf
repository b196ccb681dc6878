variable "name" {
  description = "Name prefix of the appliance's resources."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,40}$", var.name))
    error_message = "The name uses up to 41 lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "region" {
  description = "DigitalOcean region slug."
  type        = string
}

variable "vpc_uuid" {
  description = "The VPC the droplets and the load balancer live in."
  type        = string
}

variable "vpc_cidr" {
  description = "The VPC's range: the API and cluster ports are open to it."
  type        = string
}

variable "node_count" {
  description = "Vault nodes (raft needs an odd number)."
  type        = number
  default     = 1
  validation {
    condition     = contains([1, 3, 5, 7], var.node_count)
    error_message = "Raft needs 1, 3, 5 or 7 nodes."
  }
}

variable "size" {
  description = "Droplet size slug."
  type        = string
  default     = "s-1vcpu-2gb"
}

variable "image" {
  description = "Droplet image slug."
  type        = string
  default     = "ubuntu-24-04-x64"
}

variable "volume_size_gb" {
  description = "Size of each node's raft volume."
  type        = number
  default     = 10
  validation {
    condition     = var.volume_size_gb >= 1
    error_message = "The volume holds at least 1 GB."
  }
}

variable "ssh_keys" {
  description = "SSH key fingerprints or ids for the droplets."
  type        = list(string)
  default     = []
}

variable "ssh_cidrs" {
  description = "Networks allowed to reach port 22 (none: no SSH)."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for cidr in var.ssh_cidrs : can(cidrnetmask(cidr))])
    error_message = "Each entry is an IPv4 CIDR."
  }
}

variable "allow_ssh_from_anywhere" {
  description = "Allow 0.0.0.0/0 in ssh_cidrs."
  type        = bool
  default     = false
  validation {
    condition     = var.allow_ssh_from_anywhere || !contains(var.ssh_cidrs, "0.0.0.0/0")
    error_message = "SSH open to the whole internet needs allow_ssh_from_anywhere = true."
  }
}

variable "api_cidrs" {
  description = "Networks allowed to reach the load balancer (Vault's API): its firewall's allow-list."
  type        = list(string)
  validation {
    condition     = length(var.api_cidrs) > 0
    error_message = "Name at least one network: an empty allow-list would let every address in."
  }
  validation {
    condition     = alltrue([for cidr in var.api_cidrs : can(cidrnetmask(cidr))])
    error_message = "Each entry is an IPv4 CIDR."
  }
}

variable "allow_api_from_anywhere" {
  description = "Allow 0.0.0.0/0 in api_cidrs (uninitialised nodes then count as down)."
  type        = bool
  default     = false
  validation {
    condition     = var.allow_api_from_anywhere || !anytrue([for cidr in var.api_cidrs : endswith(cidr, "/0")])
    error_message = "Vault's API open to the whole internet needs allow_api_from_anywhere = true."
  }
}

variable "tls_names" {
  description = "Extra DNS names in the server certificate."
  type        = list(string)
  default     = []
}

variable "tls_ips" {
  description = "Extra IP addresses in the server certificate."
  type        = list(string)
  default     = []
}

variable "api_port" {
  description = "Vault's API port."
  type        = number
  default     = 8200
}

variable "cluster_port" {
  description = "Vault's cluster (raft) port."
  type        = number
  default     = 8201
  validation {
    condition     = var.cluster_port != var.api_port
    error_message = "The cluster port differs from the API port."
  }
}

variable "enrollment_port" {
  description = "The leader's enrollment port, where followers have their certificate requests signed (open to the appliance's nodes only)."
  type        = number
  default     = 8210
  validation {
    condition     = !contains([var.api_port, var.cluster_port], var.enrollment_port)
    error_message = "The enrollment port differs from the API and cluster ports."
  }
}

variable "distribution" {
  description = "openbao or vault."
  type        = string
  default     = "openbao"
  validation {
    condition     = contains(["openbao", "vault"], var.distribution)
    error_message = "The distribution is openbao or vault."
  }
}

variable "openbao_version" {
  description = "OpenBao release installed on the droplets."
  type        = string
  default     = "2.4.1"
  validation {
    condition     = can(regex("^[0-9]+[.][0-9]+[.][0-9]+$", var.openbao_version))
    error_message = "The OpenBao version is a release number like 2.4.1."
  }
}

variable "openbao_sha256" {
  description = "SHA-256 of bao_<openbao_version>_linux_amd64.deb, from the release's checksums: the download is verified against it."
  type        = string
  default     = ""
  validation {
    condition     = var.distribution != "openbao" || can(regex("^[0-9a-f]{64}$", var.openbao_sha256))
    error_message = "OpenBao needs openbao_sha256: the 64 lowercase hex digits of its .deb's SHA-256."
  }
}

variable "vault_version" {
  description = "Vault release installed from HashiCorp's apt repository (the package vault=<version>-1)."
  type        = string
  default     = "1.21.2"
  validation {
    condition     = can(regex("^[0-9]+[.][0-9]+[.][0-9]+$", var.vault_version))
    error_message = "The Vault version is a release number like 1.21.2."
  }
}
