//! A pull request's overlay in the application repository, `overlays/ephemeral/pr-<n>/`: its own namespace
//! (restricted pods, default-deny ingress but from the ingress controller, a quota that grows with each
//! database), the application's release patched to the pull request's hostname and image, and its databases
//! with credentials delivered from Vault. The index `overlays/ephemeral/kustomization.yaml` lists every
//! pull request's directory, so Flux builds them all from one path and prunes what goes.

use std::collections::BTreeMap;
use std::path::Path;

use jiff::Timestamp;
use serde_json::json;

use super::error::GitopsError;
use super::objects::{
    ChartSpec, ChartTemplate, HelmRelease, InitDb, JsonPatch, KustomizeConfig, KustomizeLabels,
    KustomizePatch, LabelSelector, LimitRange, LimitRangeItem, LocalReference, Mebibytes, Metadata,
    Millicores, NetworkPolicy, NetworkPolicyIngress, NetworkPolicyPeer, Object, PatchOp,
    PatchTarget, PostgresBootstrap, PostgresCluster, PostgresDatabase, PostgresStorage, Quantities,
    ResourceQuota, Resources, SecretTemplate, SourceReference, Spec, namespace,
};
use super::platform::{
    DATABASES_NAMESPACE, FLUX_NAMESPACE, POSTGIS_IMAGE, SHARED_POSTGRES, external_secret,
    postgis_extensions,
};
use super::tree::{Documents, Tree};
use crate::stack::{AppsSettings, PostgresPlacement, PreviewDatabase};

/// The directory every pull request's overlay is in.
pub const EPHEMERAL: &str = "overlays/ephemeral";

/// What a preview namespace may use with no database: the application alone.
pub const BASE_QUOTA: Quantities = Quantities {
    cpu: Millicores(300),
    memory: Mebibytes(512),
};

/// The name of a preview namespace's ResourceQuota and LimitRange.
pub const QUOTA: &str = "preview";

/// A pull request's preview, as its overlay is rendered.
#[derive(Debug, Clone)]
pub struct PreviewOverlay<'a> {
    pub apps: &'a AppsSettings,
    pub domain: &'a str,
    pub pr: u64,
    pub sha: &'a str,
    pub expires: Timestamp,
    /// Where in Vault's KV mount the preview's credentials are (`<path>/postgres`, `<path>/redis`).
    pub vault_path: String,
    /// The Redis chart's version, the platform's.
    pub redis_chart: &'a str,
}

impl PreviewOverlay<'_> {
    pub fn namespace(&self) -> String {
        namespace_of(&self.apps.project, self.pr)
    }

    pub fn hostname(&self) -> String {
        format!("{}.{}", self.namespace(), self.domain)
    }

    pub fn directory(&self) -> String {
        overlay_directory(self.pr)
    }
}

pub fn namespace_of(project: &str, pr: u64) -> String {
    format!("{project}-pr-{pr}")
}

pub fn overlay_directory(pr: u64) -> String {
    format!("{EPHEMERAL}/pr-{pr}")
}

/// What each database adds to the namespace's quota.
pub fn database_share(database: PreviewDatabase) -> Quantities {
    match database {
        PreviewDatabase::Postgres => Quantities {
            cpu: Millicores(250),
            memory: Mebibytes(512),
        },
        PreviewDatabase::Redis => Quantities {
            cpu: Millicores(100),
            memory: Mebibytes(256),
        },
    }
}

/// The namespace's requests: the base plus each enabled database's share.
pub fn quota_of(databases: &[PreviewDatabase]) -> Quantities {
    databases
        .iter()
        .map(|database| database_share(*database))
        .fold(BASE_QUOTA, |total, share| Quantities {
            cpu: Millicores(total.cpu.0 + share.cpu.0),
            memory: Mebibytes(total.memory.0 + share.memory.0),
        })
}

/// Limits are twice the requests.
fn doubled(quantities: Quantities) -> Quantities {
    Quantities {
        cpu: Millicores(quantities.cpu.0 * 2),
        memory: Mebibytes(quantities.memory.0 * 2),
    }
}

/// The label value of a time: `20261206T061900Z` (label values have no `:`).
pub fn label_time(time: Timestamp) -> String {
    time.strftime("%Y%m%dT%H%M%SZ").to_string()
}

/// The tree of one pull request's overlay; it owns the overlay's directory.
pub fn render_overlay(preview: &PreviewOverlay<'_>) -> Result<Tree, GitopsError> {
    render_overlay_in(preview, &preview.directory(), "../../../base")
}

/// The pull request's overlay written into `directory`, patching the application's base found at `base`
/// (relative to `directory`): a cluster preview carries it in the platform repository.
pub fn render_overlay_in(
    preview: &PreviewOverlay<'_>,
    directory: &str,
    base: &str,
) -> Result<Tree, GitopsError> {
    let directory = directory.to_string();
    let namespace_name = preview.namespace();
    let mut tree = Tree::owning([directory.clone()]);
    let put = |tree: &mut Tree, file: &str, documents: Documents| {
        tree.put(&format!("{directory}/{file}"), documents);
    };
    let pod_security = BTreeMap::from([
        (
            "pod-security.kubernetes.io/enforce".to_string(),
            "restricted".to_string(),
        ),
        (
            "pod-security.kubernetes.io/enforce-version".to_string(),
            "latest".to_string(),
        ),
    ]);
    put(
        &mut tree,
        "namespace.yaml",
        Documents::default().push(&namespace(&namespace_name, pod_security))?,
    );
    let requests = quota_of(&preview.apps.databases);
    let limits = doubled(requests);
    let quota = Object {
        api_version: "v1",
        kind: "ResourceQuota",
        metadata: Metadata::namespaced(QUOTA, &namespace_name),
        body: Spec {
            spec: ResourceQuota {
                hard: BTreeMap::from([
                    ("requests.cpu", requests.cpu.to_string()),
                    ("requests.memory", requests.memory.to_string()),
                    ("limits.cpu", limits.cpu.to_string()),
                    ("limits.memory", limits.memory.to_string()),
                    ("pods", (4 + 2 * preview.apps.databases.len()).to_string()),
                ]),
            },
        },
    };
    let limit_range = Object {
        api_version: "v1",
        kind: "LimitRange",
        metadata: Metadata::namespaced(QUOTA, &namespace_name),
        body: Spec {
            spec: LimitRange {
                limits: vec![LimitRangeItem {
                    kind: "Container",
                    default: Quantities {
                        cpu: Millicores(200),
                        memory: Mebibytes(256),
                    },
                    default_request: Quantities {
                        cpu: Millicores(100),
                        memory: Mebibytes(128),
                    },
                    max: limits,
                }],
            },
        },
    };
    put(
        &mut tree,
        "quota.yaml",
        Documents::default().push(&quota)?.push(&limit_range)?,
    );
    put(
        &mut tree,
        "network-policy.yaml",
        network_policies(&namespace_name, &preview.apps.ingress_namespace)?,
    );
    let mut resources = vec![
        "namespace.yaml".to_string(),
        "quota.yaml".to_string(),
        "network-policy.yaml".to_string(),
    ];
    let mut values = BTreeMap::new();
    for database in &preview.apps.databases {
        let (file, documents, connection) = match database {
            PreviewDatabase::Postgres => postgres(preview, &namespace_name)?,
            PreviewDatabase::Redis => redis(preview, &namespace_name)?,
        };
        put(&mut tree, file, documents);
        resources.push(file.to_string());
        values.insert(connection.0, connection.1);
    }
    resources.push(base.to_string());
    let host = preview.hostname();
    let mut operations = vec![
        JsonPatch {
            op: PatchOp::Replace,
            path: "/metadata/namespace".to_string(),
            value: json!(namespace_name),
        },
        JsonPatch {
            op: PatchOp::Add,
            path: "/spec/values/image".to_string(),
            value: json!({ "repository": preview.apps.image, "tag": preview.sha }),
        },
        JsonPatch {
            op: PatchOp::Add,
            path: "/spec/values/ingress".to_string(),
            value: json!({
                "enabled": true,
                "className": "traefik",
                "hostname": host,
                "annotations": { "cert-manager.io/cluster-issuer": "letsencrypt" },
                "tls": [{ "hosts": [host], "secretName": format!("{namespace_name}-tls") }],
            }),
        },
    ];
    for (key, value) in values {
        operations.push(JsonPatch {
            op: PatchOp::Add,
            path: format!("/spec/values/{key}"),
            value,
        });
    }
    put(
        &mut tree,
        "patch-release.yaml",
        Documents::default().push(&operations)?,
    );
    let mut kustomization = KustomizeConfig::of(resources);
    kustomization.patches.push(KustomizePatch {
        path: "patch-release.yaml".to_string(),
        target: PatchTarget {
            group: "helm.toolkit.fluxcd.io".to_string(),
            kind: "HelmRelease".to_string(),
            name: preview.apps.project.clone(),
        },
    });
    kustomization.labels.push(KustomizeLabels {
        pairs: BTreeMap::from([
            ("pr".to_string(), preview.pr.to_string()),
            ("expires".to_string(), label_time(preview.expires)),
            (
                "app.kubernetes.io/managed-by".to_string(),
                "wildside-tofu".to_string(),
            ),
        ]),
        include_selectors: false,
    });
    put(
        &mut tree,
        "kustomization.yaml",
        Documents::default().push(&kustomization)?,
    );
    Ok(tree)
}

fn network_policies(namespace: &str, ingress_namespace: &str) -> Result<Documents, GitopsError> {
    let policy = |name: &str, from: Vec<NetworkPolicyPeer>| Object {
        api_version: "networking.k8s.io/v1",
        kind: "NetworkPolicy",
        metadata: Metadata::namespaced(name, namespace),
        body: Spec {
            spec: NetworkPolicy {
                pod_selector: LabelSelector::default(),
                policy_types: vec!["Ingress"],
                ingress: if from.is_empty() {
                    Vec::new()
                } else {
                    vec![NetworkPolicyIngress { from }]
                },
            },
        },
    };
    Documents::default()
        .push(&policy("default-deny-ingress", Vec::new()))?
        .push(&policy(
            "allow-ingress-controller",
            vec![NetworkPolicyPeer {
                namespace_selector: Some(LabelSelector {
                    match_labels: BTreeMap::from([(
                        "kubernetes.io/metadata.name".to_string(),
                        ingress_namespace.to_string(),
                    )]),
                }),
                pod_selector: None,
            }],
        ))?
        .push(&policy(
            "allow-same-namespace",
            vec![NetworkPolicyPeer {
                namespace_selector: None,
                pod_selector: Some(LabelSelector::default()),
            }],
        ))
}

/// A database name and role: the project and pull request, with `_` (PostgreSQL identifiers).
pub fn database_name(project: &str, pr: u64) -> String {
    format!("{}_pr_{pr}", project.replace('-', "_"))
}

type Rendered = (&'static str, Documents, (String, serde_json::Value));

fn postgres(preview: &PreviewOverlay<'_>, namespace: &str) -> Result<Rendered, GitopsError> {
    let name = database_name(&preview.apps.project, preview.pr);
    let vault_key = format!("{}/postgres", preview.vault_path);
    let credentials = external_secret(
        "postgres-credentials",
        namespace,
        Some(SecretTemplate {
            kind: "kubernetes.io/basic-auth",
        }),
        vec![
            ("username", &vault_key, "username"),
            ("password", &vault_key, "password"),
        ],
    );
    let mut documents = Documents::default().push(&credentials)?;
    let host = match preview.apps.postgres {
        PostgresPlacement::PerPullRequest => {
            let share = database_share(PreviewDatabase::Postgres);
            let cluster = Object {
                api_version: "postgresql.cnpg.io/v1",
                kind: "Cluster",
                metadata: Metadata::namespaced("postgres", namespace),
                body: Spec {
                    spec: PostgresCluster {
                        instances: 1,
                        image_name: POSTGIS_IMAGE,
                        storage: PostgresStorage {
                            size: "1Gi".to_string(),
                        },
                        resources: Some(Resources {
                            requests: share,
                            limits: doubled(share),
                        }),
                        bootstrap: PostgresBootstrap {
                            initdb: InitDb {
                                database: name.clone(),
                                owner: name.clone(),
                                secret: Some(LocalReference {
                                    name: "postgres-credentials".to_string(),
                                }),
                                post_init_template_sql: postgis_extensions(),
                            },
                        },
                    },
                },
            };
            documents = documents.push(&cluster)?;
            format!("postgres-rw.{namespace}.svc.cluster.local")
        }
        PostgresPlacement::Shared => {
            let database = Object {
                api_version: "postgresql.cnpg.io/v1",
                kind: "Database",
                metadata: Metadata::namespaced(namespace, DATABASES_NAMESPACE),
                body: Spec {
                    spec: PostgresDatabase {
                        name: name.clone(),
                        owner: name.clone(),
                        cluster: LocalReference {
                            name: SHARED_POSTGRES.to_string(),
                        },
                    },
                },
            };
            documents = documents.push(&database)?;
            format!("{SHARED_POSTGRES}-rw.{DATABASES_NAMESPACE}.svc.cluster.local")
        }
    };
    Ok((
        "postgres.yaml",
        documents,
        (
            "database".to_string(),
            json!({ "host": host, "name": name, "existingSecret": "postgres-credentials" }),
        ),
    ))
}

fn redis(preview: &PreviewOverlay<'_>, namespace: &str) -> Result<Rendered, GitopsError> {
    let vault_key = format!("{}/redis", preview.vault_path);
    let password = external_secret(
        "redis-password",
        namespace,
        None,
        vec![("password", &vault_key, "password")],
    );
    let share = database_share(PreviewDatabase::Redis);
    let release = Object {
        api_version: "helm.toolkit.fluxcd.io/v2",
        kind: "HelmRelease",
        metadata: Metadata::namespaced("redis", namespace),
        body: Spec {
            spec: HelmRelease {
                interval: "30m",
                chart: ChartTemplate {
                    spec: ChartSpec {
                        chart: "redis".to_string(),
                        version: preview.redis_chart.to_string(),
                        source_ref: SourceReference {
                            kind: "HelmRepository",
                            name: "bitnami".to_string(),
                            namespace: Some(FLUX_NAMESPACE.to_string()),
                        },
                    },
                },
                install: None,
                values: json!({
                    "architecture": "standalone",
                    "auth": { "enabled": true, "existingSecret": "redis-password", "existingSecretPasswordKey": "password" },
                    "master": {
                        "persistence": { "enabled": false },
                        "resources": { "requests": share, "limits": doubled(share) },
                    },
                }),
            },
        },
    };
    Ok((
        "redis.yaml",
        Documents::default().push(&password)?.push(&release)?,
        (
            "redis".to_string(),
            json!({ "host": format!("redis-master.{namespace}.svc.cluster.local"), "existingSecret": "redis-password" }),
        ),
    ))
}

/// `base/`: the application's canonical release, which each overlay patches. Written only where the
/// repository has none, so an application team's own base is never replaced.
pub fn render_base(apps: &AppsSettings) -> Result<Tree, GitopsError> {
    render_base_in(apps, "base")
}

/// The application's base written into `directory`.
pub fn render_base_in(apps: &AppsSettings, directory: &str) -> Result<Tree, GitopsError> {
    let mut tree = Tree::owning([]);
    let release: Object<Spec<HelmRelease>> = Object {
        api_version: "helm.toolkit.fluxcd.io/v2",
        kind: "HelmRelease",
        metadata: Metadata::namespaced(&apps.project, &apps.project),
        body: Spec {
            spec: HelmRelease {
                interval: "5m",
                chart: ChartTemplate {
                    spec: ChartSpec {
                        chart: apps.project.clone(),
                        version: apps.chart.version.clone(),
                        source_ref: SourceReference {
                            kind: "HelmRepository",
                            name: format!("{}-charts", apps.project),
                            namespace: Some(FLUX_NAMESPACE.to_string()),
                        },
                    },
                },
                install: None,
                values: release_values_base(&apps.image),
            },
        },
    };
    tree.put_one(&format!("{directory}/helmrelease.yaml"), &release)?;
    tree.put_one(
        &format!("{directory}/kustomization.yaml"),
        &KustomizeConfig::of(vec!["helmrelease.yaml".to_string()]),
    )?;
    Ok(tree)
}

/// `overlays/ephemeral/kustomization.yaml`, listing the pull requests' directories that exist under `root`.
pub fn render_index(root: &Path) -> Result<Tree, GitopsError> {
    let mut prs: Vec<u64> = match std::fs::read_dir(root.join(EPHEMERAL)) {
        Ok(entries) => entries
            .flatten()
            .filter(|entry| entry.path().join("kustomization.yaml").is_file())
            .filter_map(|entry| {
                entry
                    .file_name()
                    .to_str()
                    .and_then(|name| name.strip_prefix("pr-"))
                    .and_then(|number| number.parse().ok())
            })
            .collect(),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(source) => {
            return Err(GitopsError::Io {
                what: "listing",
                path: root.join(EPHEMERAL),
                source,
            });
        }
    };
    prs.sort_unstable();
    let mut tree = Tree::owning([]);
    tree.put_one(
        &format!("{EPHEMERAL}/kustomization.yaml"),
        &KustomizeConfig::of(prs.iter().map(|pr| format!("pr-{pr}")).collect()),
    )?;
    Ok(tree)
}

/// The base release's values: the keys each overlay's patch sets are there to be set.
fn release_values_base(image: &str) -> serde_json::Value {
    json!({
        "replicaCount": 1,
        "image": { "repository": image, "tag": "latest" },
        "ingress": { "enabled": false, "className": "traefik" },
        "resources": {
            "requests": { "cpu": "200m", "memory": "256Mi" },
            "limits": { "cpu": "400m", "memory": "512Mi" },
        },
    })
}
