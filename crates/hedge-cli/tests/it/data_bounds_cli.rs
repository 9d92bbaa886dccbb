//! `--max-abs-reward` and `--max-line-bytes`: every command that loads calibration data refuses rewards beyond
//! the bound and lines beyond the cap (exit code 1, the message naming file, line, column and value), and
//! refuses invalid values of the flags themselves (usage error, exit code 2).

use std::path::PathBuf;

use assert_cmd::Command;
use predicates::str::contains;

fn hedge() -> Command {
    Command::cargo_bin("hedge").unwrap()
}

/// A directory of test files, removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("hedge-bounds-cli-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Dir(dir)
    }

    /// Writes `content` to `file_name` in the directory and returns its path.
    fn file(&self, file_name: &str, content: impl AsRef<[u8]>) -> String {
        let path = self.0.join(file_name);
        std::fs::write(&path, content).unwrap();
        path.to_str().unwrap().to_string()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A valid calibration CSV of 8 prompts × 4 responses, with `extra` appended as further rows.
fn csv_with(extra: &str) -> String {
    let mut s = String::from("prompt_id,proxy,true\n");
    for p in 0..8 {
        for r in 0..4 {
            s.push_str(&format!(
                "q{p},{},{}\n",
                r as f64 * 0.25 + p as f64 * 0.01,
                (r % 2) as f64
            ));
        }
    }
    s + extra
}

#[test]
fn a_reward_beyond_the_bound_is_refused_naming_file_line_column_and_value() {
    let dir = Dir::new("reward");
    // Line 34: the header and 32 rows come first.
    let path = dir.file("data.csv", csv_with("q7,0.5,1e308\n"));
    hedge()
        .args(["tune", "--data", &path, "--method", "bon"])
        .assert()
        .code(1)
        .stderr(contains(format!(
            "{path}:34:3: column \"true\": true reward 1e308 is beyond --max-abs-reward 1000000"
        )));
    let path = dir.file("neg.csv", csv_with("q7,-1000000.5,1\n"));
    hedge()
        .args(["tune", "--data", &path, "--method", "bon"])
        .assert()
        .code(1)
        .stderr(contains(format!(
            "{path}:34:2: column \"proxy\": proxy reward -1000000.5 is beyond --max-abs-reward 1000000"
        )));
    // A raised bound lets the file through, a lowered one refuses more.
    hedge()
        .args(["tune", "--data", &path, "--method", "bon", "--max-abs-reward", "2e6"])
        .assert()
        .success();
    let path = dir.file("ok.csv", csv_with("q7,1000000,-1e6\n"));
    hedge()
        .args(["tune", "--data", &path, "--method", "bon"])
        .assert()
        .success();
    hedge()
        .args(["tune", "--data", &path, "--method", "bon", "--max-abs-reward", "10"])
        .assert()
        .code(1)
        .stderr(contains(format!(
            "{path}:34:2: column \"proxy\": proxy reward 1000000 is beyond --max-abs-reward 10"
        )));
}

#[test]
fn the_bound_applies_to_json_lines_and_standard_input() {
    let dir = Dir::new("jsonl");
    let mut jsonl = String::new();
    for p in 0..4 {
        for r in 0..3 {
            jsonl.push_str(&format!("{{\"prompt_id\":{p},\"proxy\":{r},\"true\":{}}}\n", r % 2));
        }
    }
    jsonl.push_str("{\"prompt_id\":3,\"proxy\":-2e6,\"true\":0}\n");
    let path = dir.file("data.jsonl", &jsonl);
    hedge()
        .args(["curve", "--data", &path, "--method", "bon", "--grid", "1:3:3"])
        .assert()
        .code(1)
        .stderr(contains(format!(
            "{path}:13: column \"proxy\": proxy reward -2000000 is beyond --max-abs-reward 1000000"
        )));
    hedge()
        .args(["info", "--data", "-"])
        .write_stdin(jsonl)
        .assert()
        .code(1)
        .stderr(contains(
            "<stdin>:13: column \"proxy\": proxy reward -2000000 is beyond --max-abs-reward 1000000",
        ));
}

#[test]
fn a_line_beyond_the_cap_is_refused() {
    let dir = Dir::new("line");
    let long = format!("q7,{}0.5,1\n", " ".repeat(2000));
    let path = dir.file("long.csv", csv_with(&long));
    hedge()
        .args(["tune", "--data", &path, "--method", "bon", "--max-line-bytes", "1024"])
        .assert()
        .code(1)
        .stderr(contains(format!(
            "{path}:34: line longer than 1024 bytes (--max-line-bytes)"
        )));
    // The default cap (16 MiB) lets it through.
    hedge()
        .args(["tune", "--data", &path, "--method", "bon"])
        .assert()
        .success();
    // Standard input, JSON lines.
    let jsonl = format!(
        "{{\"prompt_id\":1,\"proxy\":0,\"true\":1}}\n{{\"prompt_id\":1,\"proxy\":1,\"true\":0,\"pad\":\"{}\"}}\n",
        "x".repeat(1100)
    );
    hedge()
        .args(["tune", "--data", "-", "--method", "bon", "--max-line-bytes", "1024"])
        .write_stdin(jsonl)
        .assert()
        .code(1)
        .stderr(contains("<stdin>:2: line longer than 1024 bytes (--max-line-bytes)"));
}

#[test]
fn invalid_flag_values_are_usage_errors() {
    let dir = Dir::new("usage");
    let path = dir.file("ok.csv", csv_with(""));
    for (flag, value) in [
        ("--max-abs-reward", "0"),
        ("--max-abs-reward", "inf"),
        ("--max-abs-reward", "-1"),
        ("--max-abs-reward", "nan"),
        ("--max-abs-reward", "abc"),
        ("--max-line-bytes", "0"),
        ("--max-line-bytes", "-5"),
        ("--max-line-bytes", "99999999999999999999"),
        ("--parse-threads", "0"),
        ("--parse-threads", "3"),
    ] {
        hedge()
            .args(["tune", "--data", &path, "--method", "bon", flag, value])
            .assert()
            .code(2)
            .stderr(contains(flag));
    }
}

#[test]
fn the_flags_are_documented_in_help() {
    for command in ["tune", "curve", "report", "compare", "info"] {
        hedge()
            .args([command, "--help"])
            .assert()
            .success()
            .stdout(contains("--max-abs-reward <X>"))
            .stdout(contains("[default: 1000000]"))
            .stdout(contains("--max-line-bytes <N>"))
            .stdout(contains("[default: 16777216]"));
    }
}

/// `--parse-threads 1` and the default two-thread parse give the same output on a CSV large enough to be
/// split (and the same first error, with its line, when the second half holds one).
#[test]
fn parse_threads_do_not_change_the_result() {
    let dir = Dir::new("threads");
    let mut text = String::from("prompt_id,proxy,true\n");
    let mut t = 0u64;
    while text.len() < 9 << 20 {
        for k in 0..16u64 {
            let x = ((t * 7919 + k * 104_729) % 1000) as f64 / 997.0;
            text.push_str(&format!("p{t},{x:.6},{:.6}\n", (x * 3.1).sin()));
        }
        t += 1;
    }
    let good = dir.file("big.csv", text.clone());
    let run = |path: &str, threads: &str| {
        hedge()
            .args([
                "tune",
                "--data",
                path,
                "--method",
                "bop",
                "--json",
                "--parse-threads",
                threads,
            ])
            .output()
            .unwrap()
    };
    let (one, two) = (run(&good, "1"), run(&good, "2"));
    assert!(one.status.success(), "{}", String::from_utf8_lossy(&one.stderr));
    assert_eq!(one.stdout, two.stdout);
    // A bad value three quarters of the way in: the same error, on the same line, either way.
    let lines: Vec<&str> = text.lines().collect();
    let at = lines.len() * 3 / 4;
    let mut bad = lines.clone();
    bad[at] = "p_bad,0.5,abc";
    let bad = dir.file("bad.csv", bad.join("\n") + "\n");
    let (one, two) = (run(&bad, "1"), run(&bad, "2"));
    assert_eq!(one.status.code(), Some(1));
    assert_eq!(one.stderr, two.stderr);
    assert!(
        String::from_utf8_lossy(&one.stderr).contains(&format!(":{}:", at + 1)),
        "{}",
        String::from_utf8_lossy(&one.stderr)
    );
}
