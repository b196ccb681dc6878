output "id" {
  description = "The cluster's id."
  value       = digitalocean_kubernetes_cluster.this.id
}

output "urn" {
  description = "The cluster's URN (for project assignment)."
  value       = digitalocean_kubernetes_cluster.this.urn
}

output "endpoint" {
  description = "The Kubernetes API endpoint."
  value       = digitalocean_kubernetes_cluster.this.endpoint
}

output "version" {
  description = "The Kubernetes version the cluster runs."
  value       = digitalocean_kubernetes_cluster.this.version
}

output "kubeconfig" {
  description = "A kubeconfig for the cluster."
  value       = digitalocean_kubernetes_cluster.this.kube_config[0].raw_config
  sensitive   = true
}
