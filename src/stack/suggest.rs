//! "Did you mean" suggestions for misspelt keys and names.

/// The candidate closest to `typed`, if it is close enough to be a plausible typo.
pub fn closest<'a>(typed: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|candidate| (strsim::jaro_winkler(typed, candidate), candidate))
        .filter(|(score, candidate)| *score > 0.8 || strsim::levenshtein(typed, candidate) <= 1)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::closest;

    #[test]
    fn suggests_near_misses_only() {
        assert_eq!(closest("bukcet", ["bucket", "region"]), Some("bucket"));
        assert_eq!(closest("s4", ["local", "s3", "pg"]), Some("s3"));
        assert_eq!(closest("zzz", ["bucket", "region"]), None);
    }
}
