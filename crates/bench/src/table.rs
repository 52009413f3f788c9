//! The human-readable table printed after the JSON: one line per figure.

/// Render workload results as `workload  figure  value` lines.
pub fn render(results: &[serde_json::Value]) -> String {
    let mut rows: Vec<(String, String, String)> = Vec::new();
    for r in results {
        let name = r
            .get("workload")
            .and_then(|w| w.as_str())
            .unwrap_or("?")
            .to_string();
        if let Some(why) = r.get("skipped").and_then(|s| s.as_str()) {
            rows.push((name, "skipped".into(), why.into()));
            continue;
        }
        for key in ["disk", "figures", "baselines", "ratios"] {
            if let Some(v) = r.get(key) {
                flatten(&name, key, v, &mut rows);
            }
        }
    }
    let w0 = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    let w1 = rows.iter().map(|r| r.1.len()).max().unwrap_or(0);
    rows.iter()
        .map(|(a, b, c)| format!("{a:<w0$}  {b:<w1$}  {c}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn flatten(
    name: &str,
    path: &str,
    v: &serde_json::Value,
    rows: &mut Vec<(String, String, String)>,
) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                flatten(name, &format!("{path}.{k}"), v, rows);
            }
        }
        serde_json::Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                let label = v
                    .get("array")
                    .or_else(|| v.get("entries"))
                    .map(|l| l.to_string().trim_matches('"').to_string())
                    .unwrap_or_else(|| i.to_string());
                flatten(name, &format!("{path}[{label}]"), v, rows);
            }
        }
        other => rows.push((name.to_string(), path.to_string(), other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn flattens_nested_figures_and_skips() {
        let out = super::render(&[
            serde_json::json!({"workload": "W1", "figures": {"put": {"p50_us": 5.0}}}),
            serde_json::json!({"workload": "W5", "skipped": "not yet"}),
        ]);
        assert!(out.contains("W1  figures.put.p50_us  5.0"), "{out}");
        assert!(
            out.contains("W5  skipped") && out.contains("not yet"),
            "{out}"
        );
    }
}
