//! `collect`: generate `n` responses per prompt, score them with the proxy (a reward server, or a
//! log-probability proxy: [`crate::score::Scorer`]), get their true reward (a gold reward server or a
//! verifier), and append calibration rows.
//!
//! # Output
//! JSON lines, one row per response that was generated and scored successfully:
//!
//! ```text
//! {"prompt_id":"q1","response_id":0,"proxy":1.25,"true":0.0,"response":"...","seed":123,"group_size":4}
//! ```
//!
//! `prompt_id`, `response_id`, `proxy` and `true` are the default columns of [`hedge_data::load`];
//! `response_id` is the candidate's index among the `n` drawn (failed candidates leave gaps); `seed` is the
//! generation seed of the prompt; `group_size` is the number of rows the prompt has in the file.
//!
//! With several proxies (e.g. a reward server and `self-certainty`, or two log-probability proxies from
//! the same generations), `proxy` is the first one's score and every proxy's score is also written to its
//! own column ([`Scorer::column`]: `reward`, `logprob_mean`, `logprob_sum`, `self_certainty`), so that
//! `hedge tune --proxy-col self_certainty` tunes on another one. A candidate is written only when every
//! proxy scored it. The Parquet output holds the first proxy only.
//!
//! # Resuming and crashes
//! All rows of a prompt are appended with one write, then flushed and `fsync`ed, before the prompt counts
//! as done. Rerunning the same command skips the prompts whose rows are all in the file. On start, a
//! torn last line, or a last prompt with fewer rows than its `group_size` (a crash in the middle of its
//! write), is cut off (the file is truncated to the end of the last complete prompt), so `kill -9` at
//! any moment loses no completed prompt and never leaves duplicates. A prompt whose every candidate failed
//! writes nothing and is tried again by the next run.
//!
//! With an output name ending in `.parquet`, the resumable JSON-lines journal is `<out>.partial.jsonl`;
//! at the end the journal's rows (without the response text) are written to `<out>` with
//! [`hedge_data::CalibrationWriter`].

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{Map, Value, json};

use crate::error::{NetError, Result};
use crate::generate::{ApiKind, GenClient, Usage};
use crate::prompts::PromptRecord;
use crate::reward::{Prompt, RewardClient};
use crate::score::{self, Scorer};
use crate::verify::Verifier;

/// Where true rewards come from.
#[derive(Debug, Clone)]
pub enum TrueReward {
    /// A second ("gold") reward server, scoring the same texts as the proxy.
    Gold(RewardClient),
    /// A built-in verifier against each prompt's `reference`.
    Verifier(Verifier),
}

/// Settings of a `collect` run.
#[derive(Debug, Clone)]
pub struct CollectOptions {
    /// Responses per prompt.
    pub n: usize,
    /// Base seed; prompt `id` is generated with seed `derive_seed(seed, id)`.
    pub seed: u64,
    /// Prompts in flight at once.
    pub concurrency: usize,
    /// Extra request fields for every generation request (`temperature`, `max_tokens`, `top_p`, ...).
    pub params: Map<String, Value>,
}

impl CollectOptions {
    /// `n` responses per prompt, seed 0, 8 prompts at once, no extra fields.
    pub fn new(n: usize) -> Self {
        CollectOptions {
            n,
            seed: 0,
            concurrency: 8,
            params: Map::new(),
        }
    }
}

/// What happened to one prompt.
#[derive(Debug, Clone)]
pub struct PromptOutcome {
    /// The prompt id.
    pub id: String,
    /// Rows written.
    pub rows: usize,
    /// Candidates that failed (generation, proxy score or true reward).
    pub failed: usize,
    /// Tokens used.
    pub usage: Usage,
    /// The first failure, if any.
    pub first_error: Option<String>,
}

/// Receives progress events (the CLI draws a progress bar with them).
pub trait Progress: Send + Sync {
    /// Called once: prompts in the file and prompts already complete in the output.
    fn start(&self, _total: u64, _already_done: u64) {}
    /// Called after each prompt's rows are durably written (or after it failed entirely).
    fn prompt_done(&self, _outcome: &PromptOutcome) {}
    /// Called once at the end.
    fn finish(&self) {}
}

/// A [`Progress`] that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;
impl Progress for NoProgress {}

/// Totals of a `collect` run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CollectSummary {
    /// Prompts in the prompts file.
    pub prompts: usize,
    /// Prompts already complete in the output before this run.
    pub already_done: usize,
    /// Prompts completed by this run.
    pub completed: usize,
    /// Prompts of which every candidate failed (nothing written; retried on the next run).
    pub failed_prompts: usize,
    /// Rows written by this run.
    pub responses: usize,
    /// Candidates that failed in this run.
    pub failed_candidates: usize,
    /// Bytes cut off a torn or incomplete end of the output before starting.
    pub repaired_bytes: u64,
    /// Tokens used by this run.
    pub usage: Usage,
    /// Wall time of this run.
    pub elapsed: Duration,
}

/// The seed used for prompt `id`: a hash of the base seed and the id, below 2³⁰ (so `seed + i` of
/// fanned-out requests stays a valid 32-bit seed for every server).
pub fn derive_seed(seed: u64, id: &str) -> u64 {
    // FNV-1a over the seed and the id, then a splitmix64 finaliser.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in seed.to_le_bytes().iter().chain(id.as_bytes()) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^= h >> 31;
    h % (1 << 30)
}

/// The journal (resumable JSON lines) written for an output path: the path itself, or
/// `<out>.partial.jsonl` for a Parquet output.
pub fn journal_path(out: &Path) -> PathBuf {
    if is_parquet(out) {
        let mut s = out.as_os_str().to_owned();
        s.push(".partial.jsonl");
        PathBuf::from(s)
    } else {
        out.to_path_buf()
    }
}

fn is_parquet(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet") || e.eq_ignore_ascii_case("pq"))
}

/// The state of an existing journal.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JournalState {
    /// Prompts whose rows are all present.
    pub complete: HashSet<String>,
    /// Length of the valid prefix (everything after it is a torn line or an incomplete last prompt).
    pub valid_len: u64,
    /// Length of the file.
    pub file_len: u64,
}

/// Scans a journal: complete prompts and the length of its valid prefix. A missing file is empty.
pub fn scan_journal(path: &Path) -> Result<JournalState> {
    let name = path.display().to_string();
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(JournalState::default()),
        Err(e) => return Err(NetError::io(name, e)),
    };
    let file_len = file.metadata().map_err(|e| NetError::io(&name, e))?.len();
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut state = JournalState {
        file_len,
        ..Default::default()
    };
    let mut buf = Vec::new();
    let mut offset = 0u64;
    let mut line = 0usize;
    let mut open: Option<OpenPrompt> = None;
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf).map_err(|e| NetError::io(&name, e))?;
        if n == 0 {
            break;
        }
        line += 1;
        offset += n as u64;
        if buf.last() != Some(&b'\n') {
            // A torn last line.
            break;
        }
        let text = String::from_utf8_lossy(&buf);
        if text.trim().is_empty() {
            if open.is_none() {
                state.valid_len = offset;
            }
            continue;
        }
        let Some((id, size)) = journal_row(&text, offset == file_len, &name, line)? else {
            break;
        };
        if let Some(id) = OpenPrompt::add_row(&mut open, id, size).map_err(|m| corrupt(&name, line, m))? {
            state.complete.insert(id);
            state.valid_len = offset;
        }
    }
    Ok(state)
}

/// A journal line that hedge collect cannot have written (`line` is 1-based).
fn corrupt(name: &str, line: usize, message: String) -> NetError {
    NetError::Output {
        path: name.to_string(),
        line,
        message,
    }
}

/// The prompt id and group size of a non-blank journal line; `None` for an unparsable last line
/// (`last`), which is a torn write that happened to end in '\n'.
fn journal_row(text: &str, last: bool, name: &str, line: usize) -> Result<Option<(String, u64)>> {
    let v: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) if last => {
            tracing::debug!(line, error = %e, "dropping an unparsable last line");
            return Ok(None);
        }
        Err(e) => {
            return Err(corrupt(
                name,
                line,
                format!("not a JSON object ({e}); not a file written by hedge collect?"),
            ));
        }
    };
    let id = match v.get("prompt_id") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => {
            return Err(corrupt(
                name,
                line,
                "no \"prompt_id\"; not a file written by hedge collect?".into(),
            ));
        }
    };
    let size = v
        .get("group_size")
        .and_then(Value::as_u64)
        .filter(|&k| k >= 1)
        .ok_or_else(|| {
            corrupt(
                name,
                line,
                "no \"group_size\"; not a file written by hedge collect?".into(),
            )
        })?;
    Ok(Some((id, size)))
}

/// The prompt block being read: its id, its group size and the rows seen so far.
struct OpenPrompt {
    id: String,
    size: u64,
    seen: u64,
}

impl OpenPrompt {
    /// Counts a row of prompt `id` with group size `size` in the open block (opening one if there is
    /// none). Returns the id when that completes the block, which is then closed; a row of another
    /// prompt before the block is complete is an error.
    fn add_row(open: &mut Option<OpenPrompt>, id: String, size: u64) -> std::result::Result<Option<String>, String> {
        let block = open.get_or_insert_with(|| OpenPrompt {
            id: id.clone(),
            size,
            seen: 0,
        });
        if block.id != id || block.size != size {
            return Err(format!(
                "rows of prompt {id:?} interleave with the unfinished prompt {:?}",
                block.id
            ));
        }
        block.seen += 1;
        if block.seen == block.size {
            *open = None;
            return Ok(Some(id));
        }
        Ok(None)
    }
}

/// Opens the journal for appending, cutting off a torn or incomplete end first. Returns the file, the
/// prompts already complete and the bytes cut off.
fn open_journal(path: &Path) -> Result<(File, HashSet<String>, u64)> {
    let name = path.display().to_string();
    let state = scan_journal(path)?;
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| NetError::io(&name, e))?;
    let cut = state.file_len - state.valid_len;
    if cut > 0 {
        tracing::warn!(path = %name, bytes = cut, "cutting off a torn or incomplete end left by an interrupted run");
        file.set_len(state.valid_len).map_err(|e| NetError::io(&name, e))?;
        file.sync_all().map_err(|e| NetError::io(&name, e))?;
    }
    Ok((file, state.complete, cut))
}

/// One prompt, end to end: generate, score, verify. Never fails; failures are counted in the outcome.
async fn run_prompt(
    p: &PromptRecord,
    llm: &GenClient,
    proxies: &[Scorer],
    truth: &TrueReward,
    opts: &CollectOptions,
) -> (PromptOutcome, Vec<u8>) {
    let seed = derive_seed(opts.seed, &p.id);
    let mut body = opts.params.clone();
    let kind = match &p.prompt {
        Prompt::Text(t) => {
            body.insert("prompt".into(), Value::String(t.clone()));
            ApiKind::Completions
        }
        Prompt::Messages(m) => {
            body.insert("messages".into(), Value::Array(m.clone()));
            ApiKind::Chat
        }
    };
    body.insert("seed".into(), Value::from(seed));
    score::prepare_request(proxies, kind, &mut body);
    let generation = llm.generate(kind, &body, opts.n).await;
    let mut first_error: Option<String> = None;
    let mut note = |e: &NetError| {
        if first_error.is_none() {
            first_error = Some(e.to_string());
        }
    };
    let mut ok = Vec::new();
    for c in &generation.candidates {
        match c {
            Ok(c) => ok.push(c),
            Err(e) => note(e),
        }
    }
    let texts: Vec<&str> = ok.iter().map(|c| c.text.as_str()).collect();
    let endpoint = llm.endpoint(kind);
    let scored = score::score_all(proxies, &p.prompt, &ok, &endpoint).await;
    let truths: Vec<Result<f64>> = match truth {
        TrueReward::Gold(g) => g.score(&p.prompt, &texts).await,
        TrueReward::Verifier(v) => {
            let reference = p.reference.as_deref().unwrap_or_default();
            texts.iter().map(|t| Ok(v.score(t, reference))).collect()
        }
    };
    let mut per_scorer: Vec<_> = scored.into_iter().map(Vec::into_iter).collect();
    let mut rows = Vec::new();
    for (c, y) in ok.iter().zip(truths) {
        let xs: Vec<Result<f64>> = per_scorer
            .iter_mut()
            .map(|s| s.next().unwrap_or_else(|| Err(missing_score())))
            .collect();
        match xs.into_iter().chain(std::iter::once(y)).collect::<Result<Vec<f64>>>() {
            Ok(mut values) => {
                let y = values.pop().expect("the true reward");
                rows.push((c, values, y));
            }
            Err(e) => note(&e),
        }
    }
    let mut block = Vec::new();
    for (c, xs, y) in &rows {
        let mut row = json!({
            "prompt_id": p.id, "response_id": c.index, "proxy": xs[0], "true": y,
            "response": c.text, "seed": seed, "group_size": rows.len(),
        });
        if proxies.len() > 1 {
            for (s, x) in proxies.iter().zip(xs) {
                row[s.column()] = json!(x);
            }
        }
        serde_json::to_writer(&mut block, &row).expect("rows serialise");
        block.push(b'\n');
    }
    let outcome = PromptOutcome {
        id: p.id.clone(),
        rows: rows.len(),
        failed: opts.n - rows.len(),
        usage: generation.usage,
        first_error,
    };
    (outcome, block)
}

/// A scorer returned fewer results than candidates (never, for the scorers of this crate).
fn missing_score() -> NetError {
    NetError::Config("a proxy returned fewer scores than candidates".into())
}

/// Runs `collect` over `prompts`, appending to `out` (see the module documentation). `proxies`: one or
/// more, the first one's score in the `proxy` column.
pub async fn collect(
    prompts: &[PromptRecord],
    out: &Path,
    llm: &GenClient,
    proxies: &[Scorer],
    truth: &TrueReward,
    opts: &CollectOptions,
    progress: &dyn Progress,
) -> Result<CollectSummary> {
    let started = Instant::now();
    score::check_distinct(proxies)?;
    if opts.n == 0 {
        return Err(NetError::Config("n must be at least 1".into()));
    }
    if opts.concurrency == 0 {
        return Err(NetError::Config("concurrency must be at least 1".into()));
    }
    if let Some(ext) = out.extension().and_then(|e| e.to_str()) {
        if ext.eq_ignore_ascii_case("csv") {
            return Err(NetError::Config(format!(
                "{}: collect writes JSON lines (.jsonl) or Parquet (.parquet), not CSV",
                out.display()
            )));
        }
    }
    if let TrueReward::Verifier(v) = truth {
        if let Some(p) = prompts.iter().find(|p| p.reference.is_none()) {
            return Err(NetError::Config(format!(
                "--verifier {v} needs a \"reference\" in every prompt; prompt {:?} (line {}) has none",
                p.id, p.line
            )));
        }
    }
    let journal = journal_path(out);
    let journal_name = journal.display().to_string();
    let (file, complete, repaired_bytes) = open_journal(&journal)?;
    let file = Arc::new(Mutex::new(file));
    let todo: Vec<&PromptRecord> = prompts.iter().filter(|p| !complete.contains(&p.id)).collect();
    let already_done = prompts.len() - todo.len();
    progress.start(prompts.len() as u64, already_done as u64);
    let mut summary = CollectSummary {
        prompts: prompts.len(),
        already_done,
        repaired_bytes,
        ..Default::default()
    };

    let mut results = futures_util::stream::iter(todo)
        .map(|p| run_prompt(p, llm, proxies, truth, opts))
        .buffer_unordered(opts.concurrency);
    while let Some((outcome, block)) = results.next().await {
        if !block.is_empty() {
            let file = Arc::clone(&file);
            let name = journal_name.clone();
            tokio::task::spawn_blocking(move || -> Result<()> {
                let mut f = file.lock().unwrap_or_else(|e| e.into_inner());
                f.write_all(&block).map_err(|e| NetError::io(&name, e))?;
                f.flush().map_err(|e| NetError::io(&name, e))?;
                f.sync_data().map_err(|e| NetError::io(&name, e))
            })
            .await
            .map_err(|e| NetError::io(&journal_name, std::io::Error::other(e.to_string())))??;
            summary.completed += 1;
        } else {
            summary.failed_prompts += 1;
            tracing::warn!(prompt = %outcome.id, error = outcome.first_error.as_deref().unwrap_or("?"), "every candidate failed");
        }
        summary.responses += outcome.rows;
        summary.failed_candidates += outcome.failed;
        summary.usage.add(outcome.usage);
        progress.prompt_done(&outcome);
    }
    drop(results);
    progress.finish();
    if is_parquet(out) {
        write_parquet(&journal, out)?;
    }
    summary.elapsed = started.elapsed();
    Ok(summary)
}

/// Writes the rows of a journal to a Parquet calibration file.
fn write_parquet(journal: &Path, out: &Path) -> Result<()> {
    let jname = journal.display().to_string();
    let oname = out.display().to_string();
    let reader = BufReader::new(File::open(journal).map_err(|e| NetError::io(&jname, e))?);
    let tmp = {
        let mut s = out.as_os_str().to_owned();
        s.push(".tmp");
        PathBuf::from(s)
    };
    let tmp_name = tmp.display().to_string();
    let mut w = hedge_data::CalibrationWriter::create(&tmp_name, Some(hedge_data::Format::Parquet))?;
    for (i, line) in reader.lines().enumerate() {
        let line = line.map_err(|e| NetError::io(&jname, e))?;
        if line.trim().is_empty() {
            continue;
        }
        let bad = |m: &str| NetError::Output {
            path: jname.clone(),
            line: i + 1,
            message: m.to_string(),
        };
        let v: Value = serde_json::from_str(&line).map_err(|_| bad("invalid JSON"))?;
        let id = v
            .get("prompt_id")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("no prompt_id"))?;
        w.write_row(&hedge_data::Row {
            prompt_id: id,
            response_id: v.get("response_id").and_then(Value::as_u64),
            proxy: v.get("proxy").and_then(Value::as_f64).ok_or_else(|| bad("no proxy"))?,
            truth: v.get("true").and_then(Value::as_f64).ok_or_else(|| bad("no true"))?,
        })?;
    }
    w.finish()?;
    std::fs::rename(&tmp, out).map_err(|e| NetError::io(oname, e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, r: u64, k: u64) -> String {
        format!(
            "{{\"prompt_id\":\"{id}\",\"response_id\":{r},\"proxy\":0.5,\"true\":1.0,\"response\":\"x\",\"seed\":1,\"group_size\":{k}}}\n"
        )
    }

    fn scan(text: &str) -> JournalState {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("o.jsonl");
        std::fs::write(&p, text).unwrap();
        scan_journal(&p).unwrap()
    }

    #[test]
    fn complete_prompts_and_valid_prefix() {
        let good = format!("{}{}{}", row("a", 0, 2), row("a", 1, 2), row("b", 0, 1));
        let s = scan(&good);
        assert_eq!(s.complete, HashSet::from(["a".to_string(), "b".to_string()]));
        assert_eq!(s.valid_len, good.len() as u64);

        // A torn last line.
        let torn = format!("{good}{{\"prompt_id\":\"c\",\"resp");
        let s = scan(&torn);
        assert_eq!(s.valid_len, good.len() as u64);
        assert_eq!(s.complete.len(), 2);

        // A last prompt with fewer rows than its group size.
        let partial = format!("{good}{}", row("c", 0, 3));
        let s = scan(&partial);
        assert_eq!(s.valid_len, good.len() as u64);
        assert!(!s.complete.contains("c"));
    }

    #[test]
    fn foreign_or_interleaved_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("o.jsonl");
        std::fs::write(
            &p,
            "{\"prompt_id\":\"a\",\"proxy\":1,\"true\":0}\n{\"prompt_id\":\"a\",\"proxy\":1,\"true\":0}\n",
        )
        .unwrap();
        assert!(scan_journal(&p).unwrap_err().to_string().contains("group_size"));
        std::fs::write(&p, format!("{}{}{}", row("a", 0, 2), row("b", 0, 1), row("a", 1, 2))).unwrap();
        assert!(scan_journal(&p).unwrap_err().to_string().contains("interleave"));
    }

    #[test]
    fn open_journal_truncates() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("o.jsonl");
        let good = row("a", 0, 1);
        std::fs::write(&p, format!("{good}{}", &row("b", 0, 2)[..20])).unwrap();
        let (_f, complete, cut) = open_journal(&p).unwrap();
        assert_eq!(complete.len(), 1);
        assert!(cut > 0);
        assert_eq!(std::fs::read_to_string(&p).unwrap(), good);
    }

    #[test]
    fn seeds_are_stable_and_small() {
        assert_eq!(derive_seed(1, "q1"), derive_seed(1, "q1"));
        assert_ne!(derive_seed(1, "q1"), derive_seed(2, "q1"));
        assert_ne!(derive_seed(1, "q1"), derive_seed(1, "q2"));
        assert!((0..1000).all(|i| derive_seed(i, "x") < 1 << 30));
    }

    #[test]
    fn parquet_outputs_use_a_journal() {
        assert_eq!(
            journal_path(Path::new("a/b.parquet")),
            PathBuf::from("a/b.parquet.partial.jsonl")
        );
        assert_eq!(journal_path(Path::new("a/b.jsonl")), PathBuf::from("a/b.jsonl"));
    }
}
