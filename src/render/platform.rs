//! The platform sections rendered as calls of the project's `vpc`, `doks` and `vault_appliance` modules, with
//! the provider pins every module shares.

use std::collections::BTreeMap;
use std::path::Path;

use hcl::expr::{Traversal, Variable};
use hcl::{Block, Expression};

use super::value::{literal, text};
use crate::modules::ModuleDirs;
use crate::stack::{
    CLUSTER, InputValue, NodePool, Platform, PlatformCall, PreviewRanges, PreviewVpc, Scaling,
    Stack, VAULT_APPLIANCE, VPC,
};

/// The providers every module and every generated platform root requires: name, source, version.
pub const PROVIDER_PINS: [(&str, &str, &str); 1] =
    [("digitalocean", "digitalocean/digitalocean", "~> 2.50")];

/// Names of secrets that, when the stack declares one, become the DigitalOcean provider's token.
pub const TOKEN_SECRETS: [&str; 2] = ["do_token", "digitalocean_token"];

/// `required_providers` with the shared pins.
pub(super) fn required_providers() -> Block {
    let mut block = Block::builder("required_providers");
    for (name, source, version) in PROVIDER_PINS {
        let pin = Expression::Object(
            [("source", source), ("version", version)]
                .into_iter()
                .map(|(key, value)| {
                    (
                        hcl::ObjectKey::Identifier(hcl::Identifier::unchecked(key)),
                        Expression::from(value),
                    )
                })
                .collect(),
        );
        block = block.add_attribute((name, pin));
    }
    block.build()
}

fn reference(parts: &[&str]) -> Expression {
    let mut traversal = Traversal::builder(Variable::unchecked(parts[0]));
    for part in &parts[1..] {
        traversal = traversal.attr(*part);
    }
    Expression::from(traversal.build())
}

/// A `module` block builder for one of the platform's calls, with its name and source.
fn call(call: PlatformCall, root_dir: &Path, modules: &ModuleDirs) -> hcl::structure::BlockBuilder {
    Block::builder("module")
        .add_label(call.name)
        .add_attribute((
            "source",
            text(&super::root::project_source(
                root_dir,
                &modules.dir(call.module),
            )),
        ))
}

fn pool_value(pool: &NodePool, with_name: bool) -> InputValue {
    let (node_count, auto_scale, min, max) = match pool.scaling {
        Scaling::Fixed(count) => (count, false, count, count),
        Scaling::Autoscale { min, max } => (min.max(1), true, min, max),
    };
    let strings = |items: &[String]| {
        InputValue::List(items.iter().cloned().map(InputValue::String).collect())
    };
    let mut value = BTreeMap::from([
        ("size".to_string(), InputValue::String(pool.size.clone())),
        (
            "node_count".to_string(),
            InputValue::Integer(node_count.into()),
        ),
        ("auto_scale".to_string(), InputValue::Bool(auto_scale)),
        ("min_nodes".to_string(), InputValue::Integer(min.into())),
        ("max_nodes".to_string(), InputValue::Integer(max.into())),
        (
            "labels".to_string(),
            InputValue::Map(
                pool.labels
                    .iter()
                    .map(|(key, value)| (key.clone(), InputValue::String(value.clone())))
                    .collect(),
            ),
        ),
        (
            "taints".to_string(),
            InputValue::List(
                pool.taints
                    .iter()
                    .map(|taint| {
                        InputValue::Map(BTreeMap::from([
                            ("key".to_string(), InputValue::String(taint.key.clone())),
                            ("value".to_string(), InputValue::String(taint.value.clone())),
                            (
                                "effect".to_string(),
                                InputValue::String(taint.effect.name().to_string()),
                            ),
                        ]))
                    })
                    .collect(),
            ),
        ),
        ("tags".to_string(), strings(&pool.tags)),
    ]);
    if with_name {
        value.insert("name".into(), InputValue::String(pool.name.clone()));
    }
    InputValue::Map(value)
}

/// `format("%s-pr-%d", <base>, var.pr_number)`: a name of one pull request's preview.
fn per_pull_request(base: &str) -> Expression {
    Expression::from(
        hcl::expr::FuncCall::builder("format")
            .arg(text("%s-pr-%d"))
            .arg(text(base))
            .arg(reference(&["var", "pr_number"]))
            .build(),
    )
}

/// `cidrsubnet(<cidr>, <bits>, var.vpc_slot)`: a pull request's own part of the previews' range, the slot its
/// ledger record holds (`preview up` takes a free one), so no two open pull requests share a range.
fn pull_request_range(ranges: &PreviewRanges) -> Expression {
    Expression::from(
        hcl::expr::FuncCall::builder("cidrsubnet")
            .arg(text(&ranges.cidr))
            .arg(Expression::from(i64::from(ranges.bits)))
            .arg(reference(&["var", VPC_SLOT]))
            .build(),
    )
}

/// The root variable holding a per-pull-request preview's VPC range slot, set by `preview up`.
pub const VPC_SLOT: &str = "vpc_slot";

/// `variable "vpc_slot"`: declared by a platform preview stack with a VPC per pull request.
fn vpc_slot_variable() -> Block {
    Block::builder("variable")
        .add_label(VPC_SLOT)
        .add_attribute((
            "description",
            "The preview's part of the previews' VPC range, kept in its ledger record; set by `wildside-tofu preview up`.",
        ))
        .add_attribute(("type", Expression::from(Variable::unchecked("number"))))
        .add_attribute(("default", Expression::from(0)))
        .build()
}

/// The cluster's tags; a preview's also name its pull request and expiry (`pr:12`, `expires:2026-11-26T06:00:00Z`,
/// with any character a tag cannot hold made `-`).
fn cluster_tags(stack: &Stack, tags: &[String]) -> Expression {
    let listed = literal(&InputValue::List(
        tags.iter().cloned().map(InputValue::String).collect(),
    ));
    if stack.preview.is_none() {
        return listed;
    }
    let format = |template: &str, value: Expression| {
        Expression::from(
            hcl::expr::FuncCall::builder("format")
                .arg(text(template))
                .arg(value)
                .build(),
        )
    };
    let expiry = Expression::from(
        hcl::expr::FuncCall::builder("replace")
            .arg(reference(&["var", "expires_at"]))
            .arg(text("/[^0-9A-Za-z:_-]/"))
            .arg(text("-"))
            .build(),
    );
    Expression::from(
        hcl::expr::FuncCall::builder("concat")
            .arg(listed)
            .arg(Expression::Array(vec![
                format("pr:%d", reference(&["var", "pr_number"])),
                format("expires:%s", expiry),
            ]))
            .build(),
    )
}

/// The root variable through which `hibernate` shrinks node pools for a run, without touching the rendered files.
fn hibernation_variable() -> Block {
    let shape = hcl::expr::FuncCall::builder("object")
        .arg(Expression::Object(
            [
                ("node_count", "number"),
                ("auto_scale", "bool"),
                ("min_nodes", "number"),
                ("max_nodes", "number"),
            ]
            .into_iter()
            .map(|(key, kind)| {
                (
                    hcl::ObjectKey::Identifier(hcl::Identifier::unchecked(key)),
                    Expression::from(Variable::unchecked(kind)),
                )
            })
            .collect(),
        ))
        .build();
    Block::builder("variable")
        .add_label(crate::hibernation::VARIABLE)
        .add_attribute((
            "description",
            "Node-pool shapes while the stack is hibernated, set by `wildside-tofu hibernate`; empty when awake.",
        ))
        .add_attribute((
            "type",
            Expression::from(
                hcl::expr::FuncCall::builder("map")
                    .arg(Expression::from(shape))
                    .build(),
            ),
        ))
        .add_attribute(("default", Expression::Object(hcl::Object::new())))
        .build()
}

/// `try(var.hibernation[<key>], {})`: a pool's hibernated shape, or nothing.
fn hibernated_shape(key: Expression) -> Expression {
    let lookup = Traversal::builder(Variable::unchecked("var"))
        .attr(crate::hibernation::VARIABLE)
        .index(key)
        .build();
    Expression::from(
        hcl::expr::FuncCall::builder("try")
            .arg(Expression::from(lookup))
            .arg(Expression::Object(hcl::Object::new()))
            .build(),
    )
}

/// `merge(<pool>, try(var.hibernation[<name>], {}))`.
fn hibernated(pool: Expression, name: Expression) -> Expression {
    Expression::from(
        hcl::expr::FuncCall::builder("merge")
            .arg(pool)
            .arg(hibernated_shape(name))
            .build(),
    )
}

/// The provider block and the module calls (and project assignment) of a platform.
pub(super) fn platform_blocks(
    stack: &Stack,
    platform: &Platform,
    root_dir: &Path,
    modules: &ModuleDirs,
) -> Vec<Block> {
    let mut provider = Block::builder("provider").add_label("digitalocean");
    if let Some(secret) = stack
        .secrets
        .iter()
        .find(|secret| TOKEN_SECRETS.contains(&secret.variable.as_str()))
    {
        provider = provider.add_attribute(("token", reference(&["var", &secret.variable])));
    }
    let mut blocks = vec![hibernation_variable(), provider.build()];
    let preview_vpc = stack.preview.as_ref().map(|preview| preview.vpc);
    let vpc_id = match preview_vpc {
        Some(PreviewVpc::Shared) => {
            blocks.push(
                Block::builder("data")
                    .add_label("digitalocean_vpc")
                    .add_label("shared")
                    .add_attribute(("name", text(&platform.vpc.name)))
                    .build(),
            );
            reference(&["data", "digitalocean_vpc", "shared", "id"])
        }
        Some(PreviewVpc::PerPullRequest) => {
            let ranges = stack
                .preview_ranges()
                .expect("a platform preview stack with a VPC per pull request has preview ranges");
            blocks.push(vpc_slot_variable());
            blocks.push(
                call(VPC, root_dir, modules)
                    .add_attribute(("name", per_pull_request(&platform.vpc.name)))
                    .add_attribute(("region", text(&platform.region)))
                    .add_attribute(("ip_range", pull_request_range(&ranges)))
                    .build(),
            );
            reference(&["module", VPC.name, "id"])
        }
        None => {
            blocks.push(
                call(VPC, root_dir, modules)
                    .add_attribute(("name", text(&platform.vpc.name)))
                    .add_attribute(("region", text(&platform.region)))
                    .add_attribute(("ip_range", text(&platform.vpc.cidr)))
                    .build(),
            );
            reference(&["module", VPC.name, "id"])
        }
    };
    let cluster = &platform.cluster;
    let (default_pool, other_pools) = platform
        .node_pools
        .split_first()
        .expect("validation gives every platform a default pool");
    // The stack file's pools live in locals (readable, one attribute per line); the module gets each one merged
    // with its hibernated shape, if any.
    blocks.push(
        Block::builder("locals")
            .add_attribute((
                "default_node_pool",
                literal(&pool_value(default_pool, true)),
            ))
            .add_attribute((
                "node_pools",
                literal(&InputValue::Map(
                    other_pools
                        .iter()
                        .map(|pool| (pool.name.clone(), pool_value(pool, false)))
                        .collect(),
                )),
            ))
            .build(),
    );
    let pools = Expression::Object(
        other_pools
            .iter()
            .map(|pool| {
                let local = Traversal::builder(Variable::unchecked("local"))
                    .attr("node_pools")
                    .index(text(&pool.name))
                    .build();
                (
                    hcl::ObjectKey::Expression(text(&pool.name)),
                    hibernated(Expression::from(local), text(&pool.name)),
                )
            })
            .collect(),
    );
    blocks.push(
        call(CLUSTER, root_dir, modules)
            .add_attribute((
                "name",
                if stack.preview.is_some() {
                    per_pull_request(&cluster.name)
                } else {
                    text(&cluster.name)
                },
            ))
            .add_attribute(("region", text(&platform.region)))
            .add_attribute(("kubernetes_version", text(&cluster.version)))
            .add_attribute(("vpc_uuid", vpc_id.clone()))
            .add_attribute(("ha", cluster.ha))
            .add_attribute(("auto_upgrade", cluster.auto_upgrade))
            .add_attribute(("surge_upgrade", cluster.surge_upgrade))
            .add_attribute(("maintenance_day", text(cluster.maintenance_day.name())))
            .add_attribute((
                "maintenance_start_time",
                text(&cluster.maintenance_start_time),
            ))
            .add_attribute((
                "destroy_associated",
                cluster.destroy_all_associated_resources,
            ))
            .add_attribute(("tags", cluster_tags(stack, &cluster.tags)))
            .add_attribute((
                "api_allowed_cidrs",
                literal(&InputValue::List(
                    cluster
                        .api_allowed_cidrs
                        .iter()
                        .cloned()
                        .map(InputValue::String)
                        .collect(),
                )),
            ))
            .add_attribute((
                "default_node_pool",
                hibernated(
                    reference(&["local", "default_node_pool"]),
                    text(&default_pool.name),
                ),
            ))
            .add_attribute(("node_pools", pools))
            .build(),
    );
    if let Some(appliance) = &platform.vault_appliance {
        let strings = |items: &[String]| {
            literal(&InputValue::List(
                items.iter().cloned().map(InputValue::String).collect(),
            ))
        };
        let mut module = call(VAULT_APPLIANCE, root_dir, modules)
            .add_attribute(("name", text(&stack.name)))
            .add_attribute(("region", text(&platform.region)))
            .add_attribute(("vpc_uuid", vpc_id.clone()))
            .add_attribute(("vpc_cidr", text(&platform.vpc.cidr)))
            .add_attribute(("node_count", i64::from(appliance.count)))
            .add_attribute(("size", text(&appliance.size)))
            .add_attribute(("image", text(&appliance.image)))
            .add_attribute(("volume_size_gb", i64::from(appliance.volume_size_gb)))
            .add_attribute(("ssh_keys", strings(&appliance.ssh_keys)))
            .add_attribute(("ssh_cidrs", strings(&appliance.ssh_cidrs)))
            .add_attribute((
                "allow_ssh_from_anywhere",
                appliance.ssh_cidrs.iter().any(|cidr| cidr.ends_with("/0")),
            ))
            .add_attribute(("api_cidrs", strings(&appliance.api_cidrs)))
            .add_attribute((
                "allow_api_from_anywhere",
                appliance.api_cidrs.iter().any(|cidr| cidr.ends_with("/0")),
            ))
            .add_attribute(("tls_names", strings(&appliance.tls_names)))
            .add_attribute(("tls_ips", strings(&appliance.tls_ips)))
            .add_attribute(("api_port", i64::from(appliance.api_port)))
            .add_attribute(("cluster_port", i64::from(appliance.cluster_port)))
            .add_attribute(("distribution", text(appliance.distribution.name())));
        if let Some(sum) = &appliance.openbao_sha256 {
            module = module.add_attribute(("openbao_sha256", text(sum)));
        }
        blocks.push(module.build());
    }
    if let Some(project) = &platform.project {
        blocks.push(
            Block::builder("data")
                .add_label("digitalocean_project")
                .add_label("this")
                .add_attribute(("name", text(project)))
                .build(),
        );
        let mut urns = hcl::expr::FuncCall::builder("concat").arg(Expression::Array(vec![
            reference(&["module", CLUSTER.name, "urn"]),
        ]));
        if platform.vault_appliance.is_some() {
            urns = urns.arg(reference(&["module", VAULT_APPLIANCE.name, "urns"]));
        }
        blocks.push(
            Block::builder("resource")
                .add_label("digitalocean_project_resources")
                .add_label("this")
                .add_attribute((
                    "project",
                    reference(&["data", "digitalocean_project", "this", "id"]),
                ))
                .add_attribute(("resources", Expression::from(urns.build())))
                .build(),
        );
    }
    blocks
}
