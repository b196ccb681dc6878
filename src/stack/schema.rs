//! The JSON Schema of stack files, so editors (with TOML language servers such as Taplo or Even Better TOML)
//! complete and check them. It mirrors the shapes `load` accepts; a test keeps the two in step.

use serde_json::{Value, json};

fn string(description: &str) -> Value {
    json!({ "type": "string", "description": description })
}

fn boolean(description: &str) -> Value {
    json!({ "type": "boolean", "description": description })
}

/// The schema, draft 2020-12.
pub fn stack_schema() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "wildside-tofu stack file",
        "description": "stacks/<name>.toml: one environment, rendered into an OpenTofu root module.",
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "backend": backend(),
            "digitalocean": {
                "type": "object",
                "additionalProperties": false,
                "required": ["region"],
                "properties": {
                    "region": { "type": "string", "description": "Region slug, such as nyc3." },
                    "project": string("DigitalOcean project to put the resources in.")
                }
            },
            "vpc": {
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "name": string("Default: <stack>-vpc."),
                    "cidr": { "type": "string", "default": "10.10.0.0/16", "description": "Private IPv4 range, /16 to /28, outside 10.244.0.0/16 and 10.245.0.0/16." }
                }
            },
            "cluster": {
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "name": string("Default: the stack name."),
                    "version": { "type": "string", "default": "1.33", "description": "A minor (newest patch) or an exact DOKS version such as 1.33.1-do.3." },
                    "ha": boolean("Highly available control plane (default false)."),
                    "auto_upgrade": boolean("Patch upgrades in the maintenance window (default true)."),
                    "surge_upgrade": boolean("Surge upgrades (default true)."),
                    "maintenance": {
                        "type": "object",
                        "additionalProperties": false,
                        "properties": {
                            "day": { "enum": ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "any"] },
                            "start_time": { "type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$", "description": "HH:MM, UTC." }
                        }
                    },
                    "tags": { "type": "array", "items": { "type": "string" } },
                    "api_allowed_cidrs": { "type": "array", "items": { "type": "string" }, "description": "IPv4 CIDRs that may reach the Kubernetes API (the control-plane firewall); default: open." },
                    "destroy_all_associated_resources": { "type": "boolean", "description": "Deleting the cluster also deletes the load balancers, volumes and volume snapshots its workloads made; default: true for preview stacks, else false." }
                }
            },
            "node_pools": {
                "type": "array",
                "description": "The first pool is the cluster's default pool; the others are separate node-pool resources.",
                "items": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["name"],
                    "properties": {
                        "name": string("Unique pool name."),
                        "size": { "type": "string", "default": "s-2vcpu-4gb", "description": "Droplet size slug." },
                        "count": { "type": "integer", "minimum": 1 },
                        "autoscale": {
                            "type": "object",
                            "additionalProperties": false,
                            "required": ["min", "max"],
                            "properties": { "min": { "type": "integer", "minimum": 0 }, "max": { "type": "integer", "minimum": 1 } }
                        },
                        "labels": { "type": "object", "additionalProperties": { "type": "string" } },
                        "taints": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "additionalProperties": false,
                                "required": ["key", "effect"],
                                "properties": {
                                    "key": { "type": "string" },
                                    "value": { "type": "string" },
                                    "effect": { "enum": ["NoSchedule", "PreferNoSchedule", "NoExecute"] }
                                }
                            }
                        },
                        "tags": { "type": "array", "items": { "type": "string" } }
                    }
                }
            },
            "vault_appliance": {
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "size": { "type": "string", "default": "s-1vcpu-2gb" },
                    "image": { "type": "string", "default": "ubuntu-24-04-x64" },
                    "count": { "type": "integer", "enum": [1, 3, 5, 7], "default": 1 },
                    "volume_size_gb": { "type": "integer", "minimum": 1, "default": 10 },
                    "ssh_keys": { "type": "array", "items": { "type": "string" } },
                    "ssh_cidrs": { "type": "array", "items": { "type": "string" } },
                    "allow_ssh_from_anywhere": boolean("Allow 0.0.0.0/0 in ssh_cidrs."),
                    "api_cidrs": { "type": "array", "minItems": 1, "items": { "type": "string" }, "description": "Networks allowed to reach Vault's API through the load balancer (its firewall's allow-list); required." },
                    "allow_api_from_anywhere": boolean("Allow 0.0.0.0/0 in api_cidrs (uninitialised nodes then count as down)."),
                    "openbao_sha256": { "type": "string", "pattern": "^[0-9a-f]{64}$", "description": "SHA-256 of the OpenBao release's linux_amd64 .deb; required for the openbao distribution." },
                    "tls_names": { "type": "array", "items": { "type": "string" } },
                    "tls_ips": { "type": "array", "items": { "type": "string" } },
                    "api_port": { "type": "integer", "default": 8200 },
                    "cluster_port": { "type": "integer", "default": 8201 },
                    "distribution": { "enum": ["openbao", "vault"], "default": "openbao" }
                }
            },
            "modules": {
                "type": "array",
                "minItems": 1,
                "description": "Module instances the root module calls.",
                "items": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["name", "source"],
                    "properties": {
                        "name": { "type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_-]*$", "description": "The module block's name." },
                        "source": string("A directory of modules/, or any module source OpenTofu accepts."),
                        "inputs": { "type": "object", "description": "Literal module inputs." },
                        "secret_inputs": {
                            "type": "object",
                            "additionalProperties": { "type": "string" },
                            "description": "Module input = name of a [secrets] entry."
                        },
                        "preview_inputs": {
                            "type": "object",
                            "additionalProperties": { "enum": ["pr_number", "commit_sha", "expires_at", "workspace"] },
                            "description": "Module input = a preview's variable (preview stacks only)."
                        }
                    }
                }
            },
            "outputs": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["name", "from"],
                    "properties": {
                        "name": string("The stack output's name."),
                        "from": { "type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_-]*\\.[A-Za-z_][A-Za-z0-9_-]*$", "description": "<module>.<output>" },
                        "sensitive": boolean("Mark the output sensitive.")
                    }
                }
            },
            "vault": vault(),
            "secrets": {
                "type": "object",
                "description": "Tofu variables read from Vault KV v2 at run time.",
                "additionalProperties": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["path", "key"],
                    "properties": {
                        "path": string("Secret path under the KV mount (runs that apply read it)."),
                        "key": string("Key inside the secret."),
                        "plan": {
                            "type": "object",
                            "additionalProperties": false,
                            "required": ["path", "key"],
                            "description": "The secret runs that only plan read instead, such as a read-scoped token.",
                            "properties": { "path": string("Secret path under the KV mount."), "key": string("Key inside the secret.") }
                        }
                    }
                }
            },
            "preview": {
                "type": "object",
                "additionalProperties": false,
                "description": "Makes this a preview stack: one workspace pr-<n> per pull request.",
                "properties": {
                    "max_concurrent": { "type": "integer", "minimum": 1, "default": 5 },
                    "max_pins": { "type": "integer", "minimum": 1, "default": 3 },
                    "ttl": { "type": "string", "default": "72h", "description": "Lifetime after the last update, unless pinned." },
                    "max_pin": { "type": "string", "default": "48h", "description": "Longest pin (at most 48h)." },
                    "url": { "type": "string", "pattern": "^https?://", "description": "Preview address; {pr} is the pull request number." },
                    "vpc": { "enum": ["per_pr", "shared"], "default": "per_pr", "description": "Platform previews: a VPC per pull request (carved from [vpc] cidr), or the existing VPC named by [vpc] name." },
                    "idle": { "enum": ["destroy", "hibernate"], "default": "destroy", "description": "What `preview gc` does with an expired, unpinned preview of an open pull request." },
                    "orphan_grace": { "type": "string", "default": "15m", "description": "How long `preview gc` leaves a record without a workspace alone (a `preview up` writes its record before it creates the workspace)." },
                    "kind": { "enum": ["platform", "namespace"], "default": "platform", "description": "platform: the stack's modules in workspace pr-<n>; namespace: an overlay per pull request in [gitops.apps]'s repository." }
                }
            },
            "encryption": {
                "type": "object",
                "additionalProperties": false,
                "description": "State and saved plans are encrypted by default: with the transit key <path_prefix>-<stack> when the stack has [vault], else with a passphrase from $WILDSIDE_STATE_PASSPHRASE.",
                "properties": {
                    "enabled": { "type": "boolean", "default": true, "description": "false stores state unencrypted (doctor and every summary say so)." },
                    "key": { "enum": ["transit", "passphrase"], "description": "Where the key comes from; default transit with [vault], else passphrase. A stack whose [vault] is the appliance it creates keeps its key outside it: passphrase." },
                    "transit_mount": { "type": "string", "default": "transit", "description": "With [vault]: the transit engine's mount." }
                }
            },
            "outputs_to_vault": {
                "type": "object",
                "description": "Stack output = path under <path_prefix>/<stack>/<workspace>/.",
                "additionalProperties": { "type": "string" }
            },
            "policy": policy(),
            "gitops": gitops(),
            "budget": {
                "type": "object",
                "additionalProperties": false,
                "required": ["monthly_usd"],
                "description": "A plan whose monthly estimate exceeds this fails, naming the resources that drive the cost.",
                "properties": { "monthly_usd": { "type": "number", "exclusiveMinimum": 0 } }
            }
        }
    })
}

fn chart() -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "properties": { "chart_version": { "type": "string", "description": "The chart's exact version." } }
    })
}

fn gitops() -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["repository", "domain"],
        "description": "The platform repository Flux reconciles the cluster from, and the pinned services rendered into it.",
        "properties": {
            "repository": string("The platform repository: a URL, or a path from the project root."),
            "source_url": string("The http, https or ssh URL Flux clones the platform repository from (default: `repository`, when it is such a URL)."),
            "branch": { "type": "string", "default": "main" },
            "cluster_path": string("The directory Flux watches; default clusters/<stack>."),
            "domain": string("The domain hostnames and certificates are under."),
            "flux_version": { "type": "string", "description": "The exact Flux version bootstrap installs." },
            "flux_url": { "type": "string", "pattern": "^https://", "description": "Where Flux's install manifest is read from." },
            "traefik": chart(),
            "cert_manager": {
                "type": "object",
                "additionalProperties": false,
                "required": ["acme_email"],
                "properties": {
                    "chart_version": string("The chart's exact version."),
                    "acme_email": string("The ACME account's email."),
                    "acme_server": { "type": "string", "pattern": "^https://", "description": "Default: Let's Encrypt production." }
                }
            },
            "external_dns": {
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "chart_version": string("The chart's exact version."),
                    "dns_provider": { "enum": ["cloudflare", "digitalocean"], "default": "digitalocean" }
                }
            },
            "vault": {
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "chart_version": string("External Secrets' chart's exact version."),
                    "address": { "type": "string", "pattern": "^https://", "description": "The Vault External Secrets reads." },
                    "address_output": string("The stack output holding the Vault address (instead of address)."),
                    "ca_cert": string("A PEM file with Vault's CA."),
                    "ca_output": string("The stack output holding Vault's CA (instead of ca_cert)."),
                    "mount": { "type": "string", "default": "secret" },
                    "role": { "type": "string", "default": "external-secrets" }
                }
            },
            "cloudnative_pg": chart(),
            "redis": chart(),
            "apps": {
                "type": "object",
                "additionalProperties": false,
                "required": ["repository", "project", "image"],
                "description": "The application repository namespace previews write overlays to.",
                "properties": {
                    "repository": string("A URL, or a path from the project root."),
                    "source_url": string("The http, https or ssh URL Flux clones the application repository from (default: `repository`, when it is such a URL)."),
                    "branch": { "type": "string", "default": "main" },
                    "project": string("The project id: namespaces are <project>-pr-<n>."),
                    "image": string("The image repository; each preview's tag is its commit."),
                    "chart_version": string("The application chart's exact version."),
                    "databases": { "type": "array", "items": { "enum": ["postgres", "redis"] } },
                    "postgres": { "enum": ["per_pr", "shared"], "default": "per_pr" },
                    "ingress_namespace": { "type": "string", "default": "traefik" }
                }
            }
        }
    })
}

fn policy() -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "description": "How the built-in policy rules judge this stack.",
        "properties": {
            "production": boolean("Production stacks need a highly available control plane (default false)."),
            "disable": { "type": "array", "items": { "enum": crate::stack::BUILTIN_RULES }, "description": "Built-in rules switched off." },
            "required_tags": { "type": "array", "items": { "type": "string" }, "description": "Tags every taggable resource carries." },
            "max_node_count": { "type": "integer", "minimum": 1, "default": 20 },
            "max_size_vcpus": { "type": "integer", "minimum": 1, "default": 16 },
            "exceptions": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["rule", "address", "reason", "expires"],
                    "properties": {
                        "rule": string("A built-in rule, or a project policy's package."),
                        "address": string("The resource address in the plan."),
                        "reason": string("Why the resource may break the rule."),
                        "expires": { "type": "string", "format": "date", "description": "YYYY-MM-DD: the last day it holds." }
                    }
                }
            }
        }
    })
}

fn backend() -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "description": "Where state is kept; credentials always come from the environment.",
        "properties": {
            "type": { "enum": ["local", "s3", "pg"], "default": "local" },
            "path": string("local: state directory, relative to the project."),
            "bucket": string("s3: bucket (required)."),
            "key": string("s3: state key (default <stack>/terraform.tfstate)."),
            "region": string("s3: region (default us-east-1)."),
            "endpoint": { "type": "string", "pattern": "^https?://", "description": "s3: endpoint of an S3-compatible service such as DigitalOcean Spaces." },
            "workspace_key_prefix": string("s3: prefix of non-default workspaces (default workspaces)."),
            "use_lockfile": boolean("s3: lock with a lock file in the bucket (default true)."),
            "use_path_style": boolean("s3: path-style addressing (default false)."),
            "conn_str_env": string("pg: environment variable holding the connection string (default PG_CONN_STR)."),
            "schema": string("pg: schema (default: the stack name).")
        }
    })
}

fn vault() -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["address"],
        "properties": {
            "address": { "type": "string", "pattern": "^https?://", "description": "Vault or OpenBao address." },
            "ca_cert": string("CA bundle, relative to the project."),
            "namespace": string("Vault Enterprise namespace."),
            "mount": string("KV version 2 mount (default secret)."),
            "path_prefix": string("Prefix of output paths (default wildside)."),
            "auth": { "enum": ["token", "approle"], "default": "token" },
            "token_env": string("token: environment variable with the token (default VAULT_TOKEN)."),
            "approle_mount": string("approle: auth mount (default approle)."),
            "role_id_env": string("approle: environment variable with the role id (default VAULT_ROLE_ID)."),
            "role_id_file": string("approle: file with the role id."),
            "secret_id_env": string("approle: environment variable with the secret id (default VAULT_SECRET_ID)."),
            "secret_id_file": string("approle: file with the secret id."),
            "pull_request_plans": boolean("Pull-request plans may plan this stack (the plan role decrypts its state); default: true unless [policy] production = true.")
        }
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use super::stack_schema;
    use crate::stack::parse_stack;

    const MODULE: &str = "[[modules]]\nname = \"m\"\nsource = \"./m\"\n";

    /// The keys the loader accepts in a table, read from its "unknown field" error.
    fn accepted_keys(text: &str) -> BTreeSet<String> {
        let error = parse_stack(Path::new("stacks/s.toml"), text, &[]).unwrap_err();
        let (_, expected) = error
            .message
            .split_once("expected")
            .expect("an unknown-field error");
        expected
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    }

    fn schema_keys(pointer: &str) -> BTreeSet<String> {
        stack_schema()
            .pointer(pointer)
            .unwrap()
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    }

    #[test]
    fn the_schema_has_exactly_the_keys_the_loader_accepts() {
        assert_eq!(
            accepted_keys(&format!("bogus = 1\n{MODULE}")),
            schema_keys("/properties")
        );
        assert_eq!(
            accepted_keys(&format!("[backend]\nbogus = 1\n{MODULE}")),
            schema_keys("/properties/backend/properties")
        );
        assert_eq!(
            accepted_keys(&format!("{MODULE}bogus = 1\n")),
            schema_keys("/properties/modules/items/properties")
        );
        assert_eq!(
            accepted_keys(&format!(
                "{MODULE}[[outputs]]\nname = \"o\"\nfrom = \"m.o\"\nbogus = 1\n"
            )),
            schema_keys("/properties/outputs/items/properties")
        );
        assert_eq!(
            accepted_keys(&format!(
                "[vault]\naddress = \"http://v\"\nbogus = 1\n{MODULE}"
            )),
            schema_keys("/properties/vault/properties")
        );
        assert_eq!(
            accepted_keys(&format!(
                "[secrets]\ns = {{ path = \"p\", key = \"k\", bogus = 1 }}\n{MODULE}"
            )),
            schema_keys("/properties/secrets/additionalProperties/properties")
        );
        let vault = "[vault]\naddress = \"http://v\"\n";
        let digitalocean = "[digitalocean]\nregion = \"nyc3\"\n";
        for table in ["vpc", "cluster", "vault_appliance"] {
            let text = format!("{digitalocean}[{table}]\nbogus = 1\n");
            assert_eq!(
                accepted_keys(&text),
                schema_keys(&format!("/properties/{table}/properties")),
                "{table}"
            );
        }
        assert_eq!(
            accepted_keys(&format!("{digitalocean}bogus = 1\n")),
            schema_keys("/properties/digitalocean/properties")
        );
        assert_eq!(
            accepted_keys(&format!(
                "{digitalocean}[[node_pools]]\nname = \"a\"\nbogus = 1\n"
            )),
            schema_keys("/properties/node_pools/items/properties")
        );
        assert_eq!(
            accepted_keys(&format!("{vault}[preview]\nbogus = 1\n{MODULE}")),
            schema_keys("/properties/preview/properties")
        );
        assert_eq!(
            accepted_keys(&format!("[policy]\nbogus = 1\n{MODULE}")),
            schema_keys("/properties/policy/properties")
        );
        assert_eq!(
            accepted_keys(&format!(
                "[[policy.exceptions]]\nrule = \"r\"\naddress = \"a\"\nreason = \"x\"\nexpires = \"2030-01-01\"\nbogus = 1\n{MODULE}"
            )),
            schema_keys("/properties/policy/properties/exceptions/items/properties")
        );
        let gitops = "[gitops]\nrepository = \"r\"\ndomain = \"example.com\"\n";
        assert_eq!(
            accepted_keys(&format!("{gitops}bogus = 1\n{MODULE}")),
            schema_keys("/properties/gitops/properties")
        );
        for table in ["traefik", "cert_manager", "external_dns", "vault", "apps"] {
            assert_eq!(
                accepted_keys(&format!("{gitops}[gitops.{table}]\nbogus = 1\n{MODULE}")),
                schema_keys(&format!("/properties/gitops/properties/{table}/properties")),
                "{table}"
            );
        }
        assert_eq!(
            accepted_keys(&format!("[budget]\nmonthly_usd = 1.0\nbogus = 1\n{MODULE}")),
            schema_keys("/properties/budget/properties")
        );
    }
}
