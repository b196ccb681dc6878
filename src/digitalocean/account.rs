//! What the account offers (regions, sizes, DOKS versions and node sizes) and holds (projects, VPCs), read
//! from its API, every page, the five lists at once.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use secrecy::ExposeSecret;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::{Api, DigitalOceanError, Subject};
use crate::stack::{Account, AccountVpc};

/// The most items DigitalOcean returns in one page.
const PAGE_SIZE: u32 = 200;

#[derive(Deserialize)]
struct Region {
    slug: String,
    available: bool,
}

#[derive(Deserialize)]
struct Size {
    slug: String,
    #[serde(default)]
    regions: Vec<String>,
    #[serde(default = "offered")]
    available: bool,
}

fn offered() -> bool {
    true
}

#[derive(Deserialize)]
struct Named {
    #[serde(alias = "slug")]
    name: String,
}

#[derive(Deserialize)]
struct KubernetesOptions {
    options: Options,
}

#[derive(Deserialize)]
struct Options {
    versions: Vec<Version>,
    sizes: Vec<Version>,
}

#[derive(Deserialize)]
struct Version {
    slug: String,
}

#[derive(Deserialize)]
struct Vpc {
    name: String,
    region: String,
    ip_range: String,
}

/// One page of a list: its items under `key`, and the next page's address, if any.
struct Page<T> {
    items: Vec<T>,
    next: Option<url::Url>,
}

impl Api {
    /// Everything the account check needs, the five lists read concurrently.
    pub async fn account(&self) -> Result<Account, DigitalOceanError> {
        let (regions, sizes, options, projects, vpcs) = tokio::try_join!(
            self.list::<Region>("v2/regions", "regions", "regions:read"),
            self.list::<Size>("v2/sizes", "sizes", "sizes:read"),
            self.get::<KubernetesOptions>("v2/kubernetes/options", "kubernetes:read"),
            self.list::<Named>("v2/projects", "projects", "project:read"),
            self.list::<Vpc>("v2/vpcs", "vpcs", "vpc:read"),
        )?;
        Ok(Account {
            regions: regions
                .into_iter()
                .map(|region| (region.slug, region.available))
                .collect(),
            sizes: sizes
                .into_iter()
                .map(|size| {
                    let regions: BTreeSet<String> = if size.available {
                        size.regions.into_iter().collect()
                    } else {
                        BTreeSet::new()
                    };
                    (size.slug, regions)
                })
                .collect::<BTreeMap<_, _>>(),
            node_sizes: options
                .options
                .sizes
                .into_iter()
                .map(|size| size.slug)
                .collect(),
            kubernetes_versions: options
                .options
                .versions
                .into_iter()
                .map(|version| version.slug)
                .collect(),
            projects: projects.into_iter().map(|project| project.name).collect(),
            vpcs: vpcs
                .into_iter()
                .map(|vpc| AccountVpc {
                    name: vpc.name,
                    region: vpc.region,
                    ip_range: vpc.ip_range,
                })
                .collect(),
        })
    }

    /// Every item of the list at `path`, following its pages.
    async fn list<T: DeserializeOwned>(
        &self,
        path: &str,
        key: &'static str,
        scope: &'static str,
    ) -> Result<Vec<T>, DigitalOceanError> {
        let mut url = self.address(path)?;
        url.query_pairs_mut()
            .append_pair("per_page", &PAGE_SIZE.to_string());
        let mut items = Vec::new();
        let mut next = Some(url);
        while let Some(url) = next {
            let page: Page<T> = self.page(url, key, scope).await?;
            items.extend(page.items);
            next = page.next;
        }
        Ok(items)
    }

    async fn page<T: DeserializeOwned>(
        &self,
        url: url::Url,
        key: &'static str,
        scope: &'static str,
    ) -> Result<Page<T>, DigitalOceanError> {
        let mut body: serde_json::Value = self.fetch(url.clone(), scope).await?;
        let items = serde_json::from_value(body[key].take()).map_err(|source| {
            DigitalOceanError::Shape {
                url: url.to_string(),
                expected: key,
                source,
            }
        })?;
        let next = body["links"]["pages"]["next"]
            .as_str()
            .and_then(|next| url.join(next).ok());
        Ok(Page { items, next })
    }

    async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        scope: &'static str,
    ) -> Result<T, DigitalOceanError> {
        let url = self.address(path)?;
        self.fetch(url, scope).await
    }

    async fn fetch<T: DeserializeOwned>(
        &self,
        url: url::Url,
        scope: &'static str,
    ) -> Result<T, DigitalOceanError> {
        let response = reqwest::Client::new()
            .get(url.clone())
            .bearer_auth(self.token.expose_secret())
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .map_err(|source| DigitalOceanError::Transport {
                url: url.to_string(),
                source,
            })?;
        let status = response.status();
        if !status.is_success() {
            return Err(DigitalOceanError::Status {
                url: url.to_string(),
                status,
                subject: Subject::Listing { scope },
            });
        }
        response
            .json()
            .await
            .map_err(|source| DigitalOceanError::Body {
                url: url.to_string(),
                expected: "JSON",
                source,
            })
    }
}
