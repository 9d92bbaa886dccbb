//! Where a candidate's proxy score comes from: a reward-model server ([`RewardClient`]) or a built-in
//! proxy computed from the generation server's own token log-probabilities ([`LogprobProxy`]).
//!
//! `collect` and `serve` take [`Scorer`]s. A log-probability scorer needs no server of its own: it adds
//! the request fields that make the generation server return log-probabilities ([`prepare_request`]) and
//! reads each candidate's score from its choice object.

use futures_util::future::join_all;
use serde_json::{Map, Value};

use crate::error::{NetError, Result};
use crate::generate::{ApiKind, Candidate};
use crate::logprob::{self, LogprobProxy};
use crate::reward::{Prompt, RewardClient};

/// A source of proxy scores.
#[derive(Debug, Clone)]
pub enum Scorer {
    /// A reward-model server scoring the prompt and response.
    Reward(RewardClient),
    /// A proxy computed from the candidate's token log-probabilities, asking for `top_k` alternatives per
    /// token (build it with [`Scorer::logprob`]).
    Logprob {
        /// Which proxy.
        proxy: LogprobProxy,
        /// Top log-probabilities requested per token.
        top_k: u32,
    },
}

impl From<RewardClient> for Scorer {
    fn from(c: RewardClient) -> Self {
        Scorer::Reward(c)
    }
}

/// Largest `top_k` accepted (llama.cpp takes any; OpenAI's chat API at most 20).
pub const MAX_TOP_LOGPROBS: u32 = 1000;

impl Scorer {
    /// A log-probability proxy asking for `top_k` top log-probabilities per token: at least 1, at most
    /// [`MAX_TOP_LOGPROBS`], and at least 2 for `self-certainty` (a distribution over one token has no spread).
    pub fn logprob(proxy: LogprobProxy, top_k: u32) -> Result<Self> {
        let least = if proxy.needs_top() { 2 } else { 1 };
        if !(least..=MAX_TOP_LOGPROBS).contains(&top_k) {
            return Err(NetError::Config(format!(
                "the {proxy} proxy needs between {least} and {MAX_TOP_LOGPROBS} top log-probabilities per token, not {top_k}"
            )));
        }
        Ok(Scorer::Logprob { proxy, top_k })
    }

    /// A short description for messages: `logprob-mean`, `reward server http://… (tei)`.
    pub fn describe(&self) -> String {
        match self {
            Scorer::Reward(c) => format!("reward server {} ({})", c.base(), c.api()),
            Scorer::Logprob { proxy, top_k } => format!("{proxy} (top {top_k})"),
        }
    }

    /// The column `collect` writes this scorer's score into when there are several: `reward`,
    /// `logprob_mean`, `logprob_sum`, `self_certainty`.
    pub fn column(&self) -> &'static str {
        match self {
            Scorer::Reward(_) => "reward",
            Scorer::Logprob { proxy, .. } => proxy.column(),
        }
    }

    /// Top log-probabilities per token this scorer needs from the generation server (`None`: none).
    pub fn top_logprobs(&self) -> Option<u32> {
        match self {
            Scorer::Reward(_) => None,
            Scorer::Logprob { top_k, .. } => Some(*top_k),
        }
    }

    /// Scores each candidate (answers to `prompt`); one result per candidate, in order. `endpoint` is the
    /// generation endpoint the candidates came from (named by log-probability errors).
    pub async fn score(&self, prompt: &Prompt, candidates: &[&Candidate], endpoint: &str) -> Vec<Result<f64>> {
        match self {
            Scorer::Reward(client) => {
                let texts: Vec<&str> = candidates.iter().map(|c| c.text.as_str()).collect();
                client.score(prompt, &texts).await
            }
            Scorer::Logprob { proxy, .. } => candidates.iter().map(|c| proxy.score(c, endpoint)).collect(),
        }
    }
}

/// Adds to a generation request the log-probability fields the scorers need (the largest `top_k` of
/// them; see [`logprob::request_logprobs`]); nothing when none needs them.
pub fn prepare_request(scorers: &[Scorer], kind: ApiKind, body: &mut Map<String, Value>) {
    if let Some(k) = scorers.iter().filter_map(Scorer::top_logprobs).max() {
        logprob::request_logprobs(kind, body, k);
    }
}

/// Every scorer's results for `candidates`, scored concurrently: `out[s][i]` is scorer `s`'s score of
/// candidate `i`.
pub async fn score_all(
    scorers: &[Scorer],
    prompt: &Prompt,
    candidates: &[&Candidate],
    endpoint: &str,
) -> Vec<Vec<Result<f64>>> {
    join_all(scorers.iter().map(|s| s.score(prompt, candidates, endpoint))).await
}

/// Checks that the scorers' columns are distinct (one reward server, each proxy once).
pub fn check_distinct(scorers: &[Scorer]) -> Result<()> {
    if scorers.is_empty() {
        return Err(NetError::Config(
            "no proxy: give a reward server or a log-probability proxy".into(),
        ));
    }
    for (i, s) in scorers.iter().enumerate() {
        if scorers[..i].iter().any(|t| t.column() == s.column()) {
            return Err(NetError::Config(format!("the proxy {} is given twice", s.describe())));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logprob_scorers_are_validated() {
        assert!(Scorer::logprob(LogprobProxy::Mean, 1).is_ok());
        assert!(Scorer::logprob(LogprobProxy::Mean, 0).is_err());
        let e = Scorer::logprob(LogprobProxy::SelfCertainty, 1).unwrap_err().to_string();
        assert!(e.contains("between 2 and"), "{e}");
        assert!(Scorer::logprob(LogprobProxy::Sum, MAX_TOP_LOGPROBS + 1).is_err());
    }

    #[test]
    fn requests_ask_for_the_largest_top_k() {
        let s = [
            Scorer::logprob(LogprobProxy::Mean, 3).unwrap(),
            Scorer::logprob(LogprobProxy::SelfCertainty, 7).unwrap(),
        ];
        let mut body = Map::new();
        prepare_request(&s, ApiKind::Chat, &mut body);
        assert_eq!(body["top_logprobs"], 7);
        assert_eq!(body["logprobs"], true);
        let mut body = Map::new();
        prepare_request(&[], ApiKind::Chat, &mut body);
        assert!(body.is_empty());
    }

    #[test]
    fn duplicates_are_refused() {
        let a = Scorer::logprob(LogprobProxy::Mean, 3).unwrap();
        let b = Scorer::logprob(LogprobProxy::Mean, 5).unwrap();
        assert!(
            check_distinct(&[a.clone(), b])
                .unwrap_err()
                .to_string()
                .contains("twice")
        );
        assert!(check_distinct(&[]).is_err());
        assert!(check_distinct(&[a]).is_ok());
    }
}
