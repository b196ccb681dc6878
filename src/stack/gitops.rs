//! Validation of `[gitops]`: the platform repository Flux watches, the pinned platform services rendered into
//! it, and (for namespace previews) the application repository pull requests get overlays in.

use std::path::PathBuf;

use serde::Deserialize;
use toml::Spanned;

use super::error::StackError;
use super::validate::Checker;

/// Flux, as `gitops bootstrap` installs it unless the stack pins another version.
pub const FLUX_VERSION: &str = "2.7.3";

/// The chart versions rendered unless a service's table pins another.
pub(super) const TRAEFIK_CHART: &str = "37.1.2";
pub(super) const CERT_MANAGER_CHART: &str = "v1.18.2";
pub(super) const EXTERNAL_DNS_CHART: &str = "1.19.0";
pub(super) const EXTERNAL_SECRETS_CHART: &str = "0.20.2";
pub(super) const CLOUDNATIVE_PG_CHART: &str = "0.26.0";
pub(super) const REDIS_CHART: &str = "22.0.7";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGitops {
    repository: Spanned<String>,
    source_url: Option<Spanned<String>>,
    branch: Option<Spanned<String>>,
    cluster_path: Option<Spanned<String>>,
    domain: Spanned<String>,
    flux_version: Option<Spanned<String>>,
    flux_url: Option<Spanned<String>>,
    traefik: Option<Spanned<RawChart>>,
    cert_manager: Option<Spanned<RawCertManager>>,
    external_dns: Option<Spanned<RawExternalDns>>,
    vault: Option<Spanned<RawGitopsVault>>,
    cloudnative_pg: Option<Spanned<RawChart>>,
    redis: Option<Spanned<RawChart>>,
    apps: Option<Spanned<RawApps>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChart {
    chart_version: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCertManager {
    chart_version: Option<Spanned<String>>,
    acme_email: Spanned<String>,
    acme_server: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExternalDns {
    chart_version: Option<Spanned<String>>,
    dns_provider: Option<Spanned<DnsProvider>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGitopsVault {
    chart_version: Option<Spanned<String>>,
    address: Option<Spanned<String>>,
    address_output: Option<Spanned<String>>,
    ca_cert: Option<Spanned<String>>,
    ca_output: Option<Spanned<String>>,
    mount: Option<Spanned<String>>,
    role: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApps {
    repository: Spanned<String>,
    source_url: Option<Spanned<String>>,
    branch: Option<Spanned<String>>,
    project: Spanned<String>,
    image: Spanned<String>,
    chart_version: Option<Spanned<String>>,
    #[serde(default)]
    databases: Vec<Spanned<PreviewDatabase>>,
    postgres: Option<Spanned<PostgresPlacement>>,
    ingress_namespace: Option<Spanned<String>>,
}

/// The `[gitops]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitopsSettings {
    /// The platform repository (`wildside-infra`).
    pub repository: GitRemote,
    /// The URL Flux clones the platform repository from.
    pub source_url: String,
    pub branch: String,
    /// The directory Flux's root Kustomization watches, such as `clusters/dev`.
    pub cluster_path: String,
    /// The domain the platform's hostnames and certificates are under.
    pub domain: String,
    pub flux_version: String,
    /// Where the Flux controllers' install manifest is read from, when not from the cached Flux tools.
    pub flux_url: Option<String>,
    pub traefik: ChartPin,
    pub cert_manager: CertManager,
    pub external_dns: ExternalDns,
    pub vault: GitopsVault,
    pub cloudnative_pg: ChartPin,
    pub redis: ChartPin,
    /// The application repository, for namespace previews.
    pub apps: Option<AppsSettings>,
}

impl GitopsSettings {
    /// The environment the cluster path names: its last directory (`clusters/dev` → `dev`).
    pub fn environment(&self) -> &str {
        self.cluster_path
            .rsplit('/')
            .next()
            .unwrap_or(&self.cluster_path)
    }
}

/// A Git repository: a URL, or a path on this machine (relative paths are from the project root).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GitRemote {
    Url(String),
    Path(PathBuf),
}

/// A Helm chart's exact version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartPin {
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertManager {
    pub chart: ChartPin,
    pub acme_email: String,
    pub acme_server: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalDns {
    pub chart: ChartPin,
    pub provider: DnsProvider,
}

/// The DNS provider ExternalDNS and the ACME DNS-01 solver talk to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DnsProvider {
    Cloudflare,
    Digitalocean,
}

/// External Secrets and the Vault its `ClusterSecretStore` reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitopsVault {
    pub chart: ChartPin,
    pub address: ValueSource,
    pub ca: Option<ValueSource>,
    /// The KV v2 mount.
    pub mount: String,
    /// The Vault Kubernetes-auth role of External Secrets' service account.
    pub role: String,
}

/// A value written in the stack file, or read from one of the stack's outputs in Vault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueSource {
    Literal(String),
    /// A PEM file on this machine.
    File(PathBuf),
    Output(String),
}

/// `[gitops.apps]`: where namespace previews write their overlays, and what they deploy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppsSettings {
    pub repository: GitRemote,
    /// The URL Flux clones the application repository from.
    pub source_url: String,
    pub branch: String,
    /// The project id: namespaces are `<project>-pr-<n>`.
    pub project: String,
    /// The application image, tagged per pull request with its commit.
    pub image: String,
    pub chart: ChartPin,
    pub databases: Vec<PreviewDatabase>,
    pub postgres: PostgresPlacement,
    /// The ingress controller's namespace, the one place a preview namespace takes traffic from.
    pub ingress_namespace: String,
}

/// A data service a preview namespace gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PreviewDatabase {
    Postgres,
    Redis,
}

/// Where a preview's PostgreSQL database lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PostgresPlacement {
    /// A CloudNativePG cluster of its own, in the preview's namespace.
    #[default]
    PerPullRequest,
    /// A database of its own in the platform's shared cluster.
    Shared,
}

impl Checker<'_> {
    pub(super) fn gitops(
        &self,
        spanned: &Spanned<RawGitops>,
        stack: &str,
    ) -> Result<GitopsSettings, StackError> {
        let raw = spanned.get_ref();
        let domain = self.hostname(&raw.domain, "domain")?;
        let cluster_path = match &raw.cluster_path {
            Some(path) => self.relative_path(path, "cluster_path")?,
            None => format!("clusters/{stack}"),
        };
        let flux_version = match &raw.flux_version {
            Some(version) => self.pinned(version, "flux_version")?,
            None => FLUX_VERSION.to_string(),
        };
        if let Some(url) = &raw.flux_url
            && !url.get_ref().starts_with("https://")
        {
            return Err(self
                .error(url, "`flux_url` must be an https URL")
                .with_hint("such as `flux_url = \"https://github.com/fluxcd/flux2/releases/download/v2.7.3/install.yaml\"`"));
        }
        let chart = |raw: Option<&Spanned<RawChart>>, default: &str| {
            self.chart(
                raw.and_then(|raw| raw.get_ref().chart_version.as_ref()),
                default,
            )
        };
        let cert_manager = match &raw.cert_manager {
            None => {
                return Err(self
                    .error(spanned, "`[gitops]` needs `[gitops.cert_manager]` with an `acme_email`")
                    .with_hint("add [gitops.cert_manager] with `acme_email = \"ops@example.com\"`: Let's Encrypt writes there before a certificate expires"));
            }
            Some(cert_manager) => {
                let cert_manager = cert_manager.get_ref();
                let email = cert_manager.acme_email.get_ref();
                if !email.contains('@') || email.starts_with('@') || email.ends_with('@') {
                    return Err(self
                        .error(
                            &cert_manager.acme_email,
                            format!("`{email}` is not an email address"),
                        )
                        .with_hint("such as `acme_email = \"ops@example.com\"`"));
                }
                let acme_server = match &cert_manager.acme_server {
                    Some(server) if server.get_ref().starts_with("https://") => {
                        server.get_ref().clone()
                    }
                    Some(server) => {
                        return Err(self
                            .error(server, "`acme_server` must be an https URL")
                            .with_hint("Let's Encrypt's staging server is `https://acme-staging-v02.api.letsencrypt.org/directory`"));
                    }
                    None => "https://acme-v02.api.letsencrypt.org/directory".to_string(),
                };
                CertManager {
                    chart: self.chart(cert_manager.chart_version.as_ref(), CERT_MANAGER_CHART)?,
                    acme_email: email.clone(),
                    acme_server,
                }
            }
        };
        let external_dns = ExternalDns {
            chart: self.chart(
                raw.external_dns
                    .as_ref()
                    .and_then(|raw| raw.get_ref().chart_version.as_ref()),
                EXTERNAL_DNS_CHART,
            )?,
            provider: raw
                .external_dns
                .as_ref()
                .and_then(|raw| raw.get_ref().dns_provider.as_ref())
                .map_or(DnsProvider::Digitalocean, |provider| *provider.get_ref()),
        };
        let vault = self.gitops_vault(spanned, raw.vault.as_ref())?;
        let apps = raw.apps.as_ref().map(|apps| self.apps(apps)).transpose()?;
        Ok(GitopsSettings {
            repository: self.remote(&raw.repository)?,
            source_url: self.source_url(&raw.repository, raw.source_url.as_ref())?,
            branch: self.branch(raw.branch.as_ref())?,
            cluster_path,
            domain,
            flux_version,
            flux_url: raw.flux_url.as_ref().map(|url| url.get_ref().clone()),
            traefik: chart(raw.traefik.as_ref(), TRAEFIK_CHART)?,
            cert_manager,
            external_dns,
            vault,
            cloudnative_pg: chart(raw.cloudnative_pg.as_ref(), CLOUDNATIVE_PG_CHART)?,
            redis: chart(raw.redis.as_ref(), REDIS_CHART)?,
            apps,
        })
    }

    fn gitops_vault(
        &self,
        section: &Spanned<RawGitops>,
        raw: Option<&Spanned<RawGitopsVault>>,
    ) -> Result<GitopsVault, StackError> {
        let Some(spanned) = raw else {
            return Err(self
                .error(section, "`[gitops]` needs `[gitops.vault]`: where External Secrets reads secrets from")
                .with_hint("add [gitops.vault] with `address = \"https://vault.example:8200\"`, or `address_output = \"<output>\"` naming the stack output that holds the Vault appliance's endpoint"));
        };
        let raw = spanned.get_ref();
        let address = match (&raw.address, &raw.address_output) {
            (Some(address), None) => {
                if !address.get_ref().starts_with("https://") {
                    return Err(self
                        .error(address, "the Vault `address` must be an https URL")
                        .with_hint("such as `address = \"https://vault.example:8200\"`"));
                }
                ValueSource::Literal(address.get_ref().clone())
            }
            (None, Some(output)) => ValueSource::Output(self.identifier(output, "output")?),
            (Some(address), Some(_)) => {
                return Err(self
                    .error(address, "`address` and `address_output` are both set")
                    .with_hint("keep one: the address itself, or the stack output holding it"));
            }
            (None, None) => {
                return Err(self
                    .error(spanned, "`[gitops.vault]` needs `address` or `address_output`")
                    .with_hint("such as `address_output = \"vault_endpoint\"`: the stack output holding the Vault appliance's endpoint"));
            }
        };
        let ca = match (&raw.ca_cert, &raw.ca_output) {
            (Some(file), None) => Some(ValueSource::File(PathBuf::from(file.get_ref()))),
            (None, Some(output)) => Some(ValueSource::Output(self.identifier(output, "output")?)),
            (Some(file), Some(_)) => {
                return Err(self
                    .error(file, "`ca_cert` and `ca_output` are both set")
                    .with_hint("keep one: a PEM file, or the stack output holding the CA"));
            }
            (None, None) => None,
        };
        Ok(GitopsVault {
            chart: self.chart(raw.chart_version.as_ref(), EXTERNAL_SECRETS_CHART)?,
            address,
            ca,
            mount: match &raw.mount {
                Some(mount) => self.identifier(mount, "mount")?,
                None => "secret".to_string(),
            },
            role: match &raw.role {
                Some(role) => self.identifier(role, "role")?,
                None => "external-secrets".to_string(),
            },
        })
    }

    fn apps(&self, spanned: &Spanned<RawApps>) -> Result<AppsSettings, StackError> {
        let raw = spanned.get_ref();
        let project = raw.project.get_ref();
        if !is_dns_label(project) || project.len() > 40 {
            return Err(self
                .error(&raw.project, format!("`{project}` is not a valid project id"))
                .with_hint("lowercase letters, digits and `-`, at most 40 characters, such as `project = \"wildside\"`: namespaces are `<project>-pr-<n>`"));
        }
        let image = raw.image.get_ref();
        if image.is_empty() || image.contains(char::is_whitespace) || image.contains('@') {
            return Err(self
                .error(&raw.image, format!("`{image}` is not an image repository"))
                .with_hint("name the repository without a tag, such as `image = \"ghcr.io/example/wildside-app\"`: each preview's tag is its commit"));
        }
        let mut databases: Vec<PreviewDatabase> = Vec::new();
        for database in &raw.databases {
            if databases.contains(database.get_ref()) {
                return Err(self
                    .error(database, "this database is listed twice")
                    .with_hint("list each of `postgres` and `redis` at most once"));
            }
            databases.push(*database.get_ref());
        }
        databases.sort();
        let ingress_namespace = match &raw.ingress_namespace {
            Some(namespace) if is_dns_label(namespace.get_ref()) => namespace.get_ref().clone(),
            Some(namespace) => {
                return Err(self
                    .error(namespace, "`ingress_namespace` is not a namespace name")
                    .with_hint("such as `ingress_namespace = \"traefik\"`"));
            }
            None => "traefik".to_string(),
        };
        Ok(AppsSettings {
            repository: self.remote(&raw.repository)?,
            source_url: self.source_url(&raw.repository, raw.source_url.as_ref())?,
            branch: self.branch(raw.branch.as_ref())?,
            project: project.clone(),
            image: image.clone(),
            chart: self.chart(raw.chart_version.as_ref(), "0.1.0")?,
            databases,
            postgres: raw
                .postgres
                .as_ref()
                .map_or_else(PostgresPlacement::default, |placement| *placement.get_ref()),
            ingress_namespace,
        })
    }

    fn remote(&self, raw: &Spanned<String>) -> Result<GitRemote, StackError> {
        let text = raw.get_ref();
        if text.is_empty() {
            return Err(self
                .error(raw, "the repository is empty")
                .with_hint("a URL such as `https://github.com/example/wildside-infra.git`, or a path such as `../wildside-infra.git`"));
        }
        let is_url = ["https://", "http://", "ssh://", "git@", "file://"]
            .iter()
            .any(|prefix| text.starts_with(prefix));
        Ok(if is_url {
            GitRemote::Url(text.clone())
        } else {
            GitRemote::Path(PathBuf::from(text))
        })
    }

    /// The URL Flux clones a repository from: `source_url`, or else the repository's own URL. Flux's
    /// `GitRepository` takes only http, https and ssh URLs, so a local path, a `file://` URL or an scp-style
    /// `git@host:path` needs a `source_url`.
    fn source_url(
        &self,
        repository: &Spanned<String>,
        explicit: Option<&Spanned<String>>,
    ) -> Result<String, StackError> {
        let clonable = |url: &str| {
            ["https://", "http://", "ssh://"]
                .iter()
                .any(|scheme| url.starts_with(scheme))
        };
        match explicit {
            Some(url) if clonable(url.get_ref()) => Ok(url.get_ref().clone()),
            Some(url) => Err(self
                .error(url, format!("Flux cannot clone `{}`: it clones only http, https and ssh URLs", url.get_ref()))
                .with_hint("such as `source_url = \"https://github.com/example/wildside-infra.git\"` or `ssh://git@github.com/example/wildside-infra.git`")),
            None if clonable(repository.get_ref()) => Ok(repository.get_ref().clone()),
            None => Err(self
                .error(repository, format!("Flux cannot clone `{}`: it clones only http, https and ssh URLs", repository.get_ref()))
                .with_hint("add `source_url`, the http, https or ssh URL Flux clones this repository from, such as `source_url = \"https://github.com/example/wildside-infra.git\"`")),
        }
    }

    fn branch(&self, raw: Option<&Spanned<String>>) -> Result<String, StackError> {
        let Some(branch) = raw else {
            return Ok("main".to_string());
        };
        let name = branch.get_ref();
        let valid = !name.is_empty()
            && !name.starts_with(['-', '/'])
            && !name.ends_with(['/', '.'])
            && !name.contains("..")
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '/' | '.'));
        if valid {
            Ok(name.clone())
        } else {
            Err(self
                .error(branch, format!("`{name}` is not a branch name"))
                .with_hint("letters, digits, `-`, `_`, `.` and `/`, such as `branch = \"main\"`"))
        }
    }

    fn chart(&self, raw: Option<&Spanned<String>>, default: &str) -> Result<ChartPin, StackError> {
        Ok(ChartPin {
            version: match raw {
                Some(version) => self.pinned(version, "chart_version")?,
                None => default.to_string(),
            },
        })
    }

    /// An exact version (`1.2.3`, `v1.2.3`, `1.2.3-rc.1`), never a range: a release must not change under the
    /// same commit.
    fn pinned(&self, raw: &Spanned<String>, what: &str) -> Result<String, StackError> {
        let text = raw.get_ref();
        let bare = text.strip_prefix('v').unwrap_or(text);
        let (core, _) = bare.split_once(['-', '+']).unwrap_or((bare, ""));
        let parts: Vec<&str> = core.split('.').collect();
        let exact = parts.len() == 3
            && parts
                .iter()
                .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_digit()))
            && bare
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'));
        if exact {
            Ok(text.clone())
        } else {
            Err(self
                .error(raw, format!("`{text}` is not an exact version"))
                .with_hint(format!(
                    "pin `{what}` to one release, such as \"1.2.3\": ranges and wildcards let a release change under the same commit"
                )))
        }
    }

    fn hostname(&self, raw: &Spanned<String>, what: &str) -> Result<String, StackError> {
        let text = raw.get_ref();
        if text.len() <= 200 && text.contains('.') && text.split('.').all(is_dns_label) {
            Ok(text.clone())
        } else {
            Err(self
                .error(raw, format!("`{text}` is not a domain name"))
                .with_hint(format!("such as `{what} = \"example.com\"`")))
        }
    }

    fn relative_path(&self, raw: &Spanned<String>, what: &str) -> Result<String, StackError> {
        let text = raw.get_ref().trim_end_matches('/');
        let valid = !text.is_empty()
            && !text.starts_with('/')
            && text.split('/').all(|part| {
                !part.is_empty()
                    && part != "."
                    && part != ".."
                    && part
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            });
        if valid {
            Ok(text.to_string())
        } else {
            Err(self
                .error(
                    raw,
                    format!("`{}` is not a path inside the repository", raw.get_ref()),
                )
                .with_hint(format!("such as `{what} = \"clusters/dev\"`")))
        }
    }
}

/// A DNS label: lowercase letters, digits and `-`, not at either end, at most 63 characters.
pub fn is_dns_label(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 63
        && !text.starts_with('-')
        && !text.ends_with('-')
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{DnsProvider, GitRemote, PostgresPlacement, PreviewDatabase};
    use crate::stack::{PreviewKind, parse_stack};

    const MODULE: &str = "[[modules]]\nname = \"m\"\nsource = \"./m\"\n";
    const GITOPS: &str = "[gitops]\nrepository = \"../infra.git\"\nsource_url = \"https://git.example/infra.git\"\ndomain = \"example.com\"\n[gitops.cert_manager]\nacme_email = \"ops@example.com\"\n[gitops.vault]\naddress_output = \"vault_endpoint\"\n";

    fn parse(text: &str) -> Result<crate::stack::Stack, crate::stack::StackError> {
        parse_stack(Path::new("stacks/dev.toml"), text, &[])
    }

    #[test]
    fn a_minimal_section_gets_pinned_defaults() {
        let stack = parse(&format!("{MODULE}{GITOPS}")).unwrap();
        let gitops = stack.gitops.unwrap();
        assert_eq!(gitops.repository, GitRemote::Path("../infra.git".into()));
        assert_eq!(gitops.source_url, "https://git.example/infra.git");
        assert_eq!(gitops.branch, "main");
        assert_eq!(gitops.cluster_path, "clusters/dev");
        assert_eq!(gitops.environment(), "dev");
        assert_eq!(gitops.traefik.version, super::TRAEFIK_CHART);
        assert_eq!(gitops.external_dns.provider, DnsProvider::Digitalocean);
        assert_eq!(
            gitops.vault.address,
            super::ValueSource::Output("vault_endpoint".into())
        );
    }

    #[test]
    fn a_chart_range_is_refused_where_it_is_written() {
        let text = format!("{MODULE}{GITOPS}[gitops.traefik]\nchart_version = \"25.x\"\n");
        let error = parse(&text).unwrap_err();
        assert_eq!((error.line, error.column), (13, 17), "{error}");
        assert!(error.message.contains("not an exact version"), "{error}");
    }

    #[test]
    fn a_section_without_an_acme_email_or_a_vault_is_refused_with_the_fix() {
        let text = format!("{MODULE}[gitops]\nrepository = \"r\"\ndomain = \"example.com\"\n");
        let error = parse(&text).unwrap_err();
        assert!(error.line >= 4, "{error}");
        assert!(error.hint.unwrap().contains("acme_email"));
        let text = format!(
            "{MODULE}[gitops]\nrepository = \"r\"\ndomain = \"example.com\"\n[gitops.cert_manager]\nacme_email = \"ops@example.com\"\n"
        );
        let error = parse(&text).unwrap_err();
        assert!(error.message.contains("[gitops.vault]"), "{error}");
        let text = format!("{MODULE}{GITOPS}").replace("example.com\"\n[", "exa mple\"\n[");
        let error = parse(&text).unwrap_err();
        assert!(error.message.contains("not a domain name"), "{error}");
    }

    #[test]
    fn a_namespace_preview_needs_the_application_repository_and_no_modules() {
        let vault = "[vault]\naddress = \"https://vault.example:8200\"\n";
        let preview = "[preview]\nkind = \"namespace\"\n";
        let error = parse(&format!("{vault}{preview}{GITOPS}")).unwrap_err();
        assert!(error.message.contains("[gitops.apps]"), "{error}");
        let apps = "[gitops.apps]\nrepository = \"https://git.example/apps.git\"\nproject = \"wildside\"\nimage = \"ghcr.io/example/app\"\ndatabases = [\"redis\", \"postgres\"]\npostgres = \"shared\"\n";
        let stack = parse(&format!("{vault}{preview}{GITOPS}{apps}")).unwrap();
        assert_eq!(stack.preview.unwrap().kind, PreviewKind::Namespace);
        let apps = stack.gitops.unwrap().apps.unwrap();
        assert_eq!(
            apps.databases,
            [PreviewDatabase::Postgres, PreviewDatabase::Redis]
        );
        assert_eq!(apps.postgres, PostgresPlacement::Shared);
        assert_eq!(apps.ingress_namespace, "traefik");
        let with_module = format!(
            "{vault}{preview}{GITOPS}{apps_text}{MODULE}",
            apps_text = "[gitops.apps]\nrepository = \"r\"\nsource_url = \"https://git.example/apps.git\"\nproject = \"wildside\"\nimage = \"i\"\n"
        );
        let error = parse(&with_module).unwrap_err();
        assert!(error.message.contains("applies no modules"), "{error}");
        let bad_project = format!(
            "{vault}{preview}{GITOPS}[gitops.apps]\nrepository = \"r\"\nproject = \"Wild Side\"\nimage = \"i\"\n"
        );
        let error = parse(&bad_project).unwrap_err();
        assert!(error.message.contains("not a valid project id"), "{error}");
    }

    #[test]
    fn a_repository_flux_cannot_clone_needs_a_source_url() {
        let without = format!("{MODULE}{GITOPS}")
            .replace("source_url = \"https://git.example/infra.git\"\n", "");
        let error = parse(&without).unwrap_err();
        assert_eq!((error.line, error.column), (5, 14), "{error}");
        assert!(
            error.message.contains("Flux cannot clone `../infra.git`"),
            "{error}"
        );
        assert!(error.hint.unwrap().contains("source_url"));
        let scp = without.replace("../infra.git", "git@github.com:example/infra.git");
        let error = parse(&scp).unwrap_err();
        assert!(error.message.contains("Flux cannot clone"), "{error}");
        let file = format!("{MODULE}{GITOPS}")
            .replace("https://git.example/infra.git", "file:///srv/infra.git");
        let error = parse(&file).unwrap_err();
        assert_eq!((error.line, error.column), (6, 14), "{error}");
        let url = without.replace("../infra.git", "ssh://git@github.com/example/infra.git");
        let gitops = parse(&url).unwrap().gitops.unwrap();
        assert_eq!(gitops.source_url, "ssh://git@github.com/example/infra.git");
    }
}
