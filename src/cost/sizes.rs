//! Droplet and node prices from the account's `GET /v2/sizes`, cached under `.wildside/cache/` with the date
//! of the read (a read older than a day is refreshed). The sandbox serves the same endpoint.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::error::CostError;

/// Where sizes come from.
#[derive(Debug, Clone)]
pub struct SizeSource {
    /// `https://api.digitalocean.com`, or a sandbox.
    pub api: url::Url,
    pub token: Option<String>,
    pub cache_dir: PathBuf,
    /// Today, `YYYY-MM-DD`: a cache read today is used as is.
    pub today: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SizePrice {
    pub monthly: f64,
    pub hourly: f64,
}

/// Prices by size slug, and when they were read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SizeCatalog {
    pub api: String,
    /// `YYYY-MM-DD`.
    pub read: String,
    pub sizes: BTreeMap<String, SizePrice>,
}

#[derive(Deserialize)]
struct SizesPage {
    sizes: Vec<RawSize>,
}

#[derive(Deserialize)]
struct RawSize {
    slug: String,
    price_monthly: f64,
    price_hourly: f64,
}

impl SizeSource {
    fn cache_file(&self) -> PathBuf {
        use sha2::Digest;
        let key = hex::encode(&sha2::Sha256::digest(self.api.as_str().as_bytes())[..6]);
        self.cache_dir.join(format!("sizes-{key}.json"))
    }

    /// The catalog: today's cached read, or a fresh one (then cached).
    pub async fn catalog(&self) -> Result<SizeCatalog, CostError> {
        let cache = self.cache_file();
        if let Some(catalog) = std::fs::read_to_string(&cache)
            .ok()
            .and_then(|text| serde_json::from_str::<SizeCatalog>(&text).ok())
            .filter(|catalog| catalog.read == self.today && catalog.api == self.api.as_str())
        {
            return Ok(catalog);
        }
        let url = self
            .api
            .join("v2/sizes?per_page=200")
            .map_err(|error| CostError::Sizes {
                url: self.api.to_string(),
                message: error.to_string(),
            })?;
        let failed = |message: String| CostError::Sizes {
            url: url.to_string(),
            message,
        };
        let mut request = reqwest::Client::new().get(url.clone());
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = request
            .timeout(std::time::Duration::from_secs(20))
            .send()
            .await
            .map_err(|error| failed(error.to_string()))?;
        if !response.status().is_success() {
            return Err(failed(format!("status {}", response.status())));
        }
        let page: SizesPage = response
            .json()
            .await
            .map_err(|error| failed(error.to_string()))?;
        let catalog = SizeCatalog {
            api: self.api.to_string(),
            read: self.today.clone(),
            sizes: page
                .sizes
                .into_iter()
                .map(|size| {
                    (
                        size.slug,
                        SizePrice {
                            monthly: size.price_monthly,
                            hourly: size.price_hourly,
                        },
                    )
                })
                .collect(),
        };
        if std::fs::create_dir_all(&self.cache_dir).is_ok()
            && let Ok(text) = serde_json::to_string_pretty(&catalog)
        {
            let _ = std::fs::write(&cache, text);
        }
        Ok(catalog)
    }
}

impl SizeSource {
    /// DigitalOcean's API (token from `DIGITALOCEAN_TOKEN`), or the sandbox a run points tofu at.
    pub fn for_run(sandbox: Option<&url::Url>, cache_dir: PathBuf, today: String) -> Self {
        match sandbox {
            Some(url) => Self {
                api: url.clone(),
                token: Some(crate::settings::SANDBOX_TOKEN.to_string()),
                cache_dir,
                today,
            },
            None => Self {
                api: url::Url::parse("https://api.digitalocean.com/")
                    .expect("a constant, valid URL"),
                token: std::env::var("DIGITALOCEAN_TOKEN").ok(),
                cache_dir,
                today,
            },
        }
    }
}
