//! End-to-end tests of `hedge report` and of `--plot` on `hedge tune` / `hedge curve`:
//! the files, their numbers against `hedge tune --json`, the pictures, and the HTML page
//! in a real headless browser (Chromium; set HEDGE_SKIP_BROWSER=1 where there is none).

use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use predicates::str::contains;
use serde_json::Value;

const REALSUMM: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/realsumm/scores.csv");
const REWARDMATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/data/rewardmath/scores.csv"
);
const PROXY: &str = "proxy_rouge_1_precision";
const FILES: [&str; 10] = [
    "reward_vs_kl.svg",
    "reward_vs_kl.png",
    "reward_vs_samples.svg",
    "reward_vs_samples.png",
    "reward_vs_optimum.svg",
    "reward_vs_optimum.png",
    "proxy_vs_true.svg",
    "proxy_vs_true.png",
    "summary.json",
    "report.html",
];

fn hedge() -> Command {
    Command::cargo_bin("hedge").unwrap()
}

fn shared(path: &str) -> &str {
    assert!(
        Path::new(path).exists(),
        "{path} missing: the real-data tests need ../shared beside the repository"
    );
    path
}

fn json_of(args: &[&str]) -> Value {
    let out = hedge().args(args).assert().success().get_output().stdout.clone();
    serde_json::from_slice(&out).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out)))
}

/// The report of the issue's command, made once per test run under `target/tmp/` (kept
/// there, with the browser test's screenshot, for a look).
fn realsumm_report() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("hedge-report-realsumm");
        let _ = std::fs::remove_dir_all(&out);
        let start = Instant::now();
        hedge()
            .args(["report", "--data", shared(REALSUMM), "--proxy-col", PROXY, "--out"])
            .arg(&out)
            .assert()
            .success()
            .stdout(contains(
                "No significant reward hacking: with BoN, the estimated true reward peaks at n = 5, \
                 but the decline after it is within noise on 100 prompts (z = 1.3); about 214 prompts would tell.",
            ));
        eprintln!("hedge report on realsumm took {:.2?} (debug build)", start.elapsed());
        out
    })
}

/// Decode a PNG into (width, height, RGB or RGBA bytes, channels).
fn decode_png(path: &Path) -> (u32, u32, Vec<u8>, usize) {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader
        .next_frame(&mut buf)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    buf.truncate(info.buffer_size());
    let channels = match info.color_type {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        other => panic!("{}: unexpected colour type {other:?}", path.display()),
    };
    (info.width, info.height, buf, channels)
}

/// Standard deviation of the luminance: ~0 for a blank picture.
fn luminance_sd(px: &[u8], channels: usize) -> f64 {
    let lum: Vec<f64> = px
        .chunks(channels)
        .map(|c| 0.299 * c[0] as f64 + 0.587 * c[1] as f64 + 0.114 * c[2] as f64)
        .collect();
    let mean = lum.iter().sum::<f64>() / lum.len() as f64;
    (lum.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / lum.len() as f64).sqrt()
}

/// Pixels within `tol` of `rgb` in every channel.
fn count_colour(px: &[u8], channels: usize, rgb: (u8, u8, u8), tol: i32) -> usize {
    px.chunks(channels)
        .filter(|c| {
            (c[0] as i32 - rgb.0 as i32).abs() <= tol
                && (c[1] as i32 - rgb.1 as i32).abs() <= tol
                && (c[2] as i32 - rgb.2 as i32).abs() <= tol
        })
        .count()
}

fn assert_png_plot(path: &Path) {
    let (w, h, px, ch) = decode_png(path);
    assert_eq!((w, h), (900, 560), "{}", path.display());
    let sd = luminance_sd(&px, ch);
    assert!(sd > 20.0, "{}: looks blank (luminance sd {sd:.1})", path.display());
    let dark = px.chunks(ch).filter(|c| c[0] < 90 && c[1] < 90 && c[2] < 90).count();
    assert!(
        dark > 2000,
        "{}: hardly any dark pixels ({dark}): no text or axes?",
        path.display()
    );
}

fn assert_svg_plot(path: &Path, texts: &[&str]) {
    let svg = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
        "{}",
        path.display()
    );
    for t in texts {
        assert!(svg.contains(t), "{} lacks {t:?}", path.display());
    }
    assert!(svg.matches("<polyline").count() + svg.matches("<path").count() + svg.matches("<circle").count() > 10);
}

/// The first place where two JSON values differ, if any.
fn first_difference(a: &Value, b: &Value, at: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter().find_map(|k| match (x.get(k), y.get(k)) {
                (Some(u), Some(v)) => first_difference(u, v, &format!("{at}.{k}")),
                _ => Some(format!("{at}.{k}: present on one side only")),
            })
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (u, v))| first_difference(u, v, &format!("{at}[{i}]"))),
        _ if a == b => None,
        _ => Some(format!("{at}: {a} vs {b}")),
    }
}

#[test]
fn report_writes_every_file_for_realsumm() {
    let dir = realsumm_report();
    for f in FILES {
        let p = dir.join(f);
        assert!(
            p.is_file() && std::fs::metadata(&p).unwrap().len() > 1000,
            "{} missing or tiny",
            p.display()
        );
    }
    for stem in [
        "reward_vs_kl",
        "reward_vs_samples",
        "reward_vs_optimum",
        "proxy_vs_true",
    ] {
        assert_png_plot(&dir.join(format!("{stem}.png")));
    }
    assert_svg_plot(
        &dir.join("reward_vs_kl.svg"),
        &[
            "KL to reference (nats)",
            "expected true reward",
            "BoN (n = 1…25)",
            "tilt (KL-optimal frontier)",
            "SBoN n = ",
        ],
    );
    // The decline after n = 5 is within noise: no threshold is drawn.
    let kl_svg = std::fs::read_to_string(dir.join("reward_vs_kl.svg")).unwrap();
    assert!(!kl_svg.contains("hacking starts"));
    assert_svg_plot(
        &dir.join("reward_vs_optimum.svg"),
        &[
            "True reward relative to the tuned optimum",
            "BoN (optimum n = 5",
            "the tuned optimum",
        ],
    );
    assert_svg_plot(
        &dir.join("reward_vs_samples.svg"),
        &["expected samples per prompt", "expected true reward", "BoP (μ sweep)"],
    );
    assert_svg_plot(
        &dir.join("proxy_vs_true.svg"),
        &["proxy quantile within the prompt", "mean true reward"],
    );

    let s: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(s["data"]["prompts"], 100);
    assert_eq!(s["data"]["responses"], 2500);
    assert_eq!(s["data"]["responses_per_prompt"]["max"], 25);
    assert!(s["hacking_threshold"].is_null(), "{}", s["hacking_threshold"]);
    assert_eq!(s["methods"]["bon"]["regime"], "hacking");
    assert_eq!(s["methods"]["bon"]["verdict"], "inconclusive");
    // f(θ) − f(θ†) at n = 25 is the loss at the default, paired.
    let rel = s["curves"]["bon"]["relative_to_optimum"].as_array().unwrap();
    let loss = &s["methods"]["bon"]["evidence"]["loss_at_default"];
    assert_eq!(rel.len(), 25);
    assert!((rel[24]["difference"].as_f64().unwrap() + loss["difference"].as_f64().unwrap()).abs() < 1e-12);
    assert!((rel[24]["stderr"].as_f64().unwrap() - loss["stderr"].as_f64().unwrap()).abs() < 1e-12);
    assert_eq!(s["curves"]["bon"]["points"].as_array().unwrap().len(), 25);
    assert!(s["curves"]["sbon"]["curves"].as_array().unwrap().len() >= 2);
    assert_eq!(s["proxy_profile"]["points"].as_array().unwrap().len(), 20);
    assert!(
        s["verdict"][0]
            .as_str()
            .unwrap()
            .starts_with("No significant reward hacking"),
        "{}",
        s["verdict"][0]
    );
    assert!(
        s["verdict"][1].as_str().unwrap().contains("0.0117 ± 0.0088"),
        "{}",
        s["verdict"][1]
    );
    // The random-response reward is BoN at n = 1.
    assert_eq!(
        s["data"]["random_response_reward"],
        s["curves"]["bon"]["points"][0]["expected_true_reward"]
    );

    // Every method's object is exactly what `hedge tune --json` prints for the same inputs.
    for m in ["bon", "bop", "tilt", "sbon"] {
        let t = json_of(&[
            "tune",
            "--data",
            shared(REALSUMM),
            "--proxy-col",
            PROXY,
            "--method",
            m,
            "--json",
        ]);
        if let Some(d) = first_difference(&s["methods"][m], &t, m) {
            panic!("summary.json differs from hedge tune --json at {d}");
        }
    }

    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert_eq!(html.matches("<svg role=\"img\"").count(), 4);
    for needle in [
        "Tuned parameters",
        "No significant reward hacking",
        "about 214 prompts would tell",
        "HedgeTune",
        "n = 5 (root 5.391)",
    ] {
        assert!(html.contains(needle), "report.html lacks {needle:?}");
    }
    for forbidden in ["<link", "src=\"http", "href=\"http", "@import", "url("] {
        assert!(
            !html.contains(forbidden),
            "report.html is not self-contained: {forbidden:?}"
        );
    }
}

#[test]
fn report_with_holdout_matches_tune_and_wording_follows_the_regime() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    hedge()
        .args([
            "report",
            "--data",
            shared(REALSUMM),
            "--proxy-col",
            PROXY,
            "--holdout",
            "0.3",
            "--seed",
            "2",
            "--methods",
            "bon,sbon",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success();
    let s: Value = serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(s["methods"].as_object().unwrap().len(), 2);
    for m in ["bon", "sbon"] {
        let t = json_of(&[
            "tune",
            "--data",
            shared(REALSUMM),
            "--proxy-col",
            PROXY,
            "--method",
            m,
            "--holdout",
            "0.3",
            "--seed",
            "2",
            "--json",
        ]);
        assert!(t.get("holdout").is_some());
        if let Some(d) = first_difference(&s["methods"][m], &t, m) {
            panic!("summary.json differs from hedge tune --json at {d}");
        }
    }
    assert!(
        s["verdict"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p.as_str().unwrap().starts_with("Held-out check: tuned on 70 prompts"))
    );
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("Held-out check") && html.contains("held-out: oracle"));

    // No hacking within n ≤ 10 on RewardMATH with InternLM2: the verdict says so.
    let out = dir.path().join("m");
    hedge()
        .args([
            "report",
            "--data",
            shared(REWARDMATH),
            "--proxy-col",
            "proxy_internlm2",
            "--methods",
            "bon,bop",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success()
        .stdout(contains(
            "No reward hacking in range: with BoN, more samples keep helping up to n = 10.",
        ));
    let s: Value = serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(s["methods"]["bon"]["regime"], "increasing");
    assert!(s["hacking_threshold"].is_null());
    assert_png_plot(&out.join("reward_vs_kl.png"));
}

/// A significant decline (Cauchy proxy noise, 400 prompts x 25): the report says hacking and marks it.
#[test]
fn significant_hacking_is_reported_and_marked() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("cauchy.csv");
    hedge()
        .args([
            "simulate",
            "gaussian",
            "--prompts",
            "400",
            "--responses",
            "25",
            "--df",
            "1",
            "--seed",
            "3",
            "--out",
        ])
        .arg(&data)
        .assert()
        .success();
    let out = dir.path().join("r");
    hedge()
        .args(["report", "--methods", "bon,bop", "--data"])
        .arg(&data)
        .arg("--out")
        .arg(&out)
        .assert()
        .success()
        .stdout(contains("Reward hacking starts at n ≈"));
    let s: Value = serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(s["methods"]["bon"]["verdict"], "hacking");
    assert_eq!(s["methods"]["bon"]["evidence"]["hacking_significant"], true);
    assert_eq!(s["hacking_threshold"]["method"], "bon");
    assert_svg_plot(
        &out.join("reward_vs_kl.svg"),
        &["hacking starts", "hacking threshold: KL ≈"],
    );
    let v0 = s["verdict"][0].as_str().unwrap();
    assert!(v0.contains("using n = 25 costs") && v0.contains(" ± "), "{v0}");
}

#[test]
fn bad_out_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir.txt");
    std::fs::write(&file, "x").unwrap();
    hedge()
        .args(["report", "--data", shared(REALSUMM), "--proxy-col", PROXY, "--out"])
        .arg(&file)
        .assert()
        .code(2)
        .stderr(contains("exists and is not a directory"))
        .stderr(contains("not-a-dir.txt"));
    // A directory that cannot be created (its parent is a file): the OS error, naming the path.
    hedge()
        .args(["report", "--data", shared(REALSUMM), "--proxy-col", PROXY, "--out"])
        .arg(file.join("sub"))
        .assert()
        .code(1)
        .stderr(contains("not-a-dir.txt/sub"));
    hedge()
        .args(["report", "--data", shared(REALSUMM), "--holdout", "1.5", "--out"])
        .arg(dir.path().join("x"))
        .assert()
        .code(2)
        .stderr(contains("--holdout"));
    hedge()
        .args(["report", "--data", shared(REALSUMM)])
        .assert()
        .code(2)
        .stderr(contains("--out"));
}

#[test]
fn plot_flag_on_tune_and_curve() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);
    // tune: SVG and PNG; the JSON on stdout is unchanged by --plot.
    let base = ["tune", "--data", shared(REALSUMM), "--proxy-col", PROXY, "--json"];
    let plain = json_of(&[&base[..], &["--method", "bon"]].concat());
    let svg = p("tune_bon.svg");
    let with_plot = json_of(&[&base[..], &["--method", "bon", "--plot", svg.to_str().unwrap()]].concat());
    assert_eq!(plain, with_plot);
    assert_svg_plot(
        &svg,
        &[
            "n (samples per prompt)",
            "expected true reward",
            "HedgeTune: BoN on scores.csv",
            "n† ≈ 5.39",
        ],
    );
    for (method, file) in [("tilt", "tune_tilt.png"), ("sbon", "tune_sbon.png")] {
        hedge()
            .args([
                "tune",
                "--data",
                shared(REALSUMM),
                "--proxy-col",
                PROXY,
                "--method",
                method,
                "--plot",
            ])
            .arg(p(file))
            .assert()
            .success()
            .stdout(contains("Plot: "));
        assert_png_plot(&p(file));
    }
    // curve: SVG and PNG.
    let grid = [
        "curve",
        "--data",
        shared(REALSUMM),
        "--proxy-col",
        PROXY,
        "--method",
        "bop",
        "--grid",
        "0:24:25",
    ];
    hedge()
        .args(grid)
        .arg("--plot")
        .arg(p("curve_bop.svg"))
        .assert()
        .success();
    assert_svg_plot(
        &p("curve_bop.svg"),
        &[
            "μ (BoP: n = 1 + Poisson(μ) samples)",
            "expected true reward",
            "25 points",
        ],
    );
    hedge()
        .args(grid)
        .args(["--csv", "--plot"])
        .arg(p("curve_bop.png"))
        .assert()
        .success()
        .stdout(contains("expected_true_reward"));
    assert_png_plot(&p("curve_bop.png"));
    // A name without .svg/.png is refused before any work, and nothing is written.
    hedge()
        .args([
            "curve",
            "--data",
            shared(REALSUMM),
            "--method",
            "bon",
            "--grid",
            "1:5:5",
            "--plot",
        ])
        .arg(p("x.pdf"))
        .assert()
        .code(2)
        .stderr(contains("must end in .svg or .png"));
    hedge()
        .args(["tune", "--data", shared(REALSUMM), "--method", "bon", "--plot"])
        .arg(p("x"))
        .assert()
        .code(2)
        .stderr(contains("must end in .svg or .png"));
    assert!(!p("x.pdf").exists() && !p("x").exists());
}

// ---------------------------------------------------------------------------------------------
// The page in a real browser.

fn find_chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("HEDGE_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    for name in ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"] {
        for dir in std::env::split_paths(&path) {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// Run headless Chromium on `url` with `extra` flags; (stdout, stderr). Panics after `limit`.
fn chromium(bin: &Path, url: &str, extra: &[String], limit: Duration) -> (String, String) {
    let profile = tempfile::tempdir().unwrap();
    let out_path = profile.path().join("stdout.txt");
    let err_path = profile.path().join("stderr.txt");
    let mut child = Process::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--no-first-run",
            "--no-default-browser-check",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().join("profile").display()))
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{} did not finish within {limit:?}; stderr:\n{}",
                bin.display(),
                std::fs::read_to_string(&err_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
    let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
    assert!(
        status.success(),
        "{} failed ({status}); stderr:\n{stderr}",
        bin.display()
    );
    (stdout, stderr)
}

/// The `<body ...>` start tag of a serialised DOM.
fn body_tag(dom: &str) -> &str {
    let start = dom.find("<body").expect("a <body> in the DOM");
    &dom[start..start + dom[start..].find('>').expect("end of <body>")]
}

/// Console messages Chromium logged as errors (uncaught exceptions, console.error).
fn console_errors(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| {
            l.contains("CONSOLE") && (l.contains("ERROR") || l.contains("Uncaught") || l.contains("hedge report:"))
        })
        .collect()
}

#[test]
fn report_html_renders_in_headless_chromium() {
    let Some(bin) = find_chromium() else {
        if std::env::var("HEDGE_SKIP_BROWSER").as_deref() == Ok("1") {
            eprintln!("SKIPPED: no chromium on PATH and HEDGE_SKIP_BROWSER=1");
            return;
        }
        panic!(
            "the HTML report is tested in a real browser, but no chromium was found on PATH: \
             install it (Debian: apt-get install chromium; .ci/run does this) or set HEDGE_CHROMIUM=/path/to/chrome, \
             or set HEDGE_SKIP_BROWSER=1 to skip this test knowingly"
        );
    };
    let dir = realsumm_report();
    let page = dir.join("report.html");
    let url = format!("file://{}", page.canonicalize().unwrap().display());
    let start = Instant::now();

    // 1. The DOM after load: the page's own check ran and found every plot drawn.
    let (dom, stderr) = chromium(&bin, &url, &["--dump-dom".into()], Duration::from_secs(60));
    let body = body_tag(&dom);
    assert!(
        body.contains("data-ok=\"yes\""),
        "the page's self-check failed: {body}\n{stderr}"
    );
    assert!(body.contains("data-plots=\"4\""), "{body}");
    assert!(body.contains("data-errors=\"0\""), "script errors: {body}");
    assert_eq!(
        dom.matches("<svg role=\"img\"").count(),
        4,
        "four inline SVG plots in the DOM"
    );
    let errors = console_errors(&stderr);
    assert!(errors.is_empty(), "console errors:\n{}", errors.join("\n"));

    // 2. A screenshot: not blank, and the plots' colours are on it.
    let shot = dir.join("screenshot.png");
    let _ = std::fs::remove_file(&shot);
    let (_, stderr) = chromium(
        &bin,
        &url,
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1000,3000".into(),
        ],
        Duration::from_secs(60),
    );
    assert!(shot.is_file(), "no screenshot written; stderr:\n{stderr}");
    let (w, h, px, ch) = decode_png(&shot);
    assert_eq!((w, h), (1000, 3000));
    let sd = luminance_sd(&px, ch);
    assert!(sd > 15.0, "screenshot looks blank (luminance sd {sd:.1})");
    // Method colours (BoN blue, BoP orange, tilt green) appear, so the plots were painted.
    for (name, rgb) in [
        ("BoN blue", (0, 114, 178)),
        ("BoP orange", (230, 159, 0)),
        ("tilt green", (0, 158, 115)),
    ] {
        let n = count_colour(&px, ch, rgb, 40);
        assert!(n > 200, "{name} hardly appears in the screenshot ({n} pixels)");
    }
    let errors = console_errors(&stderr);
    assert!(errors.is_empty(), "console errors:\n{}", errors.join("\n"));
    eprintln!(
        "browser check took {:.2?}; screenshot {}",
        start.elapsed(),
        shot.display()
    );
}

/// `hedge report --proxy-cols … --ensemble …`: the leaderboard table and the Pareto plot are in
/// summary.json and on the page, and the page renders in a real browser with five plots.
#[test]
fn report_with_proxy_cols_has_the_leaderboard_and_a_pareto_plot() {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("hedge-report-compare");
    let _ = std::fs::remove_dir_all(&out);
    let cols = "proxy_bert_recall_score,proxy_rouge_1_precision,proxy_js-2,proxy_rouge_2_recall";
    hedge()
        .args(["report", "--data", shared(REALSUMM), "--proxy-cols", cols])
        .args([
            "--ensemble",
            "mean-z,uwo",
            "--methods",
            "bon,bop",
            "--max-samples",
            "16",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success();
    let summary: Value = serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let c = &summary["comparison"];
    let board = c["leaderboard"].as_array().unwrap();
    assert_eq!(board.len(), 12, "(4 columns + 2 ensembles) × 2 methods");
    assert_eq!(c["budget"]["max_samples"], 16.0);
    assert!(
        board
            .iter()
            .all(|e| e["expected_samples"].as_f64().unwrap() <= 16.0 + 1e-9)
    );
    assert!(board.iter().any(|e| e["pareto"] == true));
    // The survey is of the leader.
    assert_eq!(
        summary["data"]["columns"]["proxy"], board[0]["proxy"],
        "{}",
        summary["data"]
    );
    for f in ["pareto.svg", "pareto.png"] {
        assert!(out.join(f).is_file(), "{f}");
    }
    assert_png_plot(&out.join("pareto.png"));
    assert_svg_plot(&out.join("pareto.svg"), &["Pareto frontier", "a random response"]);
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("Leaderboard of the proxies"), "leaderboard table missing");
    let Some(bin) = find_chromium() else {
        assert_eq!(
            std::env::var("HEDGE_SKIP_BROWSER").as_deref(),
            Ok("1"),
            "no chromium on PATH (see report_html_renders_in_headless_chromium)"
        );
        return;
    };
    let url = format!("file://{}", out.join("report.html").canonicalize().unwrap().display());
    let (dom, stderr) = chromium(&bin, &url, &["--dump-dom".into()], Duration::from_secs(60));
    let body = body_tag(&dom);
    assert!(body.contains("data-ok=\"yes\""), "self-check failed: {body}\n{stderr}");
    assert!(body.contains("data-plots=\"5\""), "{body}");
    assert!(body.contains("data-errors=\"0\""), "{body}");
    assert!(dom.contains("Pareto frontier"));
}
