# TLS material: a private CA and a server certificate it signs, for the listeners and raft. The certificate
# names the load balancer's address too, since the balancer passes TLS through to the nodes.

locals {
  server_name = "${var.name}.vault.internal"
}

resource "tls_private_key" "ca" {
  algorithm   = "ECDSA"
  ecdsa_curve = "P256"
}

resource "tls_self_signed_cert" "ca" {
  private_key_pem       = tls_private_key.ca.private_key_pem
  is_ca_certificate     = true
  validity_period_hours = 87600
  allowed_uses          = ["cert_signing", "crl_signing", "digital_signature"]

  subject {
    common_name  = "${var.name} Vault CA"
    organization = "Wildside"
  }
}

resource "tls_private_key" "server" {
  algorithm   = "ECDSA"
  ecdsa_curve = "P256"
}

resource "tls_cert_request" "server" {
  private_key_pem = tls_private_key.server.private_key_pem
  dns_names       = concat([local.server_name, "localhost"], var.tls_names)
  ip_addresses    = concat(["127.0.0.1", digitalocean_loadbalancer.vault.ip], var.tls_ips)

  subject {
    common_name  = local.server_name
    organization = "Wildside"
  }
}

resource "tls_locally_signed_cert" "server" {
  cert_request_pem      = tls_cert_request.server.cert_request_pem
  ca_private_key_pem    = tls_private_key.ca.private_key_pem
  ca_cert_pem           = tls_self_signed_cert.ca.cert_pem
  validity_period_hours = 8760
  early_renewal_hours   = 720
  allowed_uses          = ["digital_signature", "key_encipherment", "server_auth", "client_auth"]
}
