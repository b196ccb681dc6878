# Built-in rule `no_public_admin`: no firewall opens SSH (22) or the Kubernetes API (6443) to the whole
# internet, and no cluster's control-plane firewall allows the whole internet. A cluster without a
# control-plane firewall is only warned about: DigitalOcean's default is a public API endpoint.
package wildside.builtin.no_public_admin

open_cidrs := {"0.0.0.0/0", "::/0"}

admin_ports := {22: "SSH", 6443: "the Kubernetes API"}

covers(range, port) if {
	regex.match(`^[0-9]+$`, range)
	to_number(range) == port
}

covers(range, port) if {
	regex.match(`^[0-9]+-[0-9]+$`, range)
	parts := split(range, "-")
	to_number(parts[0]) <= port
	port <= to_number(parts[1])
}

covers("all", _) := true

deny contains {"msg": msg, "resource": rc.address} if {
	some rc in input.resource_changes
	rc.type == "digitalocean_firewall"
	after := object.get(rc.change, "after", null)
	after != null
	some rule in items(after, "inbound_rule")
	some port, what in admin_ports
	covers(object.get(rule, "port_range", ""), port)
	some cidr in items(rule, "source_addresses")
	open_cidrs[cidr]
	msg := sprintf("%s: %s (port %d) is open to %s; allow only known networks", [rc.address, what, port, cidr])
}

deny contains {"msg": msg, "resource": rc.address} if {
	some rc in input.resource_changes
	rc.type == "digitalocean_kubernetes_cluster"
	after := object.get(rc.change, "after", null)
	after != null
	some firewall in items(after, "control_plane_firewall")
	firewall.enabled == true
	some cidr in items(firewall, "allowed_addresses")
	open_cidrs[cidr]
	msg := sprintf("%s: the Kubernetes API is open to %s; allow only known networks", [rc.address, cidr])
}

warn contains {"msg": msg, "resource": rc.address} if {
	some rc in input.resource_changes
	rc.type == "digitalocean_kubernetes_cluster"
	after := object.get(rc.change, "after", null)
	after != null
	not control_plane_firewall_enabled(after)
	msg := sprintf("%s: the Kubernetes API has no control-plane firewall, so it answers the whole internet", [rc.address])
}

control_plane_firewall_enabled(cluster) if {
	some firewall in items(cluster, "control_plane_firewall")
	firewall.enabled == true
}

# A list attribute of a planned resource, or nothing when it is absent or null.
items(value, key) := list if {
	list := object.get(value, key, [])
	list != null
} else := []
