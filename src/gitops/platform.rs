//! The platform repository's tree: `clusters/<env>/` (the Flux Kustomizations that reconcile each platform
//! directory, in order) and `platform/` (sources, Traefik, cert-manager, ExternalDNS, External Secrets with the
//! Vault store, CloudNativePG and Redis), every chart at its pinned version.

use std::collections::BTreeMap;

use base64::Engine;
use serde_json::json;

use super::error::GitopsError;
use super::objects::{
    AcmeSolver, ChartSpec, ChartTemplate, CloudflareSolver, ClusterIssuer, DigitaloceanSolver,
    Dns01, ExternalSecret, FluxKustomization, GitReference, GitRepository, HelmInstall,
    HelmRelease, HelmRepository, InitDb, KubernetesAuth, KustomizeConfig, LocalReference, Metadata,
    NamespacedReference, Object, PostgresBootstrap, PostgresCluster, PostgresStorage,
    RemoteReference, SecretData, SecretKeyReference, SecretStore, SecretStoreProvider,
    SecretTarget, SourceReference, Spec, StoreReference, VaultProvider, VaultProviderAuth,
    namespace,
};
use super::overlay::{PreviewOverlay, render_base_in, render_overlay_in};
use super::tree::{Documents, Tree};
use crate::stack::{DnsProvider, GitopsSettings};

/// The namespace Flux runs in, and its sources live in.
pub const FLUX_NAMESPACE: &str = "flux-system";
/// The `GitRepository` of the platform repository that `gitops bootstrap` creates.
pub const PLATFORM_SOURCE: &str = "flux-system";
/// The `ClusterSecretStore` every `ExternalSecret` reads through.
pub const SECRET_STORE: &str = "vault-backend";
/// The `GitRepository` of the application repository.
pub const APPS_SOURCE: &str = "apps";
/// The Secret holding the application repository's credential.
pub const APPS_CREDENTIALS: &str = "apps-credentials";
/// The shared PostgreSQL cluster and its namespace.
pub(super) const SHARED_POSTGRES: &str = "platform-postgres";
pub(super) const DATABASES_NAMESPACE: &str = "databases";
/// The PostGIS image CloudNativePG clusters run.
pub(super) const POSTGIS_IMAGE: &str = "ghcr.io/cloudnative-pg/postgis:16-3.4";

/// What the stack's outputs say about the platform, read when rendering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformInputs {
    pub stack: String,
    /// The DOKS cluster the tree is for.
    pub cluster_name: String,
    pub vault_address: String,
    /// Vault's CA certificate, PEM.
    pub vault_ca: Option<String>,
}

/// A platform directory and the platform directories that must be ready before it.
struct Component {
    directory: &'static str,
    depends_on: &'static [&'static str],
}

const COMPONENTS: [Component; 7] = [
    Component {
        directory: "sources",
        depends_on: &[],
    },
    Component {
        directory: "vault",
        depends_on: &["sources"],
    },
    Component {
        directory: "traefik",
        depends_on: &["sources"],
    },
    Component {
        directory: "cert-manager",
        depends_on: &["sources", "vault"],
    },
    Component {
        directory: "external-dns",
        depends_on: &["sources", "vault"],
    },
    Component {
        directory: "databases",
        depends_on: &["sources", "vault"],
    },
    Component {
        directory: "redis",
        depends_on: &["sources", "vault", "databases"],
    },
];

/// Renders the platform repository's tree for `settings`.
pub fn render_platform(
    settings: &GitopsSettings,
    inputs: &PlatformInputs,
) -> Result<Tree, GitopsError> {
    let mut tree = Tree::owning([settings.cluster_path.clone(), "platform".to_string()]);
    cluster_directory(&mut tree, settings, inputs)?;
    sources(&mut tree, settings)?;
    vault(&mut tree, settings, inputs)?;
    traefik(&mut tree, settings)?;
    cert_manager(&mut tree, settings)?;
    external_dns(&mut tree, settings)?;
    databases(&mut tree, settings)?;
    redis(&mut tree, settings)?;
    Ok(tree)
}

fn kustomization_name(directory: &str) -> String {
    format!("platform-{directory}")
}

fn cluster_directory(
    tree: &mut Tree,
    settings: &GitopsSettings,
    inputs: &PlatformInputs,
) -> Result<(), GitopsError> {
    let base = &settings.cluster_path;
    tree.put(&format!("{base}/platform.yaml"), platform_kustomizations()?);
    let mut resources = vec!["platform.yaml".to_string()];
    if settings.apps.is_some() {
        let previews = Object {
            api_version: "kustomize.toolkit.fluxcd.io/v1",
            kind: "Kustomization",
            metadata: Metadata::namespaced("apps-previews", FLUX_NAMESPACE),
            body: Spec {
                spec: FluxKustomization {
                    interval: "1m",
                    path: "./overlays/ephemeral".to_string(),
                    prune: true,
                    source_ref: SourceReference {
                        kind: "GitRepository",
                        name: APPS_SOURCE.to_string(),
                        namespace: None,
                    },
                    depends_on: app_dependencies(),
                },
            },
        };
        tree.put_one(&format!("{base}/apps.yaml"), &previews)?;
        resources.push("apps.yaml".to_string());
    }
    tree.put_one(
        &format!("{base}/cluster.yaml"),
        &cluster_config(settings, inputs, settings.environment()),
    )?;
    resources.push("cluster.yaml".to_string());
    tree.put_one(
        &format!("{base}/kustomization.yaml"),
        &KustomizeConfig::of(resources),
    )
}

/// One Flux Kustomization per platform directory, each waiting for the directories it depends on.
fn platform_kustomizations() -> Result<Documents, GitopsError> {
    let mut documents = Documents::default();
    for component in &COMPONENTS {
        documents = documents.push(&Object {
            api_version: "kustomize.toolkit.fluxcd.io/v1",
            kind: "Kustomization",
            metadata: Metadata::namespaced(
                &kustomization_name(component.directory),
                FLUX_NAMESPACE,
            ),
            body: Spec {
                spec: FluxKustomization {
                    interval: "10m",
                    path: format!("./platform/{}", component.directory),
                    prune: true,
                    source_ref: SourceReference {
                        kind: "GitRepository",
                        name: PLATFORM_SOURCE.to_string(),
                        namespace: None,
                    },
                    depends_on: component
                        .depends_on
                        .iter()
                        .map(|directory| LocalReference {
                            name: kustomization_name(directory),
                        })
                        .collect(),
                },
            },
        })?;
    }
    Ok(documents)
}

/// The platform directory an application waits for: the databases (the operator its own cluster needs, or the
/// shared cluster its database is in).
fn app_dependencies() -> Vec<LocalReference> {
    vec![LocalReference {
        name: kustomization_name("databases"),
    }]
}

/// What the cluster is, for the objects and people that look.
fn cluster_config(
    settings: &GitopsSettings,
    inputs: &PlatformInputs,
    environment: &str,
) -> Object<serde_json::Value> {
    Object {
        api_version: "v1",
        kind: "ConfigMap",
        metadata: Metadata::namespaced("wildside-cluster", FLUX_NAMESPACE),
        body: json!({
            "data": {
                "cluster": inputs.cluster_name,
                "environment": environment,
                "stack": inputs.stack,
                "domain": settings.domain,
            }
        }),
    }
}

/// The platform repository directory a cluster preview's Flux watches: `<cluster_path>-pr-<n>`.
pub fn preview_cluster_path(settings: &GitopsSettings, pr: u64) -> String {
    format!("{}-pr-{pr}", settings.cluster_path)
}

/// A cluster preview's directory in the platform repository: the same platform Kustomizations as the
/// stack's own cluster path, and the pull request's application overlay (with its base) under `app/`,
/// applied by a Kustomization that waits for the databases it needs. It owns the directory, so `preview
/// down` removes it whole by writing an empty tree that owns it.
pub fn render_preview_cluster(
    settings: &GitopsSettings,
    inputs: &PlatformInputs,
    overlay: &PreviewOverlay<'_>,
) -> Result<Tree, GitopsError> {
    let directory = preview_cluster_path(settings, overlay.pr);
    let mut tree = Tree::owning([directory.clone()]);
    tree.put(
        &format!("{directory}/platform.yaml"),
        platform_kustomizations()?,
    );
    let app = Object {
        api_version: "kustomize.toolkit.fluxcd.io/v1",
        kind: "Kustomization",
        metadata: Metadata::namespaced("preview-app", FLUX_NAMESPACE),
        body: Spec {
            spec: FluxKustomization {
                interval: "1m",
                path: format!("./{directory}/app"),
                prune: true,
                source_ref: SourceReference {
                    kind: "GitRepository",
                    name: PLATFORM_SOURCE.to_string(),
                    namespace: None,
                },
                depends_on: app_dependencies(),
            },
        },
    };
    tree.put_one(&format!("{directory}/app.yaml"), &app)?;
    let environment = directory.rsplit('/').next().unwrap_or(&directory);
    tree.put_one(
        &format!("{directory}/cluster.yaml"),
        &cluster_config(settings, inputs, environment),
    )?;
    tree.put_one(
        &format!("{directory}/kustomization.yaml"),
        &KustomizeConfig::of(vec![
            "platform.yaml".to_string(),
            "app.yaml".to_string(),
            "cluster.yaml".to_string(),
        ]),
    )?;
    tree.extend(render_overlay_in(
        overlay,
        &format!("{directory}/app"),
        "base",
    )?);
    tree.extend(render_base_in(
        overlay.apps,
        &format!("{directory}/app/base"),
    )?);
    Ok(tree)
}

/// The Helm repositories the platform's charts come from: (name, URL).
fn helm_repositories() -> [(&'static str, &'static str); 6] {
    [
        ("bitnami", "https://charts.bitnami.com/bitnami"),
        ("cloudnative-pg", "https://cloudnative-pg.github.io/charts"),
        (
            "external-dns",
            "https://kubernetes-sigs.github.io/external-dns",
        ),
        ("external-secrets", "https://charts.external-secrets.io"),
        ("jetstack", "https://charts.jetstack.io"),
        ("traefik", "https://traefik.github.io/charts"),
    ]
}

fn sources(tree: &mut Tree, settings: &GitopsSettings) -> Result<(), GitopsError> {
    let mut documents = Documents::default();
    for (name, url) in helm_repositories() {
        documents = documents.push(&Object {
            api_version: "source.toolkit.fluxcd.io/v1",
            kind: "HelmRepository",
            metadata: Metadata::namespaced(name, FLUX_NAMESPACE),
            body: Spec {
                spec: HelmRepository {
                    interval: "1h",
                    url: url.to_string(),
                },
            },
        })?;
    }
    tree.put("platform/sources/helm-repositories.yaml", documents);
    let mut resources = vec!["helm-repositories.yaml".to_string()];
    if let Some(apps) = &settings.apps {
        let source = Object {
            api_version: "source.toolkit.fluxcd.io/v1",
            kind: "GitRepository",
            metadata: Metadata::namespaced(APPS_SOURCE, FLUX_NAMESPACE),
            body: Spec {
                spec: GitRepository {
                    interval: "1m",
                    url: apps.source_url.clone(),
                    reference: GitReference {
                        branch: apps.branch.clone(),
                    },
                    secret_ref: needs_credential(&apps.source_url).then(|| LocalReference {
                        name: APPS_CREDENTIALS.to_string(),
                    }),
                },
            },
        };
        tree.put_one("platform/sources/git-repositories.yaml", &source)?;
        resources.push("git-repositories.yaml".to_string());
    }
    tree.put_one(
        "platform/sources/kustomization.yaml",
        &KustomizeConfig::of(resources),
    )
}

/// Whether Flux needs a username and password to clone from `source_url`: an HTTP(S) URL (an ssh URL takes a
/// key instead).
pub fn needs_credential(source_url: &str) -> bool {
    source_url.starts_with("https://") || source_url.starts_with("http://")
}

fn release(
    name: &str,
    namespace: &str,
    chart: &str,
    version: &str,
    repository: &str,
    values: serde_json::Value,
) -> Object<Spec<HelmRelease>> {
    Object {
        api_version: "helm.toolkit.fluxcd.io/v2",
        kind: "HelmRelease",
        metadata: Metadata::namespaced(name, namespace),
        body: Spec {
            spec: HelmRelease {
                interval: "30m",
                chart: ChartTemplate {
                    spec: ChartSpec {
                        chart: chart.to_string(),
                        version: version.to_string(),
                        source_ref: SourceReference {
                            kind: "HelmRepository",
                            name: repository.to_string(),
                            namespace: Some(FLUX_NAMESPACE.to_string()),
                        },
                    },
                },
                install: Some(HelmInstall {
                    crds: "CreateReplace",
                }),
                values,
            },
        },
    }
}

fn critical_addons() -> serde_json::Value {
    json!([{ "key": "CriticalAddonsOnly", "operator": "Exists", "effect": "NoSchedule" }])
}

/// A directory of a namespace, a release and more objects, with its `kustomization.yaml`.
fn component(
    tree: &mut Tree,
    directory: &str,
    namespaces: &[&str],
    files: Vec<(&str, Documents)>,
) -> Result<(), GitopsError> {
    let mut resources = Vec::new();
    if !namespaces.is_empty() {
        let mut documents = Documents::default();
        for name in namespaces {
            documents = documents.push(&namespace(name, BTreeMap::new()))?;
        }
        tree.put(&format!("platform/{directory}/namespace.yaml"), documents);
        resources.push("namespace.yaml".to_string());
    }
    for (file, documents) in files {
        tree.put(&format!("platform/{directory}/{file}"), documents);
        resources.push(file.to_string());
    }
    tree.put_one(
        &format!("platform/{directory}/kustomization.yaml"),
        &KustomizeConfig::of(resources),
    )
}

fn traefik(tree: &mut Tree, settings: &GitopsSettings) -> Result<(), GitopsError> {
    let values = json!({
        "ingressClass": { "enabled": true, "isDefaultClass": true, "name": "traefik" },
        "service": { "type": "LoadBalancer", "spec": { "externalTrafficPolicy": "Local" } },
        "ingressRoute": { "dashboard": { "enabled": false } },
        "ports": { "web": { "redirections": { "entryPoint": { "to": "websecure", "scheme": "https" } } } },
        "tolerations": critical_addons(),
    });
    let release = release(
        "traefik",
        "traefik",
        "traefik",
        &settings.traefik.version,
        "traefik",
        values,
    );
    component(
        tree,
        "traefik",
        &["traefik"],
        vec![("helmrelease.yaml", Documents::default().push(&release)?)],
    )
}

/// The Vault secret holding the DNS provider's token, and the Secret's name and key in the cluster.
const DNS_TOKEN_SECRET: &str = "dns-api-token";

fn dns_token(namespace: &str, provider: DnsProvider) -> Object<Spec<ExternalSecret>> {
    let vault_key = match provider {
        DnsProvider::Cloudflare => "platform/cloudflare",
        DnsProvider::Digitalocean => "platform/digitalocean-dns",
    };
    external_secret(
        DNS_TOKEN_SECRET,
        namespace,
        None,
        vec![("token", vault_key, "api_token")],
    )
}

/// An `ExternalSecret` making the Secret `name` in `namespace` from `(key, Vault path, property)` triples.
pub(super) fn external_secret(
    name: &str,
    namespace: &str,
    template: Option<super::objects::SecretTemplate>,
    data: Vec<(&str, &str, &str)>,
) -> Object<Spec<ExternalSecret>> {
    Object {
        api_version: "external-secrets.io/v1",
        kind: "ExternalSecret",
        metadata: Metadata::namespaced(name, namespace),
        body: Spec {
            spec: ExternalSecret {
                refresh_interval: "1h",
                secret_store_ref: StoreReference {
                    name: SECRET_STORE.to_string(),
                    kind: "ClusterSecretStore",
                },
                target: SecretTarget {
                    name: name.to_string(),
                    creation_policy: "Owner",
                    template,
                },
                data: data
                    .into_iter()
                    .map(|(key, path, property)| SecretData {
                        secret_key: key.to_string(),
                        remote_ref: RemoteReference {
                            key: path.to_string(),
                            property: property.to_string(),
                        },
                    })
                    .collect(),
            },
        },
    }
}

fn cert_manager(tree: &mut Tree, settings: &GitopsSettings) -> Result<(), GitopsError> {
    let manager = &settings.cert_manager;
    let values = json!({ "crds": { "enabled": true }, "tolerations": critical_addons() });
    let release = release(
        "cert-manager",
        "cert-manager",
        "cert-manager",
        &manager.chart.version,
        "jetstack",
        values,
    );
    let token = SecretKeyReference {
        name: DNS_TOKEN_SECRET.to_string(),
        key: "token".to_string(),
    };
    let dns01 = match settings.external_dns.provider {
        DnsProvider::Cloudflare => Dns01 {
            cloudflare: Some(CloudflareSolver {
                api_token_secret_ref: token,
            }),
            ..Dns01::default()
        },
        DnsProvider::Digitalocean => Dns01 {
            digitalocean: Some(DigitaloceanSolver {
                token_secret_ref: token,
            }),
            ..Dns01::default()
        },
    };
    let issuer = Object {
        api_version: "cert-manager.io/v1",
        kind: "ClusterIssuer",
        metadata: Metadata::cluster("letsencrypt"),
        body: Spec {
            spec: ClusterIssuer {
                acme: super::objects::Acme {
                    server: manager.acme_server.clone(),
                    email: manager.acme_email.clone(),
                    private_key_secret_ref: LocalReference {
                        name: "letsencrypt-account-key".to_string(),
                    },
                    solvers: vec![AcmeSolver { dns01 }],
                },
            },
        },
    };
    component(
        tree,
        "cert-manager",
        &["cert-manager"],
        vec![
            ("helmrelease.yaml", Documents::default().push(&release)?),
            ("cluster-issuer.yaml", Documents::default().push(&issuer)?),
            (
                "dns-token.yaml",
                Documents::default()
                    .push(&dns_token("cert-manager", settings.external_dns.provider))?,
            ),
        ],
    )
}

fn external_dns(tree: &mut Tree, settings: &GitopsSettings) -> Result<(), GitopsError> {
    let provider = match settings.external_dns.provider {
        DnsProvider::Cloudflare => ("cloudflare", "CF_API_TOKEN"),
        DnsProvider::Digitalocean => ("digitalocean", "DO_TOKEN"),
    };
    let values = json!({
        "provider": { "name": provider.0 },
        "env": [{
            "name": provider.1,
            "valueFrom": { "secretKeyRef": { "name": DNS_TOKEN_SECRET, "key": "token" } }
        }],
        "domainFilters": [settings.domain],
        "policy": "sync",
        "txtOwnerId": settings.environment(),
        "tolerations": critical_addons(),
    });
    let release = release(
        "external-dns",
        "external-dns",
        "external-dns",
        &settings.external_dns.chart.version,
        "external-dns",
        values,
    );
    component(
        tree,
        "external-dns",
        &["external-dns"],
        vec![
            ("helmrelease.yaml", Documents::default().push(&release)?),
            (
                "dns-token.yaml",
                Documents::default()
                    .push(&dns_token("external-dns", settings.external_dns.provider))?,
            ),
        ],
    )
}

fn vault(
    tree: &mut Tree,
    settings: &GitopsSettings,
    inputs: &PlatformInputs,
) -> Result<(), GitopsError> {
    let release = release(
        "external-secrets",
        "external-secrets",
        "external-secrets",
        &settings.vault.chart.version,
        "external-secrets",
        json!({ "installCRDs": true }),
    );
    let store = Object {
        api_version: "external-secrets.io/v1",
        kind: "ClusterSecretStore",
        metadata: Metadata::cluster(SECRET_STORE),
        body: Spec {
            spec: SecretStore {
                provider: SecretStoreProvider {
                    vault: VaultProvider {
                        server: inputs.vault_address.clone(),
                        path: settings.vault.mount.clone(),
                        version: "v2",
                        ca_bundle: inputs.vault_ca.as_ref().map(|pem| {
                            base64::engine::general_purpose::STANDARD.encode(pem.as_bytes())
                        }),
                        auth: VaultProviderAuth {
                            kubernetes: KubernetesAuth {
                                mount_path: "kubernetes",
                                role: settings.vault.role.clone(),
                                service_account_ref: NamespacedReference {
                                    name: "external-secrets".to_string(),
                                    namespace: "external-secrets".to_string(),
                                },
                            },
                        },
                    },
                },
            },
        },
    };
    component(
        tree,
        "vault",
        &["external-secrets"],
        vec![
            ("helmrelease.yaml", Documents::default().push(&release)?),
            (
                "cluster-secret-store.yaml",
                Documents::default().push(&store)?,
            ),
        ],
    )
}

fn databases(tree: &mut Tree, settings: &GitopsSettings) -> Result<(), GitopsError> {
    let operator = release(
        "cloudnative-pg",
        "cnpg-system",
        "cloudnative-pg",
        &settings.cloudnative_pg.version,
        "cloudnative-pg",
        serde_json::Value::Null,
    );
    let cluster = Object {
        api_version: "postgresql.cnpg.io/v1",
        kind: "Cluster",
        metadata: Metadata::namespaced(SHARED_POSTGRES, DATABASES_NAMESPACE),
        body: Spec {
            spec: PostgresCluster {
                instances: 3,
                image_name: POSTGIS_IMAGE,
                storage: PostgresStorage {
                    size: "50Gi".to_string(),
                },
                resources: None,
                bootstrap: PostgresBootstrap {
                    initdb: InitDb {
                        database: "app".to_string(),
                        owner: "app".to_string(),
                        secret: None,
                        post_init_template_sql: postgis_extensions(),
                    },
                },
            },
        },
    };
    component(
        tree,
        "databases",
        &["cnpg-system", DATABASES_NAMESPACE],
        vec![
            ("cnpg-operator.yaml", Documents::default().push(&operator)?),
            (
                "postgres-cluster.yaml",
                Documents::default().push(&cluster)?,
            ),
        ],
    )
}

/// The extensions every database of a CloudNativePG cluster gets, through `template1`.
pub(super) fn postgis_extensions() -> Vec<String> {
    vec![
        "CREATE EXTENSION IF NOT EXISTS postgis;".to_string(),
        "CREATE EXTENSION IF NOT EXISTS postgis_topology;".to_string(),
    ]
}

fn redis(tree: &mut Tree, settings: &GitopsSettings) -> Result<(), GitopsError> {
    let values = json!({
        "architecture": "replication",
        "replica": { "replicaCount": 2 },
        "auth": { "enabled": true, "existingSecret": "redis-password", "existingSecretPasswordKey": "password" },
        "master": { "persistence": { "enabled": true, "size": "10Gi" } },
    });
    let release = release(
        "redis",
        DATABASES_NAMESPACE,
        "redis",
        &settings.redis.version,
        "bitnami",
        values,
    );
    let password = external_secret(
        "redis-password",
        DATABASES_NAMESPACE,
        None,
        vec![("password", "platform/redis", "password")],
    );
    component(
        tree,
        "redis",
        &[],
        vec![
            ("helmrelease.yaml", Documents::default().push(&release)?),
            ("redis-password.yaml", Documents::default().push(&password)?),
        ],
    )
}
