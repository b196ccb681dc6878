//! The Kubernetes, Flux, cert-manager, External Secrets and CloudNativePG objects the repositories hold, as serde
//! types: every manifest is serialized from these, so a rendered file is always well-formed YAML with the
//! fields in one fixed order.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

/// Any API object: its type, its metadata and the rest of its body (usually a `spec`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Object<B: Serialize> {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: Metadata,
    #[serde(flatten)]
    pub body: B,
}

/// An object whose body is a `spec`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Spec<S: Serialize> {
    pub spec: S,
}

/// An object with no body beyond its metadata (a Namespace).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Bare {}

#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct Metadata {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

impl Metadata {
    pub(crate) fn cluster(name: &str) -> Self {
        Self {
            name: name.to_string(),
            ..Self::default()
        }
    }

    pub(crate) fn namespaced(name: &str, namespace: &str) -> Self {
        Self {
            name: name.to_string(),
            namespace: Some(namespace.to_string()),
            labels: BTreeMap::new(),
        }
    }
}

pub(crate) fn namespace(name: &str, labels: BTreeMap<String, String>) -> Object<Bare> {
    Object {
        api_version: "v1",
        kind: "Namespace",
        metadata: Metadata {
            labels,
            ..Metadata::cluster(name)
        },
        body: Bare {},
    }
}

/// `kustomization.yaml`: what `kustomize build` of a directory assembles.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct KustomizeConfig {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub resources: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub patches: Vec<KustomizePatch>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<KustomizeLabels>,
}

impl KustomizeConfig {
    pub(crate) fn of(resources: Vec<String>) -> Self {
        Self {
            api_version: "kustomize.config.k8s.io/v1beta1",
            kind: "Kustomization",
            resources,
            patches: Vec::new(),
            labels: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct KustomizePatch {
    pub path: String,
    pub target: PatchTarget,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct PatchTarget {
    pub group: String,
    pub kind: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct KustomizeLabels {
    pub pairs: BTreeMap<String, String>,
    pub include_selectors: bool,
}

/// One operation of a JSON patch (RFC 6902).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct JsonPatch {
    pub op: PatchOp,
    pub path: String,
    pub value: Value,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum PatchOp {
    Add,
    Replace,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct HelmRepository {
    pub interval: &'static str,
    pub url: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GitRepository {
    pub interval: &'static str,
    pub url: String,
    #[serde(rename = "ref")]
    pub reference: GitReference,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalReference>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct GitReference {
    pub branch: String,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct LocalReference {
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct HelmRelease {
    pub interval: &'static str,
    pub chart: ChartTemplate,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub install: Option<HelmInstall>,
    #[serde(skip_serializing_if = "Value::is_null")]
    pub values: Value,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct ChartTemplate {
    pub spec: ChartSpec,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ChartSpec {
    pub chart: String,
    pub version: String,
    pub source_ref: SourceReference,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct SourceReference {
    pub kind: &'static str,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct HelmInstall {
    pub crds: &'static str,
}

/// Flux's Kustomization: a path of a source, applied and pruned.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FluxKustomization {
    pub interval: &'static str,
    pub path: String,
    pub prune: bool,
    pub source_ref: SourceReference,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<LocalReference>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct ClusterIssuer {
    pub acme: Acme,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Acme {
    pub server: String,
    pub email: String,
    pub private_key_secret_ref: LocalReference,
    pub solvers: Vec<AcmeSolver>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct AcmeSolver {
    pub dns01: Dns01,
}

/// The DNS-01 solver: exactly one provider is set.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct Dns01 {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cloudflare: Option<CloudflareSolver>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digitalocean: Option<DigitaloceanSolver>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CloudflareSolver {
    pub api_token_secret_ref: SecretKeyReference,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DigitaloceanSolver {
    pub token_secret_ref: SecretKeyReference,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct SecretKeyReference {
    pub name: String,
    pub key: String,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct SecretStore {
    pub provider: SecretStoreProvider,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct SecretStoreProvider {
    pub vault: VaultProvider,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct VaultProvider {
    pub server: String,
    pub path: String,
    pub version: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_bundle: Option<String>,
    pub auth: VaultProviderAuth,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct VaultProviderAuth {
    pub kubernetes: KubernetesAuth,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct KubernetesAuth {
    pub mount_path: &'static str,
    pub role: String,
    pub service_account_ref: NamespacedReference,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct NamespacedReference {
    pub name: String,
    pub namespace: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ExternalSecret {
    pub refresh_interval: &'static str,
    pub secret_store_ref: StoreReference,
    pub target: SecretTarget,
    pub data: Vec<SecretData>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct StoreReference {
    pub name: String,
    pub kind: &'static str,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SecretTarget {
    pub name: String,
    pub creation_policy: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<SecretTemplate>,
}

/// The type of the Secret External Secrets makes (CloudNativePG takes `kubernetes.io/basic-auth`).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct SecretTemplate {
    #[serde(rename = "type")]
    pub kind: &'static str,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SecretData {
    pub secret_key: String,
    pub remote_ref: RemoteReference,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct RemoteReference {
    pub key: String,
    pub property: String,
}

/// CloudNativePG's `Cluster`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PostgresCluster {
    pub instances: u32,
    pub image_name: &'static str,
    pub storage: PostgresStorage,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<Resources>,
    pub bootstrap: PostgresBootstrap,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct PostgresStorage {
    pub size: String,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct PostgresBootstrap {
    pub initdb: InitDb,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct InitDb {
    pub database: String,
    pub owner: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<LocalReference>,
    #[serde(rename = "postInitTemplateSQL")]
    pub post_init_template_sql: Vec<String>,
}

/// CloudNativePG's `Database`: a database of its own in an existing cluster.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct PostgresDatabase {
    pub name: String,
    pub owner: String,
    pub cluster: LocalReference,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Resources {
    pub requests: Quantities,
    pub limits: Quantities,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Quantities {
    pub cpu: Millicores,
    pub memory: Mebibytes,
}

/// CPU in thousandths of a core, written `300m`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Millicores(pub u32);

impl std::fmt::Display for Millicores {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{}m", self.0)
    }
}

impl Serialize for Millicores {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Memory in mebibytes, written `512Mi`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Mebibytes(pub u32);

impl std::fmt::Display for Mebibytes {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{}Mi", self.0)
    }
}

impl Serialize for Mebibytes {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct ResourceQuota {
    pub hard: BTreeMap<&'static str, String>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct LimitRange {
    pub limits: Vec<LimitRangeItem>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LimitRangeItem {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub default: Quantities,
    pub default_request: Quantities,
    pub max: Quantities,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NetworkPolicy {
    pub pod_selector: LabelSelector,
    pub policy_types: Vec<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ingress: Vec<NetworkPolicyIngress>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LabelSelector {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub match_labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct NetworkPolicyIngress {
    pub from: Vec<NetworkPolicyPeer>,
}

/// Where traffic may come from: pods of the selected namespaces, or of this one.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NetworkPolicyPeer {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace_selector: Option<LabelSelector>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod_selector: Option<LabelSelector>,
}
