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
	inbound_rules := object.get(after, "inbound_rule", [])
	is_array(inbound_rules)
	some rule in inbound_rules
	some port, what in admin_ports
	covers(object.get(rule, "port_range", ""), port)
	sources := object.get(rule, "source_addresses", [])
	is_array(sources)
	some cidr in sources
	open_cidrs[cidr]
	msg := sprintf("%s: %s (port %d) is open to %s; allow only known networks", [rc.address, what, port, cidr])
}

deny contains {"msg": msg, "resource": rc.address} if {
	some rc in input.resource_changes
	rc.type == "digitalocean_kubernetes_cluster"
	after := object.get(rc.change, "after", null)
	after != null
	control_plane_firewalls := object.get(after, "control_plane_firewall", [])
	is_array(control_plane_firewalls)
	some firewall in control_plane_firewalls
	firewall.enabled == true
	allowed := object.get(firewall, "allowed_addresses", [])
	is_array(allowed)
	some cidr in allowed
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
	control_plane_firewalls := object.get(cluster, "control_plane_firewall", [])
	is_array(control_plane_firewalls)
	some firewall in control_plane_firewalls
	firewall.enabled == true
}
