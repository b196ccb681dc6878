# Built-in rule `size_ceiling`: no node pool may grow past `[policy] max_node_count` nodes (default 20), and
# no droplet or node size may have more than `[policy] max_size_vcpus` vCPUs (default 16).
package wildside.builtin.size_ceiling

settings := data.wildside.settings

deny contains {"msg": msg, "resource": rc.address} if {
	some rc in input.resource_changes
	some pool in node_pools(rc)
	n := largest(pool)
	n > settings.max_node_count
	msg := sprintf("%s: node pool %v may have %v nodes, more than the ceiling of %v ([policy] max_node_count)", [rc.address, object.get(pool, "name", ""), n, settings.max_node_count])
}

deny contains {"msg": msg, "resource": rc.address} if {
	some rc in input.resource_changes
	some size in sizes(rc)
	n := vcpus(size)
	n > settings.max_size_vcpus
	msg := sprintf("%s: size %s has %v vCPUs, more than the ceiling of %v ([policy] max_size_vcpus)", [rc.address, size, n, settings.max_size_vcpus])
}

# The node pools a planned resource makes: a cluster's `node_pool` blocks, or a node pool resource itself.
node_pools(rc) := items(rc.change.after, "node_pool") if {
	rc.type == "digitalocean_kubernetes_cluster"
	object.get(rc.change, "after", null) != null
} else := [rc.change.after] if {
	rc.type == "digitalocean_kubernetes_node_pool"
	object.get(rc.change, "after", null) != null
} else := []

# The sizes a planned resource runs: a droplet's, or those of its node pools.
sizes(rc) := [rc.change.after.size] if {
	rc.type == "digitalocean_droplet"
	object.get(rc.change, "after", null) != null
} else := [pool.size | some pool in node_pools(rc)]

largest(pool) := n if {
	object.get(pool, "auto_scale", false) == true
	n := object.get(pool, "max_nodes", 0)
} else := object.get(pool, "node_count", 0)

vcpus(size) := n if {
	some part in split(size, "-")
	endswith(part, "vcpu")
	n := to_number(trim_suffix(part, "vcpu"))
}

# A list attribute of a planned resource, or nothing when it is absent or null.
items(value, key) := list if {
	list := object.get(value, key, [])
	list != null
} else := []
