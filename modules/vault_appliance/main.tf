# The Vault (or OpenBao) appliance: droplets with attached raft volumes, installed and configured by
# cloud-init; the first node leads and the others join it over TLS. Each node makes its own TLS key; the
# leader holds the CA and signs the followers' requests (vault-appliance-tls, vault-appliance-signer). A
# firewall keeps the API port inside the VPC and the cluster and enrollment ports among the nodes. A load
# balancer passes TLS through to the nodes (no private key ever leaves them),
# selecting them by tag, so it exists before they do and its address can be in their certificate; its own
# firewall admits only `api_cidrs`.

resource "digitalocean_volume" "data" {
  count = var.node_count

  region                  = var.region
  name                    = "${var.name}-vault-data-${count.index}"
  size                    = var.volume_size_gb
  initial_filesystem_type = "ext4"
  description             = "Raft storage of ${var.name}-vault-${count.index}."
}

# The nodes' tag: the load balancer selects its nodes by it rather than by id, which breaks what would
# otherwise be a cycle (balancer -> droplets -> certificate -> balancer's address).
resource "digitalocean_tag" "vault" {
  name = "${var.name}-vault"
}

locals {
  # HashiCorp's package-signing key (https://www.hashicorp.com/security, "Linux Package Checksum Verification").
  hashicorp_key_fingerprint = "798AEC654E5C15428C8E42EEAA16FCBCA621E701"

  # Uninitialised nodes count as up (so that `vault bootstrap` can initialise the appliance through the
  # balancer) only while the balancer's firewall admits the allow-listed networks alone; open to the whole
  # internet, an uninitialised node is down, and a fresh appliance is initialised at a node's own address.
  api_open_to_anywhere = anytrue([for cidr in var.api_cidrs : endswith(cidr, "/0")])
  health_path = join("&", concat(
    ["/v1/sys/health?standbyok=true", "perfstandbyok=true"],
    local.api_open_to_anywhere ? [] : ["uninitcode=200"],
  ))

  server_name = "${var.name}.vault.internal"

  # What every node's TLS script reads (vault-appliance-tls): the names every node's certificate carries (the
  # load balancer's address too, since it passes TLS through), and the token that authenticates enrollment.
  tls_settings = {
    SERVER_NAME      = local.server_name
    CA_NAME          = "${var.name} Vault CA"
    DNS_NAMES        = join(" ", concat([local.server_name, "localhost"], var.tls_names))
    IP_ADDRESSES     = join(" ", concat(["127.0.0.1", digitalocean_loadbalancer.vault.ip], var.tls_ips))
    ENROLLMENT_PORT  = tostring(var.enrollment_port)
    ENROLLMENT_TOKEN = terraform_data.enrollment_token.output
    CERTIFICATE_DAYS = "365"
  }

  cloud_init = {
    for index in range(var.node_count) : index => {
      node_id      = "${var.name}-vault-${index}"
      volume_name  = "${var.name}-vault-data-${index}"
      distribution = var.distribution
      version      = var.openbao_version
      # Only the chosen distribution's pin is used.
      openbao_sha256            = var.openbao_sha256
      vault_version             = var.vault_version
      hashicorp_key_fingerprint = local.hashicorp_key_fingerprint
      api_port                  = var.api_port
      cluster_port              = var.cluster_port
      server_name               = local.server_name
      leader                    = index == 0
      tls_script                = file("${path.module}/vault-appliance-tls")
      signer_script             = file("${path.module}/vault-appliance-signer")
    }
  }
}

# The enrollment token: followers authenticate their certificate requests to the leader with it, and
# `vault bootstrap --appliance` tells the appliance's CA from an impostor's by it. Made once (uuid() is random
# at every plan, so later changes are ignored) and kept in state; it is in the nodes' user data, see the README.
resource "terraform_data" "enrollment_token" {
  input = replace("${uuid()}${uuid()}", "-", "")

  lifecycle {
    ignore_changes = [input]
  }
}

resource "digitalocean_droplet" "leader" {
  name       = "${var.name}-vault-0"
  region     = var.region
  size       = var.size
  image      = var.image
  vpc_uuid   = var.vpc_uuid
  ssh_keys   = var.ssh_keys
  volume_ids = [digitalocean_volume.data[0].id]
  monitoring = true
  tags       = [digitalocean_tag.vault.id]
  user_data = templatefile("${path.module}/cloud-init.yaml.tftpl", merge(local.cloud_init[0], {
    tls_settings = merge(local.tls_settings, { ROLE = "leader", BIND_ADDRESS = "0.0.0.0" })
  }))

  # User data only seeds a new droplet. A new release must not replace every node at once (each would come
  # back sealed): nodes are replaced one at a time instead (see the README).
  lifecycle {
    ignore_changes = [user_data]
  }
}

resource "digitalocean_droplet" "follower" {
  count = var.node_count - 1

  name       = "${var.name}-vault-${count.index + 1}"
  region     = var.region
  size       = var.size
  image      = var.image
  vpc_uuid   = var.vpc_uuid
  ssh_keys   = var.ssh_keys
  volume_ids = [digitalocean_volume.data[count.index + 1].id]
  monitoring = true
  tags       = [digitalocean_tag.vault.id]
  user_data = templatefile("${path.module}/cloud-init.yaml.tftpl", merge(local.cloud_init[count.index + 1], {
    tls_settings = merge(local.tls_settings, {
      ROLE           = "follower"
      LEADER_ADDRESS = digitalocean_droplet.leader.ipv4_address_private
    })
  }))

  # As for the leader: replaced one at a time, never all at once.
  lifecycle {
    ignore_changes = [user_data]
  }
}

locals {
  droplet_ids = concat([digitalocean_droplet.leader.id], digitalocean_droplet.follower[*].id)
}

resource "digitalocean_loadbalancer" "vault" {
  name        = "${var.name}-vault"
  region      = var.region
  vpc_uuid    = var.vpc_uuid
  droplet_tag = digitalocean_tag.vault.name

  # TLS passthrough: clients verify the nodes' own certificate against the module's CA.
  forwarding_rule {
    entry_protocol  = "https"
    entry_port      = 443
    target_protocol = "https"
    target_port     = var.api_port
    tls_passthrough = true
  }

  # Only the allow-listed networks reach the balancer at all.
  firewall {
    allow = [for cidr in var.api_cidrs : "cidr:${cidr}"]
  }

  # Active and standby nodes are up; a sealed node is down (it would answer every request with 503). An
  # uninitialised node counts as up only behind an allow-list (see local.health_path): `vault bootstrap`
  # initialises a fresh appliance through this balancer, and only the allow-listed networks can reach it.
  healthcheck {
    protocol                 = "https"
    port                     = var.api_port
    path                     = local.health_path
    check_interval_seconds   = 10
    response_timeout_seconds = 5
    healthy_threshold        = 3
    unhealthy_threshold      = 3
  }
}

resource "digitalocean_firewall" "vault" {
  name        = "${var.name}-vault"
  droplet_ids = local.droplet_ids

  inbound_rule {
    protocol                  = "tcp"
    port_range                = tostring(var.api_port)
    source_addresses          = [var.vpc_cidr]
    source_load_balancer_uids = [digitalocean_loadbalancer.vault.id]
  }

  # Raft and request forwarding: the appliance's own nodes only, by their tag (a node replaced later carries it
  # too), never the rest of the VPC, where the cluster's workloads run.
  inbound_rule {
    protocol    = "tcp"
    port_range  = tostring(var.cluster_port)
    source_tags = [digitalocean_tag.vault.id]
  }

  # Enrollment: the followers send their certificate requests to the leader's signer.
  inbound_rule {
    protocol    = "tcp"
    port_range  = tostring(var.enrollment_port)
    source_tags = [digitalocean_tag.vault.id]
  }

  dynamic "inbound_rule" {
    for_each = length(var.ssh_cidrs) > 0 ? [var.ssh_cidrs] : []
    content {
      protocol         = "tcp"
      port_range       = "22"
      source_addresses = inbound_rule.value
    }
  }

  outbound_rule {
    protocol              = "tcp"
    port_range            = "1-65535"
    destination_addresses = ["0.0.0.0/0", "::/0"]
  }

  outbound_rule {
    protocol              = "udp"
    port_range            = "53"
    destination_addresses = ["0.0.0.0/0", "::/0"]
  }

  # NTP: TLS and raft need a correct clock.
  outbound_rule {
    protocol              = "udp"
    port_range            = "123"
    destination_addresses = ["0.0.0.0/0", "::/0"]
  }
}
