# Built-in rule `lb_https_only`: load balancers take HTTPS only; plain HTTP is accepted only as a redirect to
# HTTPS (`redirect_http_to_https = true`).
package wildside.builtin.lb_https_only

secure := {"https", "http2", "http3"}

deny contains {"msg": msg, "resource": rc.address} if {
	some rc in input.resource_changes
	rc.type == "digitalocean_loadbalancer"
	after := object.get(rc.change, "after", null)
	after != null
	forwarding_rules := object.get(after, "forwarding_rule", [])
	is_array(forwarding_rules)
	some rule in forwarding_rules
	rule.entry_protocol == "http"
	not after.redirect_http_to_https == true
	msg := sprintf("%s: port %v takes plain HTTP without a redirect; set `redirect_http_to_https = true`", [rc.address, rule.entry_port])
}

deny contains {"msg": msg, "resource": rc.address} if {
	some rc in input.resource_changes
	rc.type == "digitalocean_loadbalancer"
	after := object.get(rc.change, "after", null)
	after != null
	forwarding_rules := object.get(after, "forwarding_rule", [])
	is_array(forwarding_rules)
	some rule in forwarding_rules
	rule.entry_protocol != "http"
	not secure[rule.entry_protocol]
	msg := sprintf("%s: port %v takes %s, not HTTPS", [rc.address, rule.entry_port, rule.entry_protocol])
}
