//! Shared helpers of the integration tests (included with `mod common;`).
#![allow(dead_code)]

use hedge_estimate::Prepared;

/// CSR arrays from per-prompt (proxy, truth) lists.
pub fn csr(prompts: &[Vec<(f64, f64)>]) -> (Vec<usize>, Vec<f64>, Vec<f64>) {
    let mut offsets = vec![0];
    let (mut proxy, mut truth) = (Vec::new(), Vec::new());
    for p in prompts {
        for &(s, r) in p {
            proxy.push(s);
            truth.push(r);
        }
        offsets.push(proxy.len());
    }
    (offsets, proxy, truth)
}

/// Prepared data from per-prompt (proxy, truth) lists.
pub fn prepared(prompts: &[Vec<(f64, f64)>]) -> Prepared {
    let (o, p, t) = csr(prompts);
    Prepared::new(&o, &p, &t).unwrap()
}

/// A small data set with ties, different m, and n > m situations.
pub fn small_with_ties() -> Vec<Vec<(f64, f64)>> {
    vec![
        vec![
            (0.3, 1.0),
            (0.1, -0.5),
            (0.3, 0.2),
            (0.9, 0.4),
            (0.5, 2.0),
            (0.7, -1.0),
            (0.3, 0.9),
        ],
        vec![(2.0, 0.5), (1.0, 1.5), (3.0, 0.0), (2.0, 1.0), (1.5, 0.25)],
        vec![
            (-1.0, 0.3),
            (0.0, 0.8),
            (1.0, 1.1),
            (2.0, 0.9),
            (3.0, 0.2),
            (4.0, -0.4),
            (5.0, 1.7),
            (6.0, 0.6),
            (7.0, 0.1),
        ],
        vec![(0.2, 0.0), (0.2, 1.0), (0.4, 0.5)],
    ]
}

/// Read a column-named CSV into prompt-grouped (proxy, truth) lists, in order of first appearance.
pub fn load_csv(path: &str, proxy_col: &str) -> Vec<Vec<(f64, f64)>> {
    let mut rdr = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("cannot open {path}: {e}"));
    let headers = rdr.headers().unwrap().clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name} in {path}"))
    };
    let (ip, it, is) = (col("prompt_id"), col("true"), col(proxy_col));
    let mut index = std::collections::HashMap::new();
    let mut prompts: Vec<Vec<(f64, f64)>> = Vec::new();
    for rec in rdr.records() {
        let rec = rec.unwrap();
        let id = rec[ip].to_string();
        let i = *index.entry(id).or_insert_with(|| {
            prompts.push(Vec::new());
            prompts.len() - 1
        });
        prompts[i].push((rec[is].parse().unwrap(), rec[it].parse().unwrap()));
    }
    prompts
}
