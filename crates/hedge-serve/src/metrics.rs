//! Prometheus metrics of the proxy, rendered in the text exposition format at `/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (seconds) of the request-latency histogram buckets.
pub const LATENCY_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// Counters and the latency histogram of a running proxy.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    failures: Mutex<BTreeMap<&'static str, u64>>,
    feedback_rejected: Mutex<BTreeMap<&'static str, u64>>,
    abandoned: AtomicU64,
    candidates_ok: AtomicU64,
    candidates_gen_failed: AtomicU64,
    candidates_score_failed: AtomicU64,
    bop_capped: AtomicU64,
    in_flight: AtomicI64,
    connections: AtomicI64,
    connections_refused: AtomicU64,
    buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_micros: AtomicU64,
}

impl Metrics {
    /// Counts a finished request to `endpoint` with HTTP `status` and its latency.
    pub fn request(&self, endpoint: &'static str, status: u16, latency: Duration) {
        *self
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry((endpoint, status))
            .or_insert(0) += 1;
        let secs = latency.as_secs_f64();
        for (b, &le) in self.buckets.iter().zip(LATENCY_BUCKETS.iter()) {
            if secs <= le {
                b.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_sum_micros
            .fetch_add(latency.as_micros() as u64, Ordering::Relaxed);
    }

    /// Counts a failed request by reason (`no_candidates`, `overloaded`, `unauthorized`, ...).
    pub fn failure(&self, reason: &'static str) {
        *self
            .failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(reason)
            .or_insert(0) += 1;
    }

    /// Counts refused feedback by reason (`bad_request`, `unknown_request`, `already_labelled`,
    /// `unprocessable`, `reward_out_of_bounds`, `unauthorized`, ...).
    pub fn feedback_rejected(&self, reason: &'static str) {
        *self
            .feedback_rejected
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(reason)
            .or_insert(0) += 1;
    }

    /// Counts a request whose client went away before its answer was ready.
    pub fn abandoned(&self) {
        self.abandoned.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts candidates of one request.
    pub fn candidates(&self, ok: usize, generation_failed: usize, scoring_failed: usize) {
        self.candidates_ok.fetch_add(ok as u64, Ordering::Relaxed);
        self.candidates_gen_failed
            .fetch_add(generation_failed as u64, Ordering::Relaxed);
        self.candidates_score_failed
            .fetch_add(scoring_failed as u64, Ordering::Relaxed);
    }

    /// Counts a BoP draw that exceeded the largest allowed n.
    pub fn bop_capped(&self) {
        self.bop_capped.fetch_add(1, Ordering::Relaxed);
    }

    /// Adjusts the in-flight gauge.
    pub fn in_flight(&self, delta: i64) {
        self.in_flight.fetch_add(delta, Ordering::Relaxed);
    }

    /// Adjusts the open-connections gauge.
    pub fn connections(&self, delta: i64) {
        self.connections.fetch_add(delta, Ordering::Relaxed);
    }

    /// Counts a connection closed at once because `--max-connections` were open.
    pub fn connection_refused(&self) {
        self.connections_refused.fetch_add(1, Ordering::Relaxed);
    }

    /// Connections open now.
    pub fn connections_now(&self) -> i64 {
        self.connections.load(Ordering::Relaxed)
    }

    /// Requests being processed now.
    pub fn in_flight_now(&self) -> i64 {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// The text exposition format (every family through [`family`], the one writer of the format; the
    /// histogram's samples are its buckets, sum and count).
    pub fn render(&self) -> String {
        let mut s = String::with_capacity(4096);
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed).to_string();
        let one = |v: String| vec![(String::new(), v)];
        let requests: Vec<(String, String)> = self
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|((endpoint, status), n)| (format!("endpoint=\"{endpoint}\",status=\"{status}\""), n.to_string()))
            .collect();
        family(
            &mut s,
            "hedge_requests_total",
            "counter",
            "Requests to the proxy's generation endpoints, by endpoint and HTTP status.",
            &requests,
        );
        let by_reason = |m: &Mutex<BTreeMap<&'static str, u64>>| -> Vec<(String, String)> {
            m.lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .map(|(reason, n)| (format!("reason=\"{reason}\""), n.to_string()))
                .collect()
        };
        family(
            &mut s,
            "hedge_failures_total",
            "counter",
            "Requests that did not get an answer, by reason.",
            &by_reason(&self.failures),
        );
        family(
            &mut s,
            "hedge_feedback_rejected_total",
            "counter",
            "Feedback (POST /v1/hedge/feedback) refused, by reason.",
            &by_reason(&self.feedback_rejected),
        );
        family(
            &mut s,
            "hedge_requests_abandoned_total",
            "counter",
            "Requests whose client went away before the answer was ready.",
            &one(get(&self.abandoned)),
        );
        let candidates: Vec<(String, String)> = [
            ("ok", &self.candidates_ok),
            ("generation_failed", &self.candidates_gen_failed),
            ("scoring_failed", &self.candidates_score_failed),
        ]
        .into_iter()
        .map(|(outcome, v)| (format!("outcome=\"{outcome}\""), get(v)))
        .collect();
        family(
            &mut s,
            "hedge_candidates_total",
            "counter",
            "Candidates drawn, by outcome.",
            &candidates,
        );
        family(
            &mut s,
            "hedge_bop_capped_total",
            "counter",
            "Best-of-Poisson draws cut down to the largest allowed n.",
            &one(get(&self.bop_capped)),
        );
        family(
            &mut s,
            "hedge_in_flight_requests",
            "gauge",
            "Requests being processed.",
            &one(self.in_flight.load(Ordering::Relaxed).to_string()),
        );
        family(
            &mut s,
            "hedge_open_connections",
            "gauge",
            "Client connections open.",
            &one(self.connections.load(Ordering::Relaxed).to_string()),
        );
        family(
            &mut s,
            "hedge_connections_refused_total",
            "counter",
            "Connections closed at once because --max-connections were open.",
            &one(get(&self.connections_refused)),
        );
        let count = self.latency_count.load(Ordering::Relaxed);
        let mut histogram: Vec<(String, String)> = self
            .buckets
            .iter()
            .zip(LATENCY_BUCKETS.iter())
            .map(|(b, le)| (format!("le=\"{le}\""), get(b)))
            .collect();
        histogram.push(("le=\"+Inf\"".into(), count.to_string()));
        family(
            &mut s,
            "hedge_request_duration_seconds",
            "histogram",
            "Time from receiving a request to its answer.",
            &[],
        );
        for (labels, value) in histogram {
            let _ = writeln!(s, "hedge_request_duration_seconds_bucket{{{labels}}} {value}");
        }
        let sum = self.latency_sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(s, "hedge_request_duration_seconds_sum {sum}");
        let _ = writeln!(s, "hedge_request_duration_seconds_count {count}");
        s
    }
}

/// One metric family in the text exposition format: `# HELP`, `# TYPE`, then one line per sample
/// (`labels` without braces, empty for none).
pub(crate) fn family(out: &mut String, name: &str, kind: &str, help: &str, samples: &[(String, String)]) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    for (labels, value) in samples {
        if labels.is_empty() {
            let _ = writeln!(out, "{name} {value}");
        } else {
            let _ = writeln!(out, "{name}{{{labels}}} {value}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_cumulative_buckets() {
        let m = Metrics::default();
        m.request("chat", 200, Duration::from_millis(7));
        m.request("chat", 502, Duration::from_millis(200));
        m.failure("no_candidates");
        m.candidates(3, 1, 0);
        let t = m.render();
        assert!(t.contains("hedge_requests_total{endpoint=\"chat\",status=\"200\"} 1"));
        assert!(t.contains("hedge_request_duration_seconds_bucket{le=\"0.01\"} 1"));
        assert!(t.contains("hedge_request_duration_seconds_bucket{le=\"0.25\"} 2"));
        assert!(t.contains("hedge_request_duration_seconds_bucket{le=\"+Inf\"} 2"));
        assert!(t.contains("hedge_failures_total{reason=\"no_candidates\"} 1"));
        assert!(t.contains("hedge_candidates_total{outcome=\"generation_failed\"} 1"));
        m.feedback_rejected("unknown_request");
        m.abandoned();
        let t = m.render();
        assert!(
            t.contains("hedge_feedback_rejected_total{reason=\"unknown_request\"} 1"),
            "{t}"
        );
        assert!(
            t.contains("# TYPE hedge_requests_abandoned_total counter\nhedge_requests_abandoned_total 1\n"),
            "{t}"
        );
    }
}
