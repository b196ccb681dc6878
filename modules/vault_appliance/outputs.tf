output "endpoint" {
  description = "HTTPS address of the load balancer in front of Vault."
  value       = "https://${digitalocean_loadbalancer.vault.ip}"
}

output "enrollment_token" {
  description = "The token the appliance's CA is attested with: `vault bootstrap --appliance` checks the CA it is served against it."
  value       = terraform_data.enrollment_token.output
  sensitive   = true
}

output "droplet_addresses" {
  description = "Private addresses of the Vault nodes."
  value       = concat([digitalocean_droplet.leader.ipv4_address_private], digitalocean_droplet.follower[*].ipv4_address_private)
}

output "urns" {
  description = "URNs of the droplets, volumes and load balancer (for project assignment)."
  value = concat(
    [digitalocean_droplet.leader.urn, digitalocean_loadbalancer.vault.urn],
    digitalocean_droplet.follower[*].urn,
    digitalocean_volume.data[*].urn,
  )
}
