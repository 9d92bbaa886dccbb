//! `hedge select`: apply a method to candidate scores read as JSON lines.
//!
//! Input, one object per line: `{"id": <any JSON>, "scores": [s_1, ..., s_k]}`.
//! Output, one object per input line: `{"id": ..., "index": i, "n_used": n, "seed": S}`.
//! The method looks at the first `n_used = min(n, k)` candidates, where `n` is the
//! method's n (BoN, SBoN) or BoP's draw `1 + Poisson(μ)`. Line `L` uses its own RNG
//! stream `(seed, L)`, so a line's choice does not depend on the lines before it.
//! Blank lines are skipped; the first bad line stops the run with its line number,
//! after every earlier result has been written.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};

use clap::Args;
use hedge_math::select::Selector;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

use super::method_args::MethodFlags;
use crate::error::{CliError, Result};

/// Options of `hedge select`.
#[derive(Debug, Args)]
pub struct SelectArgs {
    #[command(flatten)]
    pub method: MethodFlags,
    /// Seed of the random choices (ties, softmax draws, Poisson draws).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Read from this file instead of standard input (`-` is standard input).
    #[arg(long, default_value = "-")]
    pub input: String,
}

/// Run `hedge select`.
pub fn run(args: &SelectArgs) -> Result<()> {
    let m = &args.method;
    let selector = Selector::new(m.method.into(), m.theta, m.n)?;
    let (name, reader): (String, Box<dyn Read>) = if args.input == "-" {
        ("<stdin>".into(), Box::new(std::io::stdin().lock()))
    } else {
        let f = File::open(&args.input).map_err(|e| CliError::io(&args.input, e))?;
        (args.input.clone(), Box::new(f))
    };
    let stdout = std::io::stdout().lock();
    let mut out = BufWriter::new(stdout);
    let result = process(&selector, args.seed, &name, BufReader::new(reader), &mut out);
    // Whatever happened, what was decided so far reaches the output.
    let flushed = out.flush();
    result?;
    match flushed {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(CliError::io("<stdout>", e)),
        _ => Ok(()),
    }
}

fn bad(name: &str, line: usize, message: impl Into<String>) -> CliError {
    CliError::Input {
        source_name: name.to_string(),
        line,
        message: message.into(),
    }
}

fn process<R: BufRead, W: Write>(selector: &Selector, seed: u64, name: &str, reader: R, out: &mut W) -> Result<()> {
    for (i, line) in reader.lines().enumerate() {
        let lineno = i + 1;
        let line = line.map_err(|e| bad(name, lineno, format!("cannot read: {e}")))?;
        if line.trim().is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(&line).map_err(|e| {
            let msg = e.to_string();
            let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
            bad(name, lineno, format!("invalid JSON at column {}: {msg}", e.column()))
        })?;
        let obj = v
            .as_object()
            .ok_or_else(|| bad(name, lineno, "expected a JSON object"))?;
        let id = obj
            .get("id")
            .cloned()
            .ok_or_else(|| bad(name, lineno, "missing field \"id\""))?;
        let scores = obj
            .get("scores")
            .ok_or_else(|| bad(name, lineno, "missing field \"scores\""))?
            .as_array()
            .ok_or_else(|| bad(name, lineno, "field \"scores\" must be an array of numbers"))?;
        if scores.is_empty() {
            return Err(bad(name, lineno, "field \"scores\" is empty"));
        }
        let mut s = Vec::with_capacity(scores.len());
        for (k, x) in scores.iter().enumerate() {
            match x.as_f64() {
                Some(f) if f.is_finite() => s.push(f),
                _ => return Err(bad(name, lineno, format!("scores[{k}] = {x} is not a finite number"))),
            }
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(lineno as u64);
        let n = selector
            .draw_n(&mut rng)
            .map_err(|e| bad(name, lineno, e.to_string()))?;
        let n_used = (n.min(s.len() as u64)) as usize;
        let index = selector
            .choose(&s[..n_used], &mut rng)
            .map_err(|e| bad(name, lineno, e.to_string()))?;
        let rec = json!({"id": id, "index": index, "n_used": n_used, "seed": seed});
        let write = writeln!(out, "{rec}").and_then(|_| out.flush());
        match write {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
            Err(e) => return Err(CliError::io("<stdout>", e)),
            Ok(()) => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_on(input: &str, sel: Selector) -> (String, Result<()>) {
        let mut out = Vec::new();
        let r = process(&sel, 1, "in.jsonl", input.as_bytes(), &mut out);
        (String::from_utf8(out).unwrap(), r)
    }

    #[test]
    fn bad_line_reports_number_and_keeps_earlier_output() {
        let input = "{\"id\": 1, \"scores\": [0.1, 0.7]}\n\n{\"id\": 2, \"scores\": [1, \"x\"]}\n{\"id\": 3, \"scores\": [1]}\n";
        let (out, r) = run_on(input, Selector::Bon { n: 2 });
        assert_eq!(out, "{\"id\":1,\"index\":1,\"n_used\":2,\"seed\":1}\n");
        let msg = r.unwrap_err().to_string();
        assert!(msg.starts_with("in.jsonl:3: scores[1]"), "{msg}");
    }

    #[test]
    fn invalid_json_names_line_and_column() {
        let (_, r) = run_on("{\"id\": 1, \"scores\": [0.1,]}\n", Selector::Bon { n: 2 });
        let msg = r.unwrap_err().to_string();
        assert!(msg.starts_with("in.jsonl:1: invalid JSON at column"), "{msg}");
    }

    #[test]
    fn bon_uses_first_n_candidates() {
        let (out, r) = run_on("{\"id\": \"a\", \"scores\": [0.1, 0.2, 0.9]}\n", Selector::Bon { n: 2 });
        r.unwrap();
        assert_eq!(out, "{\"id\":\"a\",\"index\":1,\"n_used\":2,\"seed\":1}\n");
    }
}
