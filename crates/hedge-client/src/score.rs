//! Where a candidate's proxy score comes from: a reward-model server ([`RewardClient`]) or a built-in
//! proxy computed from the generation server's own token log-probabilities ([`LogprobProxy`]).
//!
//! `collect` and `serve` take [`Scorer`]s. A log-probability scorer needs no server of its own: it adds
//! the request fields that make the generation server return log-probabilities ([`prepare_request`]) and
//! reads each candidate's score from its choice object.
//!
//! `serve` scores with [`Proxies`]: one scorer, or several combined per request into one score per
//! candidate by an ensemble rule ([`hedge_estimate::ensemble::combine_prompt`]: `mean-z`, `min-z`, `uwo`
//! with its `λ`, `rank-mean`), the members scoring concurrently. A candidate that any member fails to score
//! is left out; the rule combines the scores of the candidates left (each member put on the within-request
//! scale of those candidates).

use futures_util::future::join_all;
use serde_json::{Map, Value};

use hedge_estimate::ensemble::{EnsembleRule, combine_prompt};

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

/// The proxy of `serve`: one scorer, or an ensemble of several.
#[derive(Debug, Clone)]
pub struct Proxies {
    members: Vec<Scorer>,
    rule: Option<(EnsembleRule, f64)>,
}

impl From<Scorer> for Proxies {
    fn from(s: Scorer) -> Self {
        Proxies {
            members: vec![s],
            rule: None,
        }
    }
}

impl From<RewardClient> for Proxies {
    fn from(c: RewardClient) -> Self {
        Scorer::Reward(c).into()
    }
}

/// One member's scores of a request's candidates (in candidate order; `None` where it failed).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MemberScores {
    /// The member ([`Scorer::describe`]).
    pub proxy: String,
    /// Its score of each candidate.
    pub scores: Vec<Option<f64>>,
}

impl Proxies {
    /// An ensemble of at least two `members` combined by `rule` (`lambda`: `uwo`'s λ ≥ 0, finite; else
    /// ignored). Log-probability members must be distinct.
    pub fn ensemble(members: Vec<Scorer>, rule: EnsembleRule, lambda: f64) -> Result<Self> {
        if members.len() < 2 {
            return Err(NetError::Config(format!(
                "an ensemble needs at least two proxies, got {}",
                members.len()
            )));
        }
        if rule.has_lambda() && !(lambda.is_finite() && lambda >= 0.0) {
            return Err(NetError::Config(format!(
                "the {rule} ensemble's lambda must be a finite number >= 0, not {lambda}"
            )));
        }
        for (i, m) in members.iter().enumerate() {
            if let Scorer::Logprob { proxy, .. } = m {
                if members[..i]
                    .iter()
                    .any(|o| matches!(o, Scorer::Logprob { proxy: p, .. } if p == proxy))
                {
                    return Err(NetError::Config(format!("the proxy {proxy} is given twice")));
                }
            }
        }
        Ok(Proxies {
            members,
            rule: Some((rule, lambda)),
        })
    }

    /// The members.
    pub fn members(&self) -> &[Scorer] {
        &self.members
    }

    /// The ensemble rule and λ (`None`: a single scorer).
    pub fn rule(&self) -> Option<(EnsembleRule, f64)> {
        self.rule
    }

    /// Top log-probabilities per token the members need (`None`: none).
    pub fn top_logprobs(&self) -> Option<u32> {
        self.members.iter().filter_map(Scorer::top_logprobs).max()
    }

    /// A short description for messages.
    pub fn describe(&self) -> String {
        let names: Vec<String> = self.members.iter().map(Scorer::describe).collect();
        match self.rule {
            None => names.join(", "),
            Some((rule, lambda)) if rule.has_lambda() => {
                format!("ensemble {rule} (lambda {lambda}) of {}", names.join(", "))
            }
            Some((rule, _)) => format!("ensemble {rule} of {}", names.join(", ")),
        }
    }

    /// The score of each candidate (in order) and, for an ensemble, every member's scores. A candidate
    /// any member failed to score gets that member's error.
    pub async fn score(
        &self,
        prompt: &Prompt,
        candidates: &[&Candidate],
        endpoint: &str,
    ) -> (Vec<Result<f64>>, Option<Vec<MemberScores>>) {
        let mut all = score_all(&self.members, prompt, candidates, endpoint).await;
        let Some((rule, lambda)) = self.rule else {
            return (all.pop().unwrap_or_default(), None);
        };
        let members: Vec<MemberScores> = self
            .members
            .iter()
            .zip(&all)
            .map(|(m, r)| MemberScores {
                proxy: m.describe(),
                scores: r.iter().map(|x| x.as_ref().ok().copied()).collect(),
            })
            .collect();
        let mut per_candidate: Vec<Result<f64>> = Vec::with_capacity(candidates.len());
        let mut usable = Vec::new();
        let mut columns: Vec<std::vec::IntoIter<Result<f64>>> = all.into_iter().map(Vec::into_iter).collect();
        for i in 0..candidates.len() {
            let row: Vec<Result<f64>> = columns
                .iter_mut()
                .map(|c| {
                    c.next()
                        .unwrap_or_else(|| Err(NetError::Config("a proxy returned too few scores".into())))
                })
                .collect();
            match row.into_iter().collect::<Result<Vec<f64>>>() {
                Ok(values) => {
                    usable.push((i, values));
                    per_candidate.push(Ok(f64::NAN));
                }
                Err(e) => per_candidate.push(Err(e)),
            }
        }
        if !usable.is_empty() {
            let by_member: Vec<Vec<f64>> = (0..self.members.len())
                .map(|j| usable.iter().map(|(_, v)| v[j]).collect())
                .collect();
            let refs: Vec<&[f64]> = by_member.iter().map(Vec::as_slice).collect();
            match combine_prompt(rule, &refs, lambda) {
                Ok(combined) => {
                    for ((i, _), x) in usable.iter().zip(combined) {
                        per_candidate[*i] = Ok(x);
                    }
                }
                Err(e) => {
                    for (i, _) in &usable {
                        per_candidate[*i] = Err(NetError::Config(format!("the {rule} ensemble: {e}")));
                    }
                }
            }
        }
        (per_candidate, Some(members))
    }
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

    fn candidate(index: usize, logprobs: &[f64]) -> Candidate {
        let content: Vec<serde_json::Value> = logprobs
            .iter()
            .map(|l| serde_json::json!({"token": "t", "logprob": l, "top_logprobs": [{"token": "t", "logprob": l}, {"token": "u", "logprob": -3.0}]}))
            .collect();
        Candidate {
            index,
            text: "t".repeat(logprobs.len()),
            finish_reason: None,
            choice: serde_json::json!({"message": {"content": "x"}, "logprobs": {"content": content}}),
        }
    }

    #[tokio::test]
    async fn an_ensemble_combines_its_members_per_request() {
        // Three candidates; mean logprobs −1, −0.5, −2 and sums −2, −0.5, −2 (two, one, one token).
        let cs = [
            candidate(0, &[-1.0, -1.0]),
            candidate(1, &[-0.5]),
            candidate(2, &[-2.0]),
        ];
        let refs: Vec<&Candidate> = cs.iter().collect();
        let members = vec![
            Scorer::logprob(LogprobProxy::Mean, 2).unwrap(),
            Scorer::logprob(LogprobProxy::Sum, 2).unwrap(),
        ];
        let p = Proxies::ensemble(members.clone(), EnsembleRule::RankMean, 0.0).unwrap();
        let (scores, per_member) = p.score(&Prompt::Text(String::new()), &refs, "e").await;
        // Mid-ranks: mean (−1, −0.5, −2) → (0.5, 1, 0); sum (−2, −0.5, −2) → ties share rank 1.5 → (0.25, 1, 0.25).
        let scores: Vec<f64> = scores.into_iter().map(|s| s.unwrap()).collect();
        assert_eq!(scores, vec![0.375, 1.0, 0.125]);
        let per_member = per_member.unwrap();
        assert_eq!(per_member[1].scores, vec![Some(-2.0), Some(-0.5), Some(-2.0)]);
        // min-z: the rule itself on the members' scores.
        let p = Proxies::ensemble(members.clone(), EnsembleRule::MinZ, 0.0).unwrap();
        let (scores, _) = p.score(&Prompt::Text(String::new()), &refs, "e").await;
        let want = combine_prompt(EnsembleRule::MinZ, &[&[-1.0, -0.5, -2.0], &[-2.0, -0.5, -2.0]], 0.0).unwrap();
        for (s, w) in scores.iter().zip(&want) {
            assert_eq!(s.as_ref().unwrap(), w);
        }
        // A candidate one member cannot score is left out; the rest are ranked among themselves.
        let mut bad = candidate(1, &[-0.5]);
        bad.choice["logprobs"] = serde_json::Value::Null;
        let refs = vec![&cs[0], &bad, &cs[2]];
        let p = Proxies::ensemble(members, EnsembleRule::RankMean, 0.0).unwrap();
        let (scores, _) = p.score(&Prompt::Text(String::new()), &refs, "e").await;
        assert!(matches!(scores[1], Err(NetError::MissingLogprobs { .. })));
        // mean (−1, −2) → (1, 0); sum (−2, −2) → (0.5, 0.5).
        assert_eq!(scores[0].as_ref().unwrap(), &0.75);
        assert_eq!(scores[2].as_ref().unwrap(), &0.25);
    }

    #[test]
    fn ensembles_are_validated() {
        let a = Scorer::logprob(LogprobProxy::Mean, 3).unwrap();
        let b = Scorer::logprob(LogprobProxy::Sum, 3).unwrap();
        assert!(Proxies::ensemble(vec![a.clone()], EnsembleRule::MeanZ, 0.0).is_err());
        assert!(Proxies::ensemble(vec![a.clone(), a.clone()], EnsembleRule::MeanZ, 0.0).is_err());
        assert!(Proxies::ensemble(vec![a.clone(), b.clone()], EnsembleRule::Uwo, -1.0).is_err());
        assert!(Proxies::ensemble(vec![a.clone(), b.clone()], EnsembleRule::Uwo, f64::NAN).is_err());
        let p = Proxies::ensemble(vec![a, b], EnsembleRule::Uwo, 0.5).unwrap();
        assert_eq!(p.top_logprobs(), Some(3));
        assert!(
            p.describe().starts_with("ensemble uwo (lambda 0.5) of logprob-mean"),
            "{}",
            p.describe()
        );
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
