//! Release timings of the main operations:
//! `cargo run --release -p hedge-estimate --example timings`.
//!
//! Prints wall time and the process's CPU time (user + system, from `/proc/self/stat`
//! where available), which is less sensitive to other load on a shared machine.

use std::time::Instant;

use hedge_estimate::{MethodKind, Prepared, TuneSpec, bootstrap, synth, tune};

/// Process CPU seconds (user + system), if `/proc/self/stat` can be read.
fn cpu_seconds() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let (u, k): (f64, f64) = (f.get(11)?.parse().ok()?, f.get(12)?.parse().ok()?);
    Some((u + k) / 100.0)
}

fn timed<T>(what: &str, run: impl FnOnce() -> T) -> T {
    let (t, c) = (Instant::now(), cpu_seconds());
    let out = run();
    let wall = t.elapsed().as_secs_f64();
    match (c, cpu_seconds()) {
        (Some(a), Some(b)) => println!("{what}: {wall:.3} s wall, {:.2} s CPU", b - a),
        _ => println!("{what}: {wall:.3} s wall"),
    }
    out
}

fn main() {
    println!("rayon threads: {}", rayon::current_num_threads());
    let s = timed("synth::gaussian 10k x 1k", || {
        synth::gaussian(10_000, 1_000, 0.7, 2.5, 1).unwrap()
    });
    let data = timed("Prepared::new 10k x 1k", || {
        Prepared::new(&s.offsets, &s.proxy, &s.truth).unwrap()
    });
    drop(s);
    for kind in [MethodKind::Bop, MethodKind::Bon, MethodKind::Tilt] {
        let o = timed(&format!("tune {kind} after preparation"), || {
            tune(&data, &TuneSpec::new(kind)).unwrap()
        });
        println!(
            "    {} = {:.4} (continuous {:?}), f = {:.4} ± {:.4}, {}",
            o.parameter, o.theta, o.theta_continuous, o.expected_true_reward, o.stderr, o.regime
        );
    }
    let (lo, hi) = timed("bootstrap bop, 1000 resamples, 10k x 1k", || {
        bootstrap(&data, &TuneSpec::new(MethodKind::Bop), 1000, 7, |_| {}).unwrap()
    });
    println!("    95% interval for mu†: [{lo:.3}, {hi:.3}]");
    drop(data);

    let s = synth::gaussian(1_000, 64, 0.7, 2.5, 2).unwrap();
    let small = Prepared::new(&s.offsets, &s.proxy, &s.truth).unwrap();
    let o = timed("SBoN tune beta for n = 16, 1k x 64", || {
        tune(&small, &TuneSpec::new(MethodKind::Sbon).n(16)).unwrap()
    });
    println!(
        "    beta = {:.4}, f = {:.4} ± {:.4}, {}",
        o.theta, o.expected_true_reward, o.stderr, o.regime
    );
}
