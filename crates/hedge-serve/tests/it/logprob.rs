//! Log-probability proxies end to end on loopback: `collect` and the proxy against the stand-in generation
//! server, whose token log-probabilities are known ([`hedge_standin::token_logprobs`]), in OpenAI's and
//! llama.cpp's formats, and against a server that returns none.

use crate::common;

use crate::net::collect::{CollectOptions, NoProgress, TrueReward, collect};
use crate::net::prompts::parse_prompts;
use crate::net::{LogprobProxy, Proxy, ServeConfig, Verifier};
use crate::net::{NetError, Scorer};
use common::*;
use hedge_standin::{LogprobsFormat, StandinConfig, token_logprobs, tokens};
use serde_json::{Value, json};

const PROMPTS: &str = r#"{"id": "t1", "prompt": "Q: 1+1? A:", "reference": "1"}
{"id": "c1", "messages": [{"role": "user", "content": "Pick a letter."}], "reference": "B"}
{"id": "c2", "messages": [{"role": "user", "content": "Say something nice."}], "reference": "2"}
{"id": "t2", "prompt": "Once upon a time", "reference": "3"}
"#;

/// The stand-in's log-probabilities of `text`, scored by hand: (mean, sum, self-certainty with top `k`).
fn by_hand(text: &str, k: usize) -> (f64, f64, f64) {
    let t = tokens(text).len();
    let (mut sum, mut kl) = (0.0, 0.0);
    for i in 0..t {
        let (lp, top) = token_logprobs(text, i, k);
        sum += lp;
        // KL(U_k ‖ top-k renormalised) = −ln k − (1/k) Σ ln(p_j / Σ p)
        let total: f64 = top.iter().map(|(_, l)| l.exp()).sum();
        let kk = top.len() as f64;
        kl += -kk.ln() - top.iter().map(|(_, l)| (l.exp() / total).ln()).sum::<f64>() / kk;
    }
    (sum / t as f64, sum, kl / t as f64)
}

fn rows(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collect_writes_every_logprob_proxy_as_computed_by_hand() {
    for format in [LogprobsFormat::OpenAi, LogprobsFormat::LlamaCpp] {
        let llm = standin(StandinConfig {
            logprobs: format,
            ..Default::default()
        })
        .await;
        let prompts = parse_prompts(PROMPTS.as_bytes(), "p.jsonl").unwrap();
        // llama.cpp's /v1/completions wants its own n_probs.
        let prompts: Vec<_> = match format {
            LogprobsFormat::LlamaCpp => prompts.into_iter().filter(|p| p.id.starts_with('c')).collect(),
            _ => prompts,
        };
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("o.jsonl");
        let proxies = [
            Scorer::logprob(LogprobProxy::SelfCertainty, 4).unwrap(),
            Scorer::logprob(LogprobProxy::Mean, 2).unwrap(),
            Scorer::logprob(LogprobProxy::Sum, 1).unwrap(),
        ];
        let mut opts = CollectOptions::new(3);
        opts.seed = 4;
        let s = collect(
            &prompts,
            &out,
            &gen_client(&llm.url()),
            &proxies,
            &TrueReward::Verifier(Verifier::Boxed),
            &opts,
            &NoProgress,
        )
        .await
        .unwrap();
        assert_eq!((s.completed, s.failed_candidates), (prompts.len(), 0), "{format:?}");
        let rows = rows(&out);
        assert_eq!(rows.len(), 3 * prompts.len());
        for r in &rows {
            let text = r["response"].as_str().unwrap();
            // The request asked for the largest k of the proxies: 4.
            let (mean, sum, sc) = by_hand(text, 4);
            let close = |key: &str, want: f64| {
                let got = r[key].as_f64().unwrap();
                assert!(
                    (got - want).abs() < 1e-9,
                    "{format:?} {key}: {got} vs {want} for {text:?}"
                );
            };
            close("proxy", sc);
            close("self_certainty", sc);
            close("logprob_mean", mean);
            close("logprob_sum", sum);
            assert!(sc > 0.0 && mean < 0.0 && sum < mean);
        }
        // The file is calibration data for any of the proxies.
        let d = hedge_data::load(
            out.to_str().unwrap(),
            &hedge_data::LoadOptions::new().proxy_col("logprob_mean"),
        );
        assert!(d.is_ok(), "{:?}", d.err());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_without_logprobs_is_a_clear_error() {
    let never = standin(StandinConfig {
        logprobs: LogprobsFormat::Never,
        ..Default::default()
    })
    .await;
    let prompts = parse_prompts(PROMPTS.as_bytes(), "p.jsonl").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.jsonl");
    let s = collect(
        &prompts,
        &out,
        &gen_client(&never.url()),
        &[Scorer::logprob(LogprobProxy::Mean, 5).unwrap()],
        &TrueReward::Verifier(Verifier::Boxed),
        &CollectOptions::new(2),
        &NoProgress,
    )
    .await
    .unwrap();
    assert_eq!((s.completed, s.failed_prompts, s.failed_candidates), (0, 4, 8));
    assert!(!out.exists() || std::fs::read_to_string(&out).unwrap().is_empty());

    // The proxy: HTTP 502 naming the scoring stage; the log-level error names the server and what is missing.
    let p = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Proxy::new(
            ServeConfig::new(bon(2)),
            gen_client(&never.url()),
            Scorer::logprob(LogprobProxy::SelfCertainty, 5).unwrap(),
        )
        .unwrap()
        .spawn(listener)
        .unwrap()
    };
    let (status, text) = post(&format!("{}/v1/chat/completions", p.url()), &chat_body("hi")).await;
    assert_eq!(status, 502, "{text}");
    assert!(text.contains("scoring"), "{text}");
    p.stop().await.unwrap();

    // The error itself, as the scorer returns it.
    let llm = gen_client(&never.url());
    let mut body = chat_body("hi").as_object().unwrap().clone();
    let scorer = Scorer::logprob(LogprobProxy::Mean, 5).unwrap();
    crate::net::score::prepare_request(std::slice::from_ref(&scorer), crate::net::ApiKind::Chat, &mut body);
    let g = llm.generate(crate::net::ApiKind::Chat, &body, 1).await;
    let c = g.candidates[0].as_ref().unwrap();
    let endpoint = llm.endpoint(crate::net::ApiKind::Chat);
    let e = scorer
        .score(&crate::net::Prompt::Text(String::new()), &[c], &endpoint)
        .await
        .remove(0)
        .unwrap_err();
    assert!(matches!(e, NetError::MissingLogprobs { .. }), "{e:?}");
    let m = e.to_string();
    assert!(
        m.contains(&endpoint) && m.contains("logprob-mean") && m.contains("\"logprobs\" is null"),
        "{m}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn llama_cpp_completions_without_n_probs_say_so() {
    let llama = standin(StandinConfig {
        logprobs: LogprobsFormat::LlamaCpp,
        ..Default::default()
    })
    .await;
    let llm = gen_client(&llama.url());
    let scorer = Scorer::logprob(LogprobProxy::Mean, 5).unwrap();
    let mut body = json!({"prompt": "Once", "seed": 1}).as_object().unwrap().clone();
    crate::net::score::prepare_request(
        std::slice::from_ref(&scorer),
        crate::net::ApiKind::Completions,
        &mut body,
    );
    let g = llm.generate(crate::net::ApiKind::Completions, &body, 1).await;
    let c = g.candidates[0].as_ref().unwrap();
    let e = scorer
        .score(
            &crate::net::Prompt::Text("Once".into()),
            &[c],
            &llm.endpoint(crate::net::ApiKind::Completions),
        )
        .await
        .remove(0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("/v1/completions") && e.contains("null"), "{e}");
    // With llama.cpp's own field the same request is scored.
    body.insert("n_probs".into(), json!(5));
    let g = llm.generate(crate::net::ApiKind::Completions, &body, 1).await;
    let c = g.candidates[0].as_ref().unwrap();
    let s = scorer
        .score(&crate::net::Prompt::Text("Once".into()), &[c], "e")
        .await
        .remove(0)
        .unwrap();
    assert!((s - by_hand(&c.text, 5).0).abs() < 1e-12);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_chooses_by_the_logprob_proxy_and_reports_its_scores() {
    let llm = gen_standin().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let p = Proxy::new(
        ServeConfig::new(bon(4)),
        gen_client(&llm.url()),
        Scorer::logprob(LogprobProxy::SelfCertainty, 3).unwrap(),
    )
    .unwrap()
    .spawn(listener)
    .unwrap();
    for (path, req) in [
        (
            "/v1/chat/completions",
            json!({"messages": [{"role": "user", "content": "Hi"}], "seed": 9}),
        ),
        ("/v1/completions", json!({"prompt": "Once upon", "seed": 9})),
    ] {
        let (status, text) = post(&format!("{}{path}", p.url()), &req).await;
        assert_eq!(status, 200, "{text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        let scores: Vec<f64> = v["hedge"]["scores"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_f64().unwrap())
            .collect();
        assert_eq!(scores.len(), 4);
        // The same candidates, asked for directly (seeds 9, 10, 11, 12), scored by hand.
        let chat = path.contains("chat");
        let mut want = Vec::new();
        for i in 0..4u64 {
            let mut one = req.clone();
            one["seed"] = json!(9 + i);
            let (_, t) = post(&format!("{}{path}", llm.url()), &one).await;
            let u: Value = serde_json::from_str(&t).unwrap();
            let text = if chat {
                u["choices"][0]["message"]["content"].as_str().unwrap().to_string()
            } else {
                u["choices"][0]["text"].as_str().unwrap().to_string()
            };
            want.push((by_hand(&text, 3).2, text));
        }
        for (got, (w, _)) in scores.iter().zip(&want) {
            assert!((got - w).abs() < 1e-9, "{got} vs {w}");
        }
        // Best-of-4: the candidate with the largest self-certainty, and its text.
        let best = (0..4).max_by(|&a, &b| scores[a].total_cmp(&scores[b])).unwrap();
        assert_eq!(v["hedge"]["chosen_index"], best);
        let shown = if chat {
            v["choices"][0]["message"]["content"].as_str().unwrap()
        } else {
            v["choices"][0]["text"].as_str().unwrap()
        };
        assert_eq!(shown, want[best].1);
        // The client did not ask for log-probabilities: none in the answer.
        assert_eq!(v["choices"][0]["logprobs"], Value::Null, "{text}");
    }
    // A client that asks for them gets them.
    let (status, text) = post(
        &format!("{}/v1/chat/completions", p.url()),
        &json!({"messages": [{"role": "user", "content": "Hi"}], "seed": 9, "logprobs": true, "top_logprobs": 2}),
    )
    .await;
    assert_eq!(status, 200, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert!(v["choices"][0]["logprobs"]["content"].is_array(), "{text}");
    p.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_combines_a_reward_server_and_a_logprob_proxy_as_an_ensemble() {
    use crate::net::RewardApi;
    use crate::net::score::Proxies;
    use hedge_estimate::ensemble::{EnsembleRule, combine_prompt};
    let llm = gen_standin().await;
    let rm = rm_standin(hedge_standin::Scorer::Proxy).await;
    let members = vec![
        Scorer::Reward(reward_client(&rm.url(), RewardApi::Tei)),
        Scorer::logprob(LogprobProxy::Mean, 2).unwrap(),
    ];
    for (rule, lambda) in [
        (EnsembleRule::MeanZ, 0.0),
        (EnsembleRule::Uwo, 0.5),
        (EnsembleRule::RankMean, 0.0),
    ] {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let p = Proxy::new(
            ServeConfig::new(bon(5)),
            gen_client(&llm.url()),
            Proxies::ensemble(members.clone(), rule, lambda).unwrap(),
        )
        .unwrap()
        .spawn(listener)
        .unwrap();
        let (status, text) = post(
            &format!("{}/v1/completions", p.url()),
            &json!({"prompt": "Q: 3+4? A:", "seed": 21, "temperature": 0.8}),
        )
        .await;
        assert_eq!(status, 200, "{text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        let h = &v["hedge"];
        let member = |j: usize| -> Vec<f64> {
            h["members"][j]["scores"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect()
        };
        let (reward, mean) = (member(0), member(1));
        assert_eq!(reward.len(), 5);
        // The members, recomputed: the stand-in's proxy score of prompt + text, and the mean logprob by hand.
        for i in 0..5u64 {
            let (_, t) = post(
                &format!("{}/v1/completions", llm.url()),
                &json!({"prompt": "Q: 3+4? A:", "seed": 21 + i, "temperature": 0.8}),
            )
            .await;
            let u: Value = serde_json::from_str(&t).unwrap();
            let text = u["choices"][0]["text"].as_str().unwrap();
            let i = i as usize;
            assert!((reward[i] - hedge_standin::proxy_score(&format!("Q: 3+4? A:{text}"))).abs() < 1e-12);
            assert!((mean[i] - by_hand(text, 2).0).abs() < 1e-12);
        }
        // hedge.scores is the rule's combination of the members.
        let want = combine_prompt(rule, &[&reward, &mean], lambda).unwrap();
        let got: Vec<f64> = h["scores"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() < 1e-12, "{rule}: {got:?} vs {want:?}");
        }
        let best = (0..5).max_by(|&a, &b| got[a].total_cmp(&got[b])).unwrap();
        assert_eq!(h["chosen_index"], best, "{rule}");
        p.stop().await.unwrap();
    }
}
