# The Vault (or OpenBao) appliance: droplets with attached raft volumes, installed and configured by
# cloud-init; the first node leads and the others join it over TLS. A firewall keeps the API and cluster
# ports inside the VPC, and a load balancer terminates HTTPS with a health check that counts a sealed or
# uninitialised node as up (so the operator can reach it to initialise and unseal).

resource "digitalocean_volume" "data" {
  count = var.node_count

  region                  = var.region
  name                    = "${var.name}-vault-data-${count.index}"
  size                    = var.volume_size_gb
  initial_filesystem_type = "ext4"
  description             = "Raft storage of ${var.name}-vault-${count.index}."
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
  tags       = ["${var.name}-vault"]
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
  tags       = ["${var.name}-vault"]
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
  droplet_ids = local.droplet_ids

  forwarding_rule {
    entry_protocol   = "https"
    entry_port       = 443
    target_protocol  = "https"
    target_port      = var.api_port
    certificate_name = digitalocean_certificate.lb.name
  }

  healthcheck {
    protocol                 = "https"
    port                     = var.api_port
    path                     = "/v1/sys/health?standbyok=true&perfstandbyok=true&sealedcode=200&uninitcode=200"
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
