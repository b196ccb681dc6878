# Built-in rule `size_ceiling`: no node pool may grow past `[policy] max_node_count` nodes (default 20), and
# no droplet or node size may have more than `[policy] max_size_vcpus` vCPUs (default 16). Node pools are a
# cluster's `node_pool` blocks and node pool resources. Each body filters by type first, so other resources
# cost one comparison.
package wildside.builtin.size_ceiling

settings := data.wildside.settings

deny contains {"msg": pool_msg(rc, pool), "resource": rc.address} if {
	some rc in input.resource_changes
	rc.type == "digitalocean_kubernetes_cluster"
	after := object.get(rc.change, "after", null)
	after != null
	pools := object.get(after, "node_pool", [])
	is_array(pools)
	some pool in pools
	largest(pool) > settings.max_node_count
}

deny contains {"msg": pool_msg(rc, pool), "resource": rc.address} if {
	some rc in input.resource_changes
	rc.type == "digitalocean_kubernetes_node_pool"
	pool := object.get(rc.change, "after", null)
	pool != null
	largest(pool) > settings.max_node_count
}

deny contains {"msg": size_msg(rc, after.size), "resource": rc.address} if {
	some rc in input.resource_changes
	rc.type == "digitalocean_droplet"
	after := object.get(rc.change, "after", null)
	after != null
	vcpus(after.size) > settings.max_size_vcpus
}

deny contains {"msg": size_msg(rc, pool.size), "resource": rc.address} if {
	some rc in input.resource_changes
	rc.type == "digitalocean_kubernetes_cluster"
	after := object.get(rc.change, "after", null)
	after != null
	pools := object.get(after, "node_pool", [])
	is_array(pools)
	some pool in pools
	vcpus(pool.size) > settings.max_size_vcpus
}

deny contains {"msg": size_msg(rc, pool.size), "resource": rc.address} if {
	some rc in input.resource_changes
	rc.type == "digitalocean_kubernetes_node_pool"
	pool := object.get(rc.change, "after", null)
	pool != null
	vcpus(pool.size) > settings.max_size_vcpus
}

pool_msg(rc, pool) := sprintf("%s: node pool %v may have %v nodes, more than the ceiling of %v ([policy] max_node_count)", [rc.address, object.get(pool, "name", ""), largest(pool), settings.max_node_count])

size_msg(rc, size) := sprintf("%s: size %s has %v vCPUs, more than the ceiling of %v ([policy] max_size_vcpus)", [rc.address, size, vcpus(size), settings.max_size_vcpus])

largest(pool) := n if {
	object.get(pool, "auto_scale", false) == true
	n := object.get(pool, "max_nodes", 0)
} else := object.get(pool, "node_count", 0)

vcpus(size) := n if {
	some part in split(size, "-")
	endswith(part, "vcpu")
	n := to_number(trim_suffix(part, "vcpu"))
}
