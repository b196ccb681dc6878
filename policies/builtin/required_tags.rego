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

wanted := object.get(data.wildside.settings, "required_tags", [])

deny contains {"msg": msg, "resource": rc.address} if {
	some rc in input.resource_changes
	taggable[rc.type]
	after := object.get(rc.change, "after", null)
	after != null
	some required in wanted
	not tagged(after, required)
	msg := sprintf("%s: missing the required tag %q", [rc.address, required])
}

# Whether a planned resource carries `tag` (its `tags` may be absent or null).
tagged(after, tag) if {
	tags := object.get(after, "tags", [])
	is_array(tags)
	tag in tags
}
