//! The hashes every stand-in output is drawn from: [`hash64`], uniforms and normals drawn from a candidate's
//! key, the proxy and gold scores of a whole text, and the latent quality of a candidate. A leaf: it imports no
//! other module of the crate.

/// 64-bit FNV-1a followed by a splitmix64 finaliser.
pub fn hash64(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in *p {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

pub(crate) fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// The proxy score of a text.
pub fn proxy_score(text: &str) -> f64 {
    4.0 * unit(hash64(&[text.as_bytes()])) - 2.0
}

/// The gold ("true") score of a text.
pub fn gold_score(text: &str) -> f64 {
    let u = unit(hash64(&[text.as_bytes()]));
    let noise = unit(hash64(&[b"noise", text.as_bytes()])) - 0.5;
    u * (1.3 - u) + 0.05 * noise
}

/// Where the answer sentence of a generated text begins.
const ANSWER_MARK: &str = "The answer is (";
/// What precedes the assistant's answer in a rendered conversation (`role: content` blocks).
const ASSISTANT_MARK: &str = "assistant: ";
/// Words of a candidate's key before its answer sentence: one less than the fewest words of a generated text,
/// so that the key never begins with a word glued to the prompt.
const KEY_WORDS: usize = 5;

/// The part of a scored text the latent-quality model reads: the same for a candidate text alone and for the
/// candidate rendered after any prompt (see the crate documentation).
///
/// First the text after the last `assistant: ` that begins the text or follows a blank line (a rendered
/// conversation); of that, the last five words before the last `The answer is (` and everything from there on,
/// or, without an answer sentence, the last five space-separated pieces; the whole (rest of the) text if it
/// has fewer.
///
/// ```
/// use hedge_standin::{candidate_key, generate_text};
/// let t = generate_text("Q: 1+1? A:", 7, None, false);
/// assert_eq!(candidate_key(&t), candidate_key(&format!("Q: 1+1? A:{t}")));
/// assert_eq!(candidate_key(&t), candidate_key(&format!("user: hi\n\nassistant: {t}")));
/// assert!(candidate_key(&t).ends_with("}."));
/// ```
pub fn candidate_key(text: &str) -> &str {
    let text = text
        .rmatch_indices(ASSISTANT_MARK)
        .find(|&(i, _)| i == 0 || text[..i].ends_with("\n\n"))
        .map_or(text, |(i, m)| &text[i + m.len()..]);
    // Spaces counted back from the answer: the one right before it, then one per word.
    let (body, spaces) = match text.rfind(ANSWER_MARK) {
        Some(a) => (&text[..a], KEY_WORDS + 1),
        None => (text, KEY_WORDS),
    };
    match body.rmatch_indices(' ').nth(spaces - 1) {
        Some((i, _)) => &text[i + 1..],
        None => text,
    }
}

/// A uniform number on the open interval (0, 1): never exactly 0 or 1.
fn open_unit(h: u64) -> f64 {
    ((h >> 11) as f64 + 0.5) / (1u64 << 53) as f64
}

/// The `k`-th uniform of stream `tag` of a candidate key: an independent 64-bit hash each.
pub(crate) fn key_uniform(tag: &[u8], key: &str, k: u64) -> f64 {
    open_unit(hash64(&[tag, key.as_bytes(), &k.to_le_bytes()]))
}

/// A standard normal number from stream `tag` of a key (Box–Muller on its uniforms 0 and 1).
pub(crate) fn key_normal(tag: &[u8], key: &str) -> f64 {
    let u1 = key_uniform(tag, key, 0);
    let u2 = key_uniform(tag, key, 1);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// The latent quality `q ~ N(0, 1)` of a candidate text: the gold score of [`Scorer::Latent`](crate::Scorer::Latent).
///
/// A deterministic function of the candidate's key ([`candidate_key`]), so also of a prompt and candidate
/// rendered together: Box–Muller on two independent 64-bit hashes of the key.
pub fn latent_quality(text: &str) -> f64 {
    key_normal(b"hedge-standin latent quality", candidate_key(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gold_disagrees_with_proxy_at_the_top() {
        // Among many texts, the best by proxy is not the best by gold.
        let texts: Vec<String> = (0..2000).map(|i| format!("text {i}")).collect();
        let best_proxy = texts
            .iter()
            .max_by(|a, b| proxy_score(a).total_cmp(&proxy_score(b)))
            .unwrap();
        let best_gold = texts.iter().map(|t| gold_score(t)).fold(f64::MIN, f64::max);
        assert!(gold_score(best_proxy) < best_gold - 0.1);
    }
}
