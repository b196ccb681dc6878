# Built-in rule `required_tags`: every taggable DigitalOcean resource carries the tags that the stack's
# `[policy] required_tags` lists (none by default). Load balancers have no tags in the provider, and a
# firewall's `tags` choose the droplets it guards, so neither is judged.
package wildside.builtin.required_tags

taggable := {
	"digitalocean_droplet",
	"digitalocean_kubernetes_cluster",
	"digitalocean_kubernetes_node_pool",
	"digitalocean_volume",
	"digitalocean_database_cluster",
}

deny contains {"msg": msg, "resource": rc.address} if {
	some rc in input.resource_changes
	taggable[rc.type]
	after := object.get(rc.change, "after", null)
	after != null
	some required in object.get(data.wildside.settings, "required_tags", [])
	not required in items(after, "tags")
	msg := sprintf("%s: missing the required tag %q", [rc.address, required])
}

# A list attribute of a planned resource, or nothing when it is absent or null.
items(value, key) := list if {
	list := object.get(value, key, [])
	list != null
} else := []
