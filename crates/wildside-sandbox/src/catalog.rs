//! What the sandbox account offers: regions, droplet sizes with their prices, images and Kubernetes versions.
//! Prices are DigitalOcean's published list prices for the same slugs.

use serde_json::{Value, json};

/// A droplet size: slug, memory (MiB), vCPUs, disk (GB), transfer (TB), monthly price (USD).
pub(super) struct Size {
    pub(super) slug: &'static str,
    pub(super) memory: u32,
    pub(super) vcpus: u32,
    pub(super) disk: u32,
    pub(super) transfer: f64,
    pub(super) price_monthly: f64,
    pub(super) description: &'static str,
}

/// Hours in DigitalOcean's billing month: hourly prices are the monthly price over this.
const HOURS_PER_MONTH: f64 = 672.0;

pub(super) const SIZES: &[Size] = &[
    size("s-1vcpu-512mb-10gb", 512, 1, 10, 0.5, 4.0, "Basic"),
    size("s-1vcpu-1gb", 1024, 1, 25, 1.0, 6.0, "Basic"),
    size("s-1vcpu-2gb", 2048, 1, 50, 2.0, 12.0, "Basic"),
    size("s-2vcpu-2gb", 2048, 2, 60, 3.0, 18.0, "Basic"),
    size("s-2vcpu-4gb", 4096, 2, 80, 4.0, 24.0, "Basic"),
    size("s-4vcpu-8gb", 8192, 4, 160, 5.0, 48.0, "Basic"),
    size("s-8vcpu-16gb", 16384, 8, 320, 6.0, 96.0, "Basic"),
    size("c-2", 4096, 2, 25, 4.0, 42.0, "CPU-Optimized"),
    size("g-2vcpu-8gb", 8192, 2, 25, 4.0, 63.0, "General Purpose"),
    size("m-2vcpu-16gb", 16384, 2, 50, 4.0, 84.0, "Memory-Optimized"),
];

const fn size(
    slug: &'static str,
    memory: u32,
    vcpus: u32,
    disk: u32,
    transfer: f64,
    price_monthly: f64,
    description: &'static str,
) -> Size {
    Size {
        slug,
        memory,
        vcpus,
        disk,
        transfer,
        price_monthly,
        description,
    }
}

/// Region slugs and names.
pub(super) const REGIONS: &[(&str, &str)] = &[
    ("nyc1", "New York 1"),
    ("nyc2", "New York 2"),
    ("nyc3", "New York 3"),
    ("sfo2", "San Francisco 2"),
    ("sfo3", "San Francisco 3"),
    ("atl1", "Atlanta 1"),
    ("ams3", "Amsterdam 3"),
    ("sgp1", "Singapore 1"),
    ("lon1", "London 1"),
    ("fra1", "Frankfurt 1"),
    ("tor1", "Toronto 1"),
    ("blr1", "Bangalore 1"),
    ("syd1", "Sydney 1"),
];

/// Distribution images: slug, distribution, name.
pub(super) const IMAGES: &[(&str, &str, &str)] = &[
    ("ubuntu-24-04-x64", "Ubuntu", "24.04 (LTS) x64"),
    ("ubuntu-22-04-x64", "Ubuntu", "22.04 (LTS) x64"),
    ("debian-12-x64", "Debian", "12 x64"),
    ("rockylinux-9-x64", "Rocky Linux", "9 x64"),
];

/// Kubernetes versions, newest first: (slug, upstream version).
pub(super) const KUBERNETES_VERSIONS: &[(&str, &str)] = &[
    ("1.33.1-do.2", "1.33.1"),
    ("1.32.5-do.2", "1.32.5"),
    ("1.31.9-do.2", "1.31.9"),
];

const REGION_FEATURES: [&str; 6] = [
    "backups",
    "ipv6",
    "metadata",
    "install_agent",
    "storage",
    "image_transfer",
];

pub(super) fn find_size(slug: &str) -> Option<&'static Size> {
    SIZES.iter().find(|size| size.slug == slug)
}

pub(super) fn find_region(slug: &str) -> Option<(&'static str, &'static str)> {
    REGIONS.iter().copied().find(|(known, _)| *known == slug)
}

pub(super) fn find_image(slug: &str) -> Option<(&'static str, &'static str, &'static str)> {
    IMAGES.iter().copied().find(|(known, _, _)| *known == slug)
}

pub(super) fn is_kubernetes_version(slug: &str) -> bool {
    KUBERNETES_VERSIONS.iter().any(|(known, _)| *known == slug)
}

fn size_slugs() -> Vec<&'static str> {
    SIZES.iter().map(|size| size.slug).collect()
}

fn region_slugs() -> Vec<&'static str> {
    REGIONS.iter().map(|(slug, _)| *slug).collect()
}

pub(super) fn region_json(slug: &str) -> Value {
    let name = find_region(slug).map_or(slug, |(_, name)| name);
    json!({
        "name": name,
        "slug": slug,
        "features": REGION_FEATURES,
        "available": true,
        "sizes": size_slugs(),
    })
}

pub(super) fn regions_json() -> Vec<Value> {
    REGIONS.iter().map(|(slug, _)| region_json(slug)).collect()
}

pub(super) fn size_json(size: &Size) -> Value {
    json!({
        "slug": size.slug,
        "memory": size.memory,
        "vcpus": size.vcpus,
        "disk": size.disk,
        "transfer": size.transfer,
        "price_monthly": size.price_monthly,
        "price_hourly": (size.price_monthly / HOURS_PER_MONTH * 100_000.0).round() / 100_000.0,
        "regions": region_slugs(),
        "available": true,
        "description": size.description,
        "disk_info": [{"type": "local", "size": {"amount": size.disk, "unit": "gib"}}],
    })
}

pub(super) fn sizes_json() -> Vec<Value> {
    SIZES.iter().map(size_json).collect()
}

pub(super) fn image_json(slug: &str) -> Value {
    let (distribution, name) = find_image(slug)
        .map_or(("Unknown", slug), |(_, distribution, name)| {
            (distribution, name)
        });
    json!({
        "id": 100_000 + IMAGES.iter().position(|(known, _, _)| *known == slug).unwrap_or(0),
        "name": name,
        "distribution": distribution,
        "slug": slug,
        "public": true,
        // The OpenAPI description's image regions are an older list than its region slugs: it has no atl1.
        "regions": region_slugs().into_iter().filter(|slug| *slug != "atl1").collect::<Vec<_>>(),
        "created_at": "2025-01-01T00:00:00Z",
        "min_disk_size": 7,
        "type": "base",
        "size_gigabytes": 2.36,
        "description": format!("{distribution} {name}"),
        "tags": [],
        "status": "available",
    })
}

pub(super) fn kubernetes_options_json() -> Value {
    json!({
        "options": {
            "regions": REGIONS.iter().map(|(slug, name)| json!({"name": name, "slug": slug})).collect::<Vec<_>>(),
            "versions": KUBERNETES_VERSIONS.iter().map(|(slug, version)| json!({
                "slug": slug,
                "kubernetes_version": version,
                "supported_features": ["cluster-autoscaler", "docr-integration", "ha-control-plane", "token-authentication"],
            })).collect::<Vec<_>>(),
            "sizes": SIZES.iter().map(|size| json!({"name": size.slug, "slug": size.slug})).collect::<Vec<_>>(),
        }
    })
}
