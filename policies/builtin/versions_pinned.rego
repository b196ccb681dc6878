# Built-in rule `versions_pinned`: Kubernetes clusters run an exact DOKS version (`1.33.1-do.3`) known at
# plan time, and every provider (OpenTofu's built-in `terraform` provider aside) has a version constraint
# with an upper bound (`~> 2.50`, `< 3.0`, `= 2.50.0`).
package wildside.builtin.versions_pinned

deny contains {"msg": msg, "resource": rc.address} if {
	some rc in input.resource_changes
	rc.type == "digitalocean_kubernetes_cluster"
	after := object.get(rc.change, "after", null)
	after != null
	not exact_version(object.get(after, "version", ""))
	msg := sprintf("%s: Kubernetes version %v is not an exact DOKS version known at plan time; write one such as `1.33.1-do.3`", [rc.address, object.get(after, "version", "(known after apply)")])
}

exact_version(version) if regex.match(`^[0-9]+\.[0-9]+\.[0-9]+-do\.[0-9]+$`, version)

deny contains {"msg": msg, "resource": concat("", ["provider.", name])} if {
	some name, provider in object.get(object.get(input, "configuration", {}), "provider_config", {})
	not startswith(object.get(provider, "full_name", ""), "terraform.io/builtin/")
	not bounded(object.get(provider, "version_constraint", ""))
	msg := sprintf("provider %s: version constraint %q has no upper bound; pin it with `~>` or `<`", [name, object.get(provider, "version_constraint", "")])
}

bounded(constraint) if contains(constraint, "~>")

bounded(constraint) if contains(constraint, "<")

bounded(constraint) if regex.match(`^[ ]*=?[ ]*[0-9]+[.][0-9]+[.][0-9]+[ ]*$`, constraint)
