# Built-in rule `vault_appliance`: the Vault appliance runs an odd number of nodes (raft needs a majority),
# and every node has a volume attached for its data.
package wildside.builtin.vault_appliance

nodes contains rc if {
	some rc in input.resource_changes
	rc.type == "digitalocean_droplet"
	startswith(rc.address, "module.vault_appliance.")
	object.get(rc.change, "after", null) != null
}

deny contains {"msg": msg, "resource": "module.vault_appliance"} if {
	count(nodes) > 0
	count(nodes) % 2 == 0
	msg := sprintf("module.vault_appliance: %d nodes; raft needs an odd number (1, 3, 5 or 7)", [count(nodes)])
}

deny contains {"msg": msg, "resource": rc.address} if {
	some rc in nodes
	not attached(rc.change)
	msg := sprintf("%s: no volume attached; the node would keep its data on the droplet's disk", [rc.address])
}

attached(change) if count(object.get(change.after, "volume_ids", [])) > 0

attached(change) if object.get(object.get(change, "after_unknown", {}), "volume_ids", false) == true

attached(change) if {
	unknown := object.get(object.get(change, "after_unknown", {}), "volume_ids", [])
	is_array(unknown)
	some known in unknown
	known == true
}
