# Built-in rule `size_ceiling`: no node pool may grow past `[policy] max_node_count` nodes (default 20), and
# no droplet or node size may have more than `[policy] max_size_vcpus` vCPUs (default 16).
package wildside.builtin.size_ceiling

settings := data.wildside.settings

pools contains {"address": rc.address, "pool": pool} if {
	some rc in input.resource_changes
	rc.type == "digitalocean_kubernetes_cluster"
	after := object.get(rc.change, "after", null)
	after != null
	some pool in items(after, "node_pool")
}

pools contains {"address": rc.address, "pool": rc.change.after} if {
	some rc in input.resource_changes
	rc.type == "digitalocean_kubernetes_node_pool"
	object.get(rc.change, "after", null) != null
}

largest(pool) := n if {
	object.get(pool, "auto_scale", false) == true
	n := object.get(pool, "max_nodes", 0)
} else := object.get(pool, "node_count", 0)

deny contains {"msg": msg, "resource": entry.address} if {
	some entry in pools
	n := largest(entry.pool)
	n > settings.max_node_count
	msg := sprintf("%s: node pool %v may have %v nodes, more than the ceiling of %v ([policy] max_node_count)", [entry.address, object.get(entry.pool, "name", ""), n, settings.max_node_count])
}

vcpus(size) := n if {
	some part in split(size, "-")
	endswith(part, "vcpu")
	n := to_number(trim_suffix(part, "vcpu"))
}

sized contains {"address": rc.address, "size": rc.change.after.size} if {
	some rc in input.resource_changes
	rc.type == "digitalocean_droplet"
	object.get(rc.change, "after", null) != null
}

sized contains {"address": entry.address, "size": entry.pool.size} if {
	some entry in pools
}

deny contains {"msg": msg, "resource": entry.address} if {
	some entry in sized
	n := vcpus(entry.size)
	n > settings.max_size_vcpus
	msg := sprintf("%s: size %s has %v vCPUs, more than the ceiling of %v ([policy] max_size_vcpus)", [entry.address, entry.size, n, settings.max_size_vcpus])
}

# A list attribute of a planned resource, or nothing when it is absent or null.
items(value, key) := list if {
	list := object.get(value, key, [])
	list != null
}

items(value, key) := [] if object.get(value, key, []) == null
