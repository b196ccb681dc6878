//! Compact address lists: `module.a.x[0]`, `module.a.x[1]`, … `module.a.x[999]` become `module.a.x[0-999]`, so
//! a comment can list every destroyed resource even when there are thousands.

/// Collapses runs of consecutive integer indexes of the same resource; other addresses pass through in order.
pub fn collapse_indexes<'a>(addresses: impl IntoIterator<Item = &'a str>) -> Vec<(String, usize)> {
    let mut collapsed: Vec<(String, usize)> = Vec::new();
    let mut run: Option<(&str, u64, u64)> = None;
    let flush = |run: &mut Option<(&str, u64, u64)>, out: &mut Vec<(String, usize)>| {
        if let Some((base, first, last)) = run.take() {
            let count = usize::try_from(last - first + 1).unwrap_or(usize::MAX);
            let text = if first == last {
                format!("{base}[{first}]")
            } else {
                format!("{base}[{first}-{last}]")
            };
            out.push((text, count));
        }
    };
    let mut sorted: Vec<&str> = addresses.into_iter().collect();
    sorted.sort_by(|a, b| split_index(a).cmp(&split_index(b)));
    for address in sorted {
        match (split_index(address), &mut run) {
            ((base, Some(index)), Some((run_base, _, last)))
                if base == *run_base && index == *last + 1 =>
            {
                *last = index
            }
            ((base, Some(index)), _) => {
                flush(&mut run, &mut collapsed);
                run = Some((base, index, index));
            }
            ((_, None), _) => {
                flush(&mut run, &mut collapsed);
                collapsed.push((address.to_string(), 1));
            }
        }
    }
    flush(&mut run, &mut collapsed);
    collapsed
}

/// `("module.a.x", Some(3))` for `module.a.x[3]`; `(address, None)` otherwise.
fn split_index(address: &str) -> (&str, Option<u64>) {
    address
        .strip_suffix(']')
        .and_then(|rest| rest.rsplit_once('['))
        .and_then(|(base, index)| index.parse().ok().map(|index| (base, Some(index))))
        .unwrap_or((address, None))
}

#[cfg(test)]
mod tests {
    use super::collapse_indexes;

    #[test]
    fn consecutive_indexes_become_ranges() {
        let mut addresses: Vec<String> = (0..1000).map(|i| format!("module.a.x[{i}]")).collect();
        addresses.push("module.a.y".into());
        addresses.push("module.a.x[1002]".into());
        addresses.push("module.a.z[\"key\"]".into());
        let collapsed = collapse_indexes(addresses.iter().map(String::as_str));
        assert_eq!(
            collapsed,
            vec![
                ("module.a.x[0-999]".to_string(), 1000),
                ("module.a.x[1002]".to_string(), 1),
                ("module.a.y".to_string(), 1),
                ("module.a.z[\"key\"]".to_string(), 1),
            ]
        );
    }
}
