# Built-in rule `upgrades_maintenance`: Kubernetes clusters upgrade with surge nodes and have a maintenance
# window (a day and a start time).
package wildside.builtin.upgrades_maintenance

clusters contains rc if {
	some rc in input.resource_changes
	rc.type == "digitalocean_kubernetes_cluster"
	object.get(rc.change, "after", null) != null
}

deny contains {"msg": msg, "resource": rc.address} if {
	some rc in clusters
	not rc.change.after.surge_upgrade == true
	msg := sprintf("%s: surge upgrades are off; set `surge_upgrade = true` under [cluster]", [rc.address])
}

deny contains {"msg": msg, "resource": rc.address} if {
	some rc in clusters
	not window_set(rc.change.after)
	msg := sprintf("%s: no maintenance window; set `maintenance = { day = \"sunday\", start_time = \"04:00\" }` under [cluster]", [rc.address])
}

window_set(cluster) if {
	maintenance_policys := object.get(cluster, "maintenance_policy", [])
	is_array(maintenance_policys)
	some policy in maintenance_policys
	object.get(policy, "day", "") != ""
	object.get(policy, "start_time", "") != ""
}
