//! Timing rules of `shared/WORKLOADS.md`: medians, nearest-rank p99, ops/s, MB = 10^6 bytes.

use std::time::Instant;

/// Per-operation samples in microseconds.
#[derive(Debug, Default, Clone)]
pub struct Samples(pub Vec<f64>);

impl Samples {
    /// Time `n` calls of `f(i)`, one sample each.
    pub fn collect(n: usize, mut f: impl FnMut(usize)) -> Samples {
        let mut v = Vec::with_capacity(n);
        for i in 0..n {
            let t = Instant::now();
            f(i);
            v.push(t.elapsed().as_secs_f64() * 1e6);
        }
        Samples(v)
    }

    fn sorted(&self) -> Vec<f64> {
        let mut v = self.0.clone();
        v.sort_by(f64::total_cmp);
        v
    }

    /// The median (the upper middle for an even count).
    pub fn p50(&self) -> f64 {
        let v = self.sorted();
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    }

    /// Nearest-rank p99: index `ceil(0.99 n) - 1` of the sorted samples.
    pub fn p99(&self) -> f64 {
        let v = self.sorted();
        if v.is_empty() {
            return f64::NAN;
        }
        let idx = ((0.99 * v.len() as f64).ceil() as usize).saturating_sub(1);
        v[idx.min(v.len() - 1)]
    }

    /// n / (sum of per-op times).
    pub fn ops_per_s(&self) -> f64 {
        let total: f64 = self.0.iter().sum();
        self.0.len() as f64 / (total / 1e6)
    }

    /// The figures of a per-operation phase as JSON.
    pub fn summary(&self) -> serde_json::Value {
        serde_json::json!({
            "p50_us": round(self.p50()),
            "p99_us": round(self.p99()),
            "ops_per_s": round(self.ops_per_s()),
        })
    }
}

/// MB/s (10^6 bytes) of `bytes` moved in a median time of `median_us`.
pub fn mb_per_s(bytes: usize, median_us: f64) -> f64 {
    round(bytes as f64 / median_us)
}

/// Round to 3 significant decimals for reports.
pub fn round(x: f64) -> f64 {
    if !x.is_finite() {
        return x;
    }
    let scale = 10f64.powi(3 - x.abs().log10().ceil().max(0.0) as i32);
    let scale = scale.max(1.0);
    (x * scale).round() / scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_follow_the_workload_rules() {
        let s = Samples((1..=200).map(f64::from).collect());
        assert_eq!(s.p50(), 101.0);
        assert_eq!(s.p99(), 198.0); // ceil(0.99 * 200) - 1 = 197 -> value 198
        let s = Samples(vec![5.0, 1.0, 3.0]);
        assert_eq!(s.p50(), 3.0);
        assert_eq!(s.p99(), 5.0);
        assert!((Samples(vec![1.0, 1.0]).ops_per_s() - 1e6).abs() < 1e-6);
    }
}
