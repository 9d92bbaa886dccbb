//! Streaming accumulation of rows into the grouped (CSR) [`Calibration`] layout.
//!
//! Rows are appended in reading order. As long as every prompt's rows are contiguous (the usual case) the
//! arrays are already grouped and [`Accumulator::finish`] only drops single-response prompts. When a prompt
//! reappears after another one, the file is remembered as non-grouped and `finish` regroups the rows with a
//! stable counting sort over the recorded runs.
//!
//! With sorting on ([`Accumulator::sorting`]), the rows of the current run are kept in small buffers and each
//! finished run is handed to a second thread, which sorts it (proxy, then true reward) and appends it to the arrays;
//! the reading thread never waits for a sort. Prompts that come in several runs are merged and re-sorted in
//! `finish`.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::mpsc::{SyncSender, sync_channel};
use std::thread::JoinHandle;

use crate::error::shorten;
use crate::{Calibration, DataError, Location};

const NONE: usize = usize::MAX;

/// A response id: text, or an integer standing for its decimal text.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ResponseKey<'a> {
    Text(&'a [u8]),
    Int(u64),
}

/// Accumulates rows of one source.
pub(crate) struct Accumulator {
    path: String,
    prompt_col: String,
    prompt_ids: Vec<String>,
    index: HashMap<String, usize>,
    /// Index of the current prompt, or `NONE` before the first row.
    cur: usize,
    proxy: Vec<f64>,
    truth: Vec<f64>,
    /// Runs of contiguous rows: (prompt index, first row). A run ends where the next one starts.
    runs: Vec<(usize, usize)>,
    /// Set once a prompt reappears after another prompt.
    regroup: bool,
    responses: Option<Responses>,
    /// Rows pushed so far.
    rows: usize,
    /// With sorting on: the thread that sorts finished runs (then `proxy`, `truth` hold the current run only).
    sorter: Option<Sorter>,
    /// Sorting on without a thread: `finish` sorts every prompt.
    sort_all: bool,
    /// Set if the sorting thread stopped taking runs (`finish` then reports an error).
    sorter_failed: bool,
}

/// A message to the sorting thread.
enum Job {
    /// Reserve room for this many more rows.
    Reserve(usize),
    /// A finished run: sort it by proxy and append it.
    Run(Vec<f64>, Vec<f64>),
}

/// The sorting thread of an [`Accumulator`]: receives finished runs in order and appends them, each sorted by
/// [`row_order`], to its own arrays, which it returns when the channel closes.
struct Sorter {
    jobs: SyncSender<Job>,
    handle: JoinHandle<(Vec<f64>, Vec<f64>)>,
}

impl Sorter {
    fn spawn() -> Option<Sorter> {
        let (jobs, rx) = sync_channel::<Job>(256);
        let handle = std::thread::Builder::new()
            .name("hedge-data-sort".into())
            .spawn(move || {
                let (mut proxy, mut truth) = (Vec::new(), Vec::new());
                for job in rx {
                    match job {
                        Job::Reserve(rows) => reserve_rows(&mut proxy, &mut truth, rows),
                        Job::Run(mut p, mut t) => {
                            sort_rows(&mut p, &mut t);
                            proxy.extend_from_slice(&p);
                            truth.extend_from_slice(&t);
                        }
                    }
                }
                (proxy, truth)
            })
            .ok()?;
        Some(Sorter { jobs, handle })
    }
}

/// The order of the rows of a prompt when sorting is on: proxy ascending, ties by true reward ascending (a
/// total order, so a prompt's sorted rows do not depend on the order in which the file lists them).
fn row_order(a: (f64, f64), b: (f64, f64)) -> std::cmp::Ordering {
    a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1))
}

fn is_in_row_order(proxy: &[f64], truth: &[f64]) -> bool {
    (1..proxy.len()).all(|i| row_order((proxy[i - 1], truth[i - 1]), (proxy[i], truth[i])).is_le())
}

/// Reserves room for `rows` more rows, if possible (a hint: a row count read from a corrupt file must not abort
/// the process, so allocation failure is ignored).
fn reserve_rows(proxy: &mut Vec<f64>, truth: &mut Vec<f64>, rows: usize) {
    if proxy.try_reserve(rows).is_err() || truth.try_reserve(rows).is_err() {
        proxy.shrink_to_fit();
        truth.shrink_to_fit();
    }
}

/// Sorts `proxy` (and `truth` alongside) by [`row_order`].
fn sort_rows(proxy: &mut [f64], truth: &mut [f64]) {
    if is_in_row_order(proxy, truth) {
        return;
    }
    // Sorted as pairs of integers ordered as `f64::total_cmp` orders the values (so as [`row_order`]): the
    // same order, compared faster. Equal keys are equal bits, so the result is that of any sort by `row_order`.
    let mut pairs: Vec<(u64, u64)> = proxy
        .iter()
        .zip(truth.iter())
        .map(|(&p, &t)| (order_key(p), order_key(t)))
        .collect();
    pairs.sort_unstable();
    for (i, (p, t)) in pairs.into_iter().enumerate() {
        proxy[i] = from_order_key(p);
        truth[i] = from_order_key(t);
    }
}

/// An integer whose order is the order of `f64::total_cmp` on the values.
#[inline]
fn order_key(v: f64) -> u64 {
    let bits = v.to_bits();
    // Negative values: flip every bit (larger magnitude, smaller key); others: set the sign bit.
    bits ^ (((bits as i64 >> 63) as u64) | (1 << 63))
}

/// The value of an [`order_key`].
#[inline]
fn from_order_key(k: u64) -> f64 {
    // A key with the sign bit set came from a non-negative value.
    let mask = if k >> 63 == 1 { 1 << 63 } else { u64::MAX };
    f64::from_bits(k ^ mask)
}

impl Accumulator {
    /// `track_responses`: whether [`Accumulator::push`] gets response ids to check for duplicates.
    pub(crate) fn new(path: &str, prompt_col: &str, track_responses: bool) -> Self {
        Accumulator {
            path: path.to_string(),
            prompt_col: prompt_col.to_string(),
            prompt_ids: Vec::new(),
            index: HashMap::new(),
            cur: NONE,
            proxy: Vec::new(),
            truth: Vec::new(),
            runs: Vec::new(),
            regroup: false,
            responses: track_responses.then(Responses::default),
            rows: 0,
            sorter: None,
            sort_all: false,
            sorter_failed: false,
        }
    }

    /// With `on`, the rows of each prompt come out sorted by proxy, then true reward, on a second thread while
    /// reading goes on (if the thread cannot be started, `finish` sorts instead).
    pub(crate) fn sorting(mut self, on: bool) -> Self {
        self.sorter = if on { Sorter::spawn() } else { None };
        self.sort_all = on && self.sorter.is_none();
        self
    }

    /// Number of rows pushed so far.
    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    /// Hands the current run to the sorting thread, if there is one.
    fn flush_run(&mut self) {
        if let Some(sorter) = &self.sorter {
            if self.proxy.is_empty() {
                return;
            }
            let cap = self.proxy.len();
            let p = std::mem::replace(&mut self.proxy, Vec::with_capacity(cap));
            let t = std::mem::replace(&mut self.truth, Vec::with_capacity(cap));
            if sorter.jobs.send(Job::Run(p, t)).is_err() {
                self.sorter_failed = true;
            }
        }
    }

    /// Reserves room for the rest of a text file of `total` bytes, extrapolating from the `consumed` bytes
    /// that held the rows pushed so far (with 10% slack: capacity that is never written costs no memory).
    pub(crate) fn reserve_for_size(&mut self, consumed: u64, total: u64) {
        let rows = self.rows();
        if rows == 0 || consumed == 0 || total <= consumed {
            return;
        }
        let per_row = consumed as f64 / rows as f64;
        let remaining = ((total - consumed) as f64 / per_row * 1.1) as usize + 1024;
        self.reserve(remaining);
    }

    /// Reserves room for `rows` more rows, if possible (a hint: a row count read from a corrupt file must not
    /// abort the process, so allocation failure is ignored here).
    pub(crate) fn reserve(&mut self, rows: usize) {
        if let Some(sorter) = &self.sorter {
            let _ = sorter.jobs.send(Job::Reserve(rows));
            return;
        }
        reserve_rows(&mut self.proxy, &mut self.truth, rows);
    }

    /// Sets the prompt of the next row(s). Cheap when the prompt is the current one (a byte comparison);
    /// otherwise looks the id up and starts a new run.
    #[inline]
    pub(crate) fn set_prompt(&mut self, id: &[u8], location: Location) -> Result<(), DataError> {
        if self.cur != NONE && self.prompt_ids[self.cur].as_bytes() == id {
            return Ok(());
        }
        self.switch_prompt(id, location)
    }

    #[cold]
    #[inline(never)]
    fn switch_prompt(&mut self, id: &[u8], location: Location) -> Result<(), DataError> {
        if id.is_empty() {
            return Err(DataError::Missing {
                path: self.path.clone(),
                location,
                column: self.prompt_col.clone(),
            });
        }
        let Ok(id) = std::str::from_utf8(id) else {
            return Err(DataError::malformed(
                &self.path,
                location,
                format!("column \"{}\": value is not valid UTF-8", self.prompt_col),
            ));
        };
        self.flush_run();
        let row = self.rows;
        let (idx, reappears) = match self.index.get(id) {
            Some(&idx) => (idx, true),
            None => {
                let idx = self.prompt_ids.len();
                self.prompt_ids.push(id.to_string());
                self.index.insert(id.to_string(), idx);
                (idx, false)
            }
        };
        self.runs.push((idx, row));
        if reappears {
            self.regroup = true;
        }
        if let Some(resp) = &mut self.responses {
            resp.switch(self.cur, idx, reappears);
        }
        self.cur = idx;
        Ok(())
    }

    /// Appends one row to the current prompt. `response` is the response id (ignored unless the accumulator
    /// tracks responses; `None` or empty means "no id", which is not checked).
    #[inline]
    pub(crate) fn push(
        &mut self,
        response: Option<&[u8]>,
        proxy: f64,
        truth: f64,
        location: Location,
    ) -> Result<(), DataError> {
        self.push_key(response.map(ResponseKey::Text), proxy, truth, location)
    }

    /// Like [`Accumulator::push`], with the response id given as text or as an integer (an integer id equals
    /// the text of its decimal form).
    #[inline]
    pub(crate) fn push_key(
        &mut self,
        response: Option<ResponseKey<'_>>,
        proxy: f64,
        truth: f64,
        location: Location,
    ) -> Result<(), DataError> {
        debug_assert!(self.cur != NONE, "set_prompt must be called before push");
        if let (Some(resp), Some(key)) = (&mut self.responses, response) {
            if !resp.insert(key) {
                return Err(self.duplicate(key, location));
            }
        }
        self.proxy.push(proxy);
        self.truth.push(truth);
        self.rows += 1;
        Ok(())
    }

    /// Appends rows to the current prompt, as [`Accumulator::push`] row by row without response ids would.
    /// Only for an accumulator that does not track responses.
    pub(crate) fn extend_rows(&mut self, proxy: &[f64], truth: &[f64]) {
        debug_assert!(self.cur != NONE, "set_prompt must be called before extend_rows");
        debug_assert!(self.responses.is_none() && proxy.len() == truth.len());
        self.proxy.extend_from_slice(proxy);
        self.truth.extend_from_slice(truth);
        self.rows += proxy.len();
    }

    #[cold]
    fn duplicate(&self, key: ResponseKey<'_>, location: Location) -> DataError {
        let response = match key {
            ResponseKey::Text(t) => shorten(t),
            ResponseKey::Int(n) => n.to_string(),
        };
        DataError::DuplicateResponse {
            path: self.path.clone(),
            location,
            prompt: self.prompt_ids[self.cur].clone(),
            response,
        }
    }

    /// Groups the rows, drops single-response prompts and builds the [`Calibration`].
    pub(crate) fn finish(mut self, source: String) -> Result<Calibration, DataError> {
        self.flush_run();
        let Accumulator {
            path,
            prompt_ids,
            proxy,
            truth,
            runs,
            regroup,
            sorter,
            sort_all,
            sorter_failed,
            ..
        } = self;
        let sorting = sort_all || sorter.is_some();
        let (proxy, truth) = match sorter {
            None => (proxy, truth),
            Some(Sorter { jobs, handle }) => {
                drop(jobs);
                match handle.join() {
                    Ok(arrays) if !sorter_failed => arrays,
                    _ => {
                        let e = std::io::Error::other("the thread sorting rows by proxy stopped");
                        return Err(DataError::io(&path, e));
                    }
                }
            }
        };
        let n = proxy.len();
        if n == 0 {
            return Err(DataError::Empty { path });
        }
        let (offsets, mut proxy, mut truth) = if !regroup {
            // One run per prompt, in prompt order.
            let offsets: Vec<usize> = runs.iter().map(|r| r.1).chain([n]).collect();
            (offsets, proxy, truth)
        } else {
            regroup_runs(prompt_ids.len(), &runs, proxy, truth)
        };
        if sorting && (regroup || sort_all) {
            // Prompts that came in several runs (or every prompt, without a sorting thread).
            let mut run_count = vec![0u32; prompt_ids.len()];
            for &(p, _) in &runs {
                run_count[p] = run_count[p].saturating_add(1);
            }
            for (p, &c) in run_count.iter().enumerate() {
                if c > 1 || sort_all {
                    let r = offsets[p]..offsets[p + 1];
                    sort_rows(&mut proxy[r.clone()], &mut truth[r]);
                }
            }
        }
        Self::drop_singles(path, prompt_ids, offsets, proxy, truth, n, source)
    }

    /// Drops single-response prompts and builds the [`Calibration`].
    fn drop_singles(
        path: String,
        mut prompt_ids: Vec<String>,
        offsets: Vec<usize>,
        mut proxy: Vec<f64>,
        mut truth: Vec<f64>,
        n: usize,
        source: String,
    ) -> Result<Calibration, DataError> {
        let singles = offsets.windows(2).filter(|w| w[1] - w[0] < 2).count();
        let mut offsets = offsets;
        if singles > 0 {
            let mut kept_ids = Vec::with_capacity(prompt_ids.len() - singles);
            let mut kept_offsets = Vec::with_capacity(prompt_ids.len() - singles + 1);
            kept_offsets.push(0);
            let mut w = 0;
            for (i, id) in prompt_ids.into_iter().enumerate() {
                let (s, e) = (offsets[i], offsets[i + 1]);
                if e - s < 2 {
                    continue;
                }
                proxy.copy_within(s..e, w);
                truth.copy_within(s..e, w);
                w += e - s;
                kept_offsets.push(w);
                kept_ids.push(id);
            }
            proxy.truncate(w);
            truth.truncate(w);
            prompt_ids = kept_ids;
            offsets = kept_offsets;
        }
        if prompt_ids.is_empty() {
            return Err(DataError::NoMultiResponsePrompt { path, prompts: singles });
        }
        shrink(&mut proxy);
        shrink(&mut truth);
        Ok(Calibration {
            prompt_ids,
            offsets,
            proxy,
            truth,
            skipped_single: singles,
            rows_read: n,
            source,
        })
    }
}

/// Releases spare capacity when it is large (more than 1/8 of the length).
fn shrink(v: &mut Vec<f64>) {
    if v.capacity() - v.len() > v.len() / 8 {
        v.shrink_to_fit();
    }
}

/// Stable counting sort of the rows by prompt, run by run.
fn regroup_runs(
    prompts: usize,
    runs: &[(usize, usize)],
    proxy: Vec<f64>,
    truth: Vec<f64>,
) -> (Vec<usize>, Vec<f64>, Vec<f64>) {
    let n = proxy.len();
    let run_end = |i: usize| runs.get(i + 1).map_or(n, |r| r.1);
    let mut counts = vec![0usize; prompts];
    for (i, &(p, start)) in runs.iter().enumerate() {
        counts[p] += run_end(i) - start;
    }
    let mut offsets = Vec::with_capacity(prompts + 1);
    offsets.push(0);
    let mut total = 0;
    for c in &counts {
        total += c;
        offsets.push(total);
    }
    let mut cursor: Vec<usize> = offsets[..prompts].to_vec();
    let mut new_proxy = vec![0.0; n];
    let mut new_truth = vec![0.0; n];
    for (i, &(p, start)) in runs.iter().enumerate() {
        let end = run_end(i);
        let len = end - start;
        let at = cursor[p];
        new_proxy[at..at + len].copy_from_slice(&proxy[start..end]);
        new_truth[at..at + len].copy_from_slice(&truth[start..end]);
        cursor[p] += len;
    }
    (offsets, new_proxy, new_truth)
}

/// Response-id bookkeeping for the duplicate check.
///
/// The ids of the current prompt are in `active`. When the prompt changes, its set is frozen into a compact
/// form (the small-integer bitset plus the indices of its other ids in a shared text arena) so that a prompt
/// reappearing later (non-grouped file) is still checked exactly: on its first reappearance, its frozen set is
/// thawed into a persistent live set used from then on. Each prompt is thawed at most once, so a non-grouped
/// file is checked in linear time. The common case (small integer ids) stores no text at all.
#[derive(Default)]
struct Responses {
    /// Texts of ids that are not small integers (each stored once per prompt).
    arena: Vec<u8>,
    /// End of each arena entry.
    entry_ends: Vec<usize>,
    /// Live set of the current prompt, unless that prompt is persistent.
    active: KeySet,
    /// Per prompt: its frozen set, from leaving it after its first run until it reappears.
    frozen: Vec<Option<Frozen>>,
    /// Live sets of prompts that have reappeared.
    persistent: HashMap<usize, KeySet>,
    /// Whether the current prompt uses a persistent set.
    current_persistent: bool,
    /// The current prompt (`NONE` before the first row).
    current: usize,
}

/// A frozen response-id set: bitset words and arena entry indices.
struct Frozen {
    bits: Box<[u64]>,
    entries: Box<[usize]>,
}

impl Responses {
    /// Leaves prompt `from` (or `NONE`) for prompt `to`.
    fn switch(&mut self, from: usize, to: usize, reappears: bool) {
        if from != NONE && !self.current_persistent {
            let frozen = self.active.freeze();
            if self.frozen.len() <= from {
                self.frozen.resize_with(from + 1, || None);
            }
            self.frozen[from] = Some(frozen);
        }
        self.current = to;
        self.current_persistent = reappears;
        if reappears && !self.persistent.contains_key(&to) {
            let frozen = self.frozen.get_mut(to).and_then(Option::take);
            let set = KeySet::thaw(frozen, &self.arena, &self.entry_ends);
            self.persistent.insert(to, set);
        }
    }

    /// Records an id for the current prompt; returns false if the prompt already has it. Empty ids are not
    /// recorded.
    #[inline]
    fn insert(&mut self, key: ResponseKey<'_>) -> bool {
        let set = if self.current_persistent {
            self.persistent.get_mut(&self.current).expect("persistent set exists")
        } else {
            &mut self.active
        };
        match key {
            ResponseKey::Text([]) => true,
            ResponseKey::Text(t) => set.insert(t, &mut self.arena, &mut self.entry_ends),
            ResponseKey::Int(n) if n < SMALL_INT_LIMIT => set.insert_small(n as usize),
            ResponseKey::Int(n) => {
                let mut buf = [0u8; 24];
                set.insert(
                    crate::numeric::format_u64(n, &mut buf),
                    &mut self.arena,
                    &mut self.entry_ends,
                )
            }
        }
    }
}

fn entry_text<'a>(arena: &'a [u8], ends: &[usize], entry: usize) -> &'a [u8] {
    let start = if entry == 0 { 0 } else { ends[entry - 1] };
    &arena[start..ends[entry]]
}

/// A set of response ids: a bitset for small canonical integers, and 64-bit hashes (with a byte-exact check
/// on a hash match) for everything else.
#[derive(Default)]
struct KeySet {
    bits: Vec<u64>,
    /// Hash → arena entry of the first id with that hash.
    map: HashMap<u64, usize, BuildHasherDefault<IdentityHasher>>,
    /// Entries whose hash matched a different id (true 64-bit collisions; practically never used).
    overflow: Vec<usize>,
    /// All arena entries of this set.
    entries: Vec<usize>,
}

impl KeySet {
    /// Empties the set into its frozen form.
    fn freeze(&mut self) -> Frozen {
        let used = self.bits.iter().rposition(|&w| w != 0).map_or(0, |i| i + 1);
        let frozen = Frozen {
            bits: self.bits[..used].into(),
            entries: std::mem::take(&mut self.entries).into(),
        };
        self.bits.clear();
        if self.map.capacity() > 1 << 16 {
            self.map = HashMap::default();
        } else {
            self.map.clear();
        }
        self.overflow.clear();
        frozen
    }

    /// Rebuilds a live set from its frozen form.
    fn thaw(frozen: Option<Frozen>, arena: &[u8], ends: &[usize]) -> KeySet {
        let mut set = KeySet::default();
        if let Some(f) = frozen {
            set.bits = f.bits.into_vec();
            for &e in f.entries.iter() {
                set.add_entry(e, arena, ends);
            }
        }
        set
    }

    /// Adds an existing arena entry known not to be in the set.
    fn add_entry(&mut self, entry: usize, arena: &[u8], ends: &[usize]) {
        match self.map.entry(hash_bytes(entry_text(arena, ends, entry))) {
            Entry::Vacant(v) => {
                v.insert(entry);
            }
            Entry::Occupied(_) => self.overflow.push(entry),
        }
        self.entries.push(entry);
    }

    /// Inserts a small integer id (below [`SMALL_INT_LIMIT`]); returns false if the set already holds it.
    #[inline]
    fn insert_small(&mut self, n: usize) -> bool {
        let (word, mask) = (n >> 6, 1u64 << (n & 63));
        if word >= self.bits.len() {
            self.bits.resize(word + 1, 0);
        }
        let seen = self.bits[word] & mask != 0;
        self.bits[word] |= mask;
        !seen
    }

    /// Inserts the id `text`, appending it to the arena if it is new and not a small integer. Returns false
    /// if the set already holds it.
    #[inline]
    fn insert(&mut self, text: &[u8], arena: &mut Vec<u8>, ends: &mut Vec<usize>) -> bool {
        if let Some(n) = small_int(text) {
            return self.insert_small(n);
        }
        let new_entry = ends.len();
        match self.map.entry(hash_bytes(text)) {
            Entry::Vacant(e) => {
                e.insert(new_entry);
            }
            Entry::Occupied(e) => {
                if entry_text(arena, ends, *e.get()) == text
                    || self.overflow.iter().any(|&o| entry_text(arena, ends, o) == text)
                {
                    return false;
                }
                self.overflow.push(new_entry);
            }
        }
        arena.extend_from_slice(text);
        ends.push(arena.len());
        self.entries.push(new_entry);
        true
    }
}

/// Integer ids below this are kept in a bitset.
const SMALL_INT_LIMIT: u64 = 1 << 20;

/// Parses a canonical decimal integer below [`SMALL_INT_LIMIT`] ("0", "17", not "017", "+1" or " 1").
#[inline]
pub(crate) fn small_int(text: &[u8]) -> Option<usize> {
    if text.is_empty() || text.len() > 7 || (text[0] == b'0' && text.len() > 1) {
        return None;
    }
    let mut n = 0usize;
    for &b in text {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n * 10 + (b - b'0') as usize;
    }
    (n < SMALL_INT_LIMIT as usize).then_some(n)
}

/// A fast, well-mixed 64-bit hash of a short byte string.
#[inline]
fn hash_bytes(text: &[u8]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut h = (text.len() as u64).wrapping_mul(K);
    let mut chunks = text.chunks_exact(8);
    for c in &mut chunks {
        let v = u64::from_le_bytes(c.try_into().expect("8 bytes"));
        h = (h ^ v).wrapping_mul(K).rotate_left(29);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut buf = [0u8; 8];
        buf[..rest.len()].copy_from_slice(rest);
        h = (h ^ u64::from_le_bytes(buf)).wrapping_mul(K).rotate_left(29);
    }
    // murmur3 finaliser
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// Hasher for keys that are already hashes.
#[derive(Default)]
struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

#[cfg(test)]
mod tests;
