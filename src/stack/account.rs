//! A platform stack against the DigitalOcean account it is planned in: what the account's API offers (sizes,
//! regions, DOKS versions) and holds (projects, VPCs). DigitalOcean refuses a wrong size, region or version,
//! a missing project or an overlapping VPC range only at apply, after earlier resources were created; checked
//! here, every such problem is found before anything runs, with its place in the stack file.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::path::Path;

use toml::Spanned;

use super::error::{StackError, StackErrors};
use super::load::RawStack;
use super::platform::{Platform, overlaps, parse_cidr};

/// What one DigitalOcean account offers and holds, as its API lists it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Account {
    /// Region slugs, with whether new resources can be created there.
    pub regions: BTreeMap<String, bool>,
    /// Droplet size slugs, with the regions each is offered in.
    pub sizes: BTreeMap<String, BTreeSet<String>>,
    /// The sizes DOKS offers for nodes (`/v2/kubernetes/options`).
    pub node_sizes: BTreeSet<String>,
    /// DOKS version slugs, such as `1.33.1-do.3`.
    pub kubernetes_versions: BTreeSet<String>,
    /// Project names.
    pub projects: BTreeSet<String>,
    pub vpcs: Vec<AccountVpc>,
}

/// A VPC that exists in the account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountVpc {
    pub name: String,
    pub region: String,
    pub ip_range: String,
}

/// Where each checked value of a platform stands in its stack file: the value when written, else the table that
/// would hold it (the value is a default), else the start of the file.
struct Places {
    region: usize,
    project: usize,
    vpc_cidr: usize,
    version: usize,
    pool_sizes: Vec<usize>,
    appliance_size: usize,
}

fn place<T>(value: Option<&Spanned<T>>, fallback: usize) -> usize {
    value.map_or(fallback, |value| value.span().start)
}

impl Places {
    fn of(source: &str) -> Self {
        let Ok(raw) = toml::from_str::<RawStack>(source) else {
            return Self::unknown();
        };
        let digitalocean = place(raw.digitalocean.as_ref(), 0);
        let region = place(
            raw.digitalocean
                .as_ref()
                .map(|section| &section.get_ref().region),
            digitalocean,
        );
        let project = place(
            raw.digitalocean
                .as_ref()
                .and_then(|section| section.get_ref().project.as_ref()),
            digitalocean,
        );
        let vpc = place(raw.vpc.as_ref(), digitalocean);
        let vpc_cidr = place(
            raw.vpc
                .as_ref()
                .and_then(|section| section.get_ref().cidr.as_ref()),
            vpc,
        );
        let cluster = place(raw.cluster.as_ref(), digitalocean);
        let version = place(
            raw.cluster
                .as_ref()
                .and_then(|section| section.get_ref().version.as_ref()),
            cluster,
        );
        let pool_sizes = raw
            .node_pools
            .iter()
            .map(|pool| {
                place(
                    pool.get_ref().size.as_ref(),
                    pool.get_ref().name.span().start,
                )
            })
            .collect();
        let appliance = place(raw.vault_appliance.as_ref(), digitalocean);
        let appliance_size = place(
            raw.vault_appliance
                .as_ref()
                .and_then(|section| section.get_ref().size.as_ref()),
            appliance,
        );
        Self {
            region,
            project,
            vpc_cidr,
            version,
            pool_sizes,
            appliance_size,
        }
    }

    fn unknown() -> Self {
        Self {
            region: 0,
            project: 0,
            vpc_cidr: 0,
            version: 0,
            pool_sizes: Vec::new(),
            appliance_size: 0,
        }
    }
}

/// Checks the platform of the stack file `path` (text `source`) against `account`, and reports every problem.
/// `shared_vpc_ranges` is false for a preview stack, whose workspaces get their ranges from the preview ledger.
pub fn check_against_account(
    path: &Path,
    source: &str,
    platform: &Platform,
    account: &Account,
    shared_vpc_ranges: bool,
) -> Result<(), StackErrors> {
    let places = Places::of(source);
    let at = |offset: usize, message: String| StackError::at(path, source, offset, message);
    let mut errors = Vec::new();
    let region = platform.region.as_str();
    let open_regions: Vec<&str> = account
        .regions
        .iter()
        .filter(|(_, available)| **available)
        .map(|(slug, _)| slug.as_str())
        .collect();
    match account.regions.get(region) {
        Some(true) => {}
        Some(false) => errors.push(
            at(
                places.region,
                format!("region `{region}` takes no new resources in this account"),
            )
            .with_hint(format!("choose one that does: {}", open_regions.join(", "))),
        ),
        None => errors.push(
            at(
                places.region,
                format!("DigitalOcean has no region `{region}`"),
            )
            .suggesting(
                region,
                open_regions.iter().copied(),
                format!("regions: {}", open_regions.join(", ")),
            ),
        ),
    }
    let pools = platform.node_pools.iter().enumerate();
    for (index, pool) in pools {
        let offset = places
            .pool_sizes
            .get(index)
            .copied()
            .unwrap_or(places.region);
        if let Some(error) = node_size_problem(account, region, &pool.size) {
            errors.push(
                at(offset, format!("node pool `{}`: {error}", pool.name)).with_hint(sizes_hint(
                    account,
                    region,
                    &pool.size,
                    account.node_sizes.iter(),
                )),
            );
        }
    }
    if let Some(appliance) = &platform.vault_appliance
        && let Some(error) = droplet_size_problem(account, region, &appliance.size)
    {
        errors.push(
            at(places.appliance_size, format!("[vault_appliance] {error}")).with_hint(sizes_hint(
                account,
                region,
                &appliance.size,
                account.sizes.keys(),
            )),
        );
    }
    if let Some(error) = version_problem(account, &platform.cluster.version) {
        errors.push(error_with_versions(at(places.version, error), account));
    }
    if let Some(project) = &platform.project
        && !account.projects.contains(project)
    {
        errors.push(
            at(
                places.project,
                format!("project `{project}` does not exist in this DigitalOcean account"),
            )
            .suggesting(
                project,
                account.projects.iter().map(String::as_str),
                "create it in the control panel (or `doctl projects create --name NAME --purpose PURPOSE`), or remove `project`",
            ),
        );
    }
    if shared_vpc_ranges && let Some(error) = vpc_problem(account, platform) {
        errors.push(at(places.vpc_cidr, error.0).with_hint(error.1));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(StackErrors(errors))
    }
}

fn droplet_size_problem(account: &Account, region: &str, size: &str) -> Option<String> {
    match account.sizes.get(size) {
        None => Some(format!("DigitalOcean has no size `{size}`")),
        Some(regions) if !regions.contains(region) => {
            Some(format!("size `{size}` is not offered in region `{region}`"))
        }
        Some(_) => None,
    }
}

fn node_size_problem(account: &Account, region: &str, size: &str) -> Option<String> {
    if !account.node_sizes.is_empty() && !account.node_sizes.contains(size) {
        return Some(format!("DOKS offers no node size `{size}`"));
    }
    droplet_size_problem(account, region, size)
}

/// "Did you mean", else the sizes offered in the region, cheapest-sounding first as the API lists them.
fn sizes_hint<'a>(
    account: &Account,
    region: &str,
    size: &str,
    candidates: impl Iterator<Item = &'a String>,
) -> String {
    let offered: Vec<&str> = candidates
        .filter(|slug| {
            account
                .sizes
                .get(slug.as_str())
                .is_some_and(|regions| regions.contains(region))
        })
        .map(String::as_str)
        .collect();
    match super::suggest::closest(size, offered.iter().copied()) {
        Some(suggestion) => format!("did you mean `{suggestion}`?"),
        None if offered.is_empty() => {
            format!("no size is offered in `{region}`: fix the region first")
        }
        None => format!(
            "sizes offered in `{region}` include: {}",
            offered
                .iter()
                .take(12)
                .copied()
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// A minor (`1.33`) must be offered; an exact version (`1.33.1-do.3`) must be of an offered minor. DigitalOcean
/// withdraws old patch releases while clusters keep running them, so an exact version no longer listed is
/// only refused when its minor has gone too.
fn version_problem(account: &Account, version: &str) -> Option<String> {
    let minor = minor_of(version);
    let offered = account
        .kubernetes_versions
        .iter()
        .any(|slug| minor_of(slug) == minor);
    (!offered).then(|| format!("DOKS offers no Kubernetes {minor} in this account"))
}

fn minor_of(version: &str) -> &str {
    let mut dots = version.match_indices('.');
    match dots.nth(1) {
        Some((index, _)) => &version[..index],
        None => version,
    }
}

fn error_with_versions(error: StackError, account: &Account) -> StackError {
    let minors: BTreeSet<&str> = account
        .kubernetes_versions
        .iter()
        .map(|slug| minor_of(slug))
        .collect();
    error.with_hint(format!(
        "write one of the offered minors: {}",
        minors.into_iter().collect::<Vec<_>>().join(", ")
    ))
}

/// The stack's VPC range against the account's other VPCs (one of the stack's own name is its own).
fn vpc_problem(account: &Account, platform: &Platform) -> Option<(String, String)> {
    let ours = parse_cidr(&platform.vpc.cidr)?;
    let others: Vec<(&AccountVpc, (Ipv4Addr, u8))> = account
        .vpcs
        .iter()
        .filter(|vpc| vpc.name != platform.vpc.name)
        .filter_map(|vpc| Some((vpc, parse_cidr(&vpc.ip_range)?)))
        .collect();
    let (clash, _) = others.iter().find(|(_, range)| overlaps(ours, *range))?;
    let taken: Vec<(Ipv4Addr, u8)> = others.iter().map(|(_, range)| *range).collect();
    let hint = match free_range(ours.1, &taken) {
        Some(free) => format!("set `cidr` in [vpc] to a free range, such as `{free}`"),
        None => "set `cidr` in [vpc] to a range no other VPC of the account uses".to_string(),
    };
    Some((
        format!(
            "VPC range {} overlaps {} of the account's VPC `{}` ({})",
            platform.vpc.cidr, clash.ip_range, clash.name, clash.region
        ),
        hint,
    ))
}

/// The first range of `prefix` bits in 10.0.0.0/8 that overlaps none of `taken` nor DOKS's own ranges.
fn free_range(prefix: u8, taken: &[(Ipv4Addr, u8)]) -> Option<String> {
    if !(8..=28).contains(&prefix) {
        return None;
    }
    let step = 1u32 << (32 - u32::from(prefix));
    let reserved: Vec<(Ipv4Addr, u8)> = super::platform::DOKS_RANGES
        .iter()
        .map(|(_, address, prefix)| (*address, *prefix))
        .collect();
    (0..(1u32 << 24) / step)
        .map(|index| (Ipv4Addr::from(0x0A00_0000 + index * step), prefix))
        .find(|candidate| {
            !taken
                .iter()
                .chain(&reserved)
                .any(|range| overlaps(*candidate, *range))
        })
        .map(|(address, prefix)| format!("{address}/{prefix}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const STACK: &str = "[backend]\ntype = \"local\"\n\n[digitalocean]\nregion = \"nyc3\"\nproject = \"wildside\"\n\n[cluster]\nversion = \"1.33\"\n\n[[node_pools]]\nname = \"core\"\nsize = \"s-2vcpu-4gb\"\n";

    fn platform(source: &str) -> Platform {
        super::super::parse_stack(Path::new("stacks/dev.toml"), source, &[])
            .unwrap()
            .platform
            .unwrap()
    }

    fn account() -> Account {
        let nyc3 = BTreeSet::from(["nyc3".to_string()]);
        Account {
            regions: BTreeMap::from([("nyc3".into(), true), ("nyc2".into(), false)]),
            sizes: BTreeMap::from([
                ("s-2vcpu-4gb".into(), nyc3.clone()),
                ("s-4vcpu-8gb".into(), nyc3.clone()),
                ("s-1vcpu-1gb".into(), BTreeSet::new()),
            ]),
            node_sizes: BTreeSet::from(["s-2vcpu-4gb".into(), "s-4vcpu-8gb".into()]),
            kubernetes_versions: BTreeSet::from(["1.33.1-do.3".into(), "1.32.5-do.1".into()]),
            projects: BTreeSet::from(["wildside".into()]),
            vpcs: vec![AccountVpc {
                name: "legacy".into(),
                region: "nyc3".into(),
                ip_range: "10.10.0.0/16".into(),
            }],
        }
    }

    fn problems(source: &str, account: &Account) -> Vec<String> {
        match check_against_account(
            Path::new("stacks/dev.toml"),
            source,
            &platform(source),
            account,
            true,
        ) {
            Ok(()) => Vec::new(),
            Err(errors) => errors.0.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn a_stack_the_account_can_build_passes() {
        let source = format!("{STACK}\n[vpc]\ncidr = \"10.20.0.0/16\"\n");
        assert_eq!(problems(&source, &account()), Vec::<String>::new());
    }

    #[test]
    fn every_problem_is_reported_at_once_with_its_place() {
        let source = STACK
            .replace("\"nyc3\"", "\"nyc2\"")
            .replace("\"wildside\"", "\"wildsde\"")
            .replace("\"1.33\"", "\"1.29\"")
            .replace("s-2vcpu-4gb", "s-2vcpu-4g");
        let found = problems(&source, &account());
        assert_eq!(found.len(), 5, "{found:#?}");
        assert!(
            found[0].starts_with("stacks/dev.toml:5:10: region `nyc2` takes no new resources"),
            "{}",
            found[0]
        );
        assert!(
            found[1].starts_with(
                "stacks/dev.toml:13:8: node pool `core`: DOKS offers no node size `s-2vcpu-4g`"
            ),
            "{}",
            found[1]
        );
        assert!(found[1].contains("fix the region first"), "{}", found[1]);
        assert!(
            found[2].starts_with("stacks/dev.toml:9:11: DOKS offers no Kubernetes 1.29"),
            "{}",
            found[2]
        );
        assert!(found[2].contains("1.32, 1.33"), "{}", found[2]);
        assert!(
            found[3].starts_with("stacks/dev.toml:6:11: project `wildsde` does not exist"),
            "{}",
            found[3]
        );
        assert!(
            found[3].contains("did you mean `wildside`?"),
            "{}",
            found[3]
        );
        // No [vpc]: the default range clashes, and the place is the [digitalocean] table.
        assert!(found[4].starts_with("stacks/dev.toml:4:1: VPC range 10.10.0.0/16 overlaps 10.10.0.0/16 of the account's VPC `legacy` (nyc3)"), "{}", found[4]);
        assert!(found[4].contains("`10.0.0.0/16`"), "{}", found[4]);
    }

    #[test]
    fn a_size_not_offered_in_the_region_is_refused() {
        let source = format!(
            "{}\n[vpc]\ncidr = \"10.20.0.0/16\"\n",
            STACK.replace("s-2vcpu-4gb", "s-1vcpu-1gb")
        );
        let mut account = account();
        account.node_sizes.insert("s-1vcpu-1gb".into());
        let found = problems(&source, &account);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(found[0].contains("size `s-1vcpu-1gb` is not offered in region `nyc3`"));
    }

    #[test]
    fn the_stacks_own_vpc_and_a_withdrawn_patch_release_are_no_problem() {
        let source = STACK.replace("\"1.33\"", "\"1.33.0-do.0\"");
        let mut account = account();
        account.vpcs[0].name = platform(&source).vpc.name;
        assert_eq!(problems(&source, &account), Vec::<String>::new());
    }

    #[test]
    fn a_free_range_skips_taken_and_kubernetes_ranges() {
        let taken = [
            (Ipv4Addr::new(10, 0, 0, 0), 16),
            (Ipv4Addr::new(10, 1, 0, 0), 16),
        ];
        assert_eq!(free_range(16, &taken).as_deref(), Some("10.2.0.0/16"));
        assert_eq!(minor_of("1.33.1-do.3"), "1.33");
        assert_eq!(minor_of("1.33"), "1.33");
    }
}
