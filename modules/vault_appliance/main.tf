# The Vault (or OpenBao) appliance: droplets with attached raft volumes, installed and configured by
# cloud-init; the first node leads and the others join it over TLS. A firewall keeps the API and cluster
# ports inside the VPC. A load balancer passes TLS through to the nodes (the server key never leaves them),
# selecting them by tag, so it exists before they do and its address can be in their certificate.

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
  cloud_init = {
    for index in range(var.node_count) : index => {
      node_id      = "${var.name}-vault-${index}"
      volume_name  = "${var.name}-vault-data-${index}"
      distribution = var.distribution
      version      = var.openbao_version
      api_port     = var.api_port
      cluster_port = var.cluster_port
      server_name  = local.server_name
      ca_pem       = tls_self_signed_cert.ca.cert_pem
      cert_pem     = tls_locally_signed_cert.server.cert_pem
      key_pem      = tls_private_key.server.private_key_pem
    }
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
  user_data  = templatefile("${path.module}/cloud-init.yaml.tftpl", merge(local.cloud_init[0], { leader_address = "" }))
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
    leader_address = digitalocean_droplet.leader.ipv4_address_private
  }))
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

  # Active and standby nodes are up; a sealed node is down (it would answer every request with 503). An
  # uninitialised node still counts as up: `vault bootstrap` initialises a fresh appliance through this
  # balancer, and no health check can tell that node from a working one without that.
  healthcheck {
    protocol                 = "https"
    port                     = var.api_port
    path                     = "/v1/sys/health?standbyok=true&perfstandbyok=true&uninitcode=200"
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

  inbound_rule {
    protocol         = "tcp"
    port_range       = tostring(var.cluster_port)
    source_addresses = [var.vpc_cidr]
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
}
