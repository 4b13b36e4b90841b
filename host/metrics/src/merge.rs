//! The exposition of an agent's metrics: each app's [`Metrics`](crate::Metrics)
//! encodes its own families, every series labelled with the app, and
//! these are joined so that each family appears once, its series from
//! every app under one `# HELP` and `# TYPE`, as Prometheus requires.

/// One family as one text has it: its descriptor lines, its type, and
/// its series.
#[derive(Default)]
struct Family {
    name: String,
    header: Vec<String>,
    kind: String,
    series: Vec<String>,
}

/// The families of one exposition, in order.
fn families(text: &str) -> Vec<Family> {
    let mut families: Vec<Family> = Vec::new();
    for line in text.lines().filter(|l| !l.is_empty() && *l != "# EOF") {
        let Some(descriptor) = line.strip_prefix("# ") else {
            if let Some(family) = families.last_mut() {
                family.series.push(line.to_string());
            }
            continue;
        };
        let mut words = descriptor.splitn(3, ' ');
        let (keyword, name) = (
            words.next().unwrap_or_default(),
            words.next().unwrap_or_default(),
        );
        let family = match families.last_mut() {
            Some(family) if family.name == name => family,
            _ => {
                families.push(Family {
                    name: name.to_string(),
                    ..Family::default()
                });
                let last = families.len() - 1;
                &mut families[last]
            }
        };
        if keyword == "TYPE" {
            family.kind = words.next().unwrap_or_default().to_string();
        }
        family.header.push(line.to_string());
    }
    families
}

/// The families of `texts` (each an exposition of the same format), each
/// once, in the order they first appear, with the series of every text
/// that gives it the same type (a later text that declares another type,
/// as two guests' own metrics of one name may, is left out of it).
/// OpenMetrics' `# EOF` ends the result when `openmetrics`.
pub fn merge(texts: &[String], openmetrics: bool) -> String {
    let mut merged: Vec<Family> = Vec::new();
    for family in texts.iter().flat_map(|t| families(t)) {
        match merged.iter_mut().find(|f| f.name == family.name) {
            Some(first) if first.kind == family.kind => first.series.extend(family.series),
            Some(_) => {}
            None => merged.push(family),
        }
    }
    let mut out = String::new();
    for family in &merged {
        for line in family.header.iter().chain(&family.series) {
            out.push_str(line);
            out.push('\n');
        }
    }
    if openmetrics {
        out.push_str("# EOF\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_family_appears_once_with_every_apps_series() {
        let one = "# HELP wasm_bpf_links BPF links.\n# TYPE wasm_bpf_links gauge\n\
                   wasm_bpf_links{app=\"a\"} 2\n# HELP mine Mine.\n# TYPE mine counter\n\
                   mine_total{app=\"a\"} 1\n# EOF\n";
        let two = "# HELP wasm_bpf_links BPF links.\n# TYPE wasm_bpf_links gauge\n\
                   wasm_bpf_links{app=\"b\"} 1\n# HELP mine Not the same.\n# TYPE mine gauge\n\
                   mine{app=\"b\"} 5\n# EOF\n";
        let merged = merge(&[one.to_string(), two.to_string()], true);
        assert_eq!(
            merged,
            "# HELP wasm_bpf_links BPF links.\n# TYPE wasm_bpf_links gauge\n\
             wasm_bpf_links{app=\"a\"} 2\nwasm_bpf_links{app=\"b\"} 1\n\
             # HELP mine Mine.\n# TYPE mine counter\nmine_total{app=\"a\"} 1\n# EOF\n"
        );
        assert_eq!(merge(&[], false), "");
    }
}
