# Built-in rule `ha_control_plane`: a production stack's Kubernetes clusters have a highly available control
# plane. A stack is production when its `[policy]` section says `production = true`.
package wildside.builtin.ha_control_plane

deny contains {"msg": msg, "resource": rc.address} if {
	data.wildside.settings.production
	some rc in input.resource_changes
	rc.type == "digitalocean_kubernetes_cluster"
	after := object.get(rc.change, "after", null)
	after != null
	not after.ha == true
	msg := sprintf("%s: a production cluster needs a highly available control plane (set `ha = true` under [cluster])", [rc.address])
}
