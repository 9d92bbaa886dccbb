//! What a real llama.cpp server (llama-cpp-python 0.3.36's vendored `llama-server`, see
//! `tests/e2e/llamacpp.sh`) showed that the first stand-ins did not, pinned with the stand-in's llama.cpp
//! modes: the `n` limit of its slots, its random seed `-1`, and its HTTP 400 for a prompt longer than the
//! context.

use crate::common;

use std::collections::BTreeSet;

use crate::net::collect::{CollectOptions, NoProgress, TrueReward, collect};
use crate::net::prompts::parse_prompts;
use crate::net::{ApiKind, Generation, RewardApi, Verifier};
use common::*;
use hedge_standin::{Scorer, StandinConfig, Stats};
use serde_json::{Map, Value, json};

fn body(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

fn texts(g: &Generation) -> Vec<String> {
    g.candidates
        .iter()
        .map(|c| c.as_ref().expect("generated").text.clone())
        .collect()
}

/// llama-server -np 4 takes n ≤ 4 and answers n = 8 with HTTP 400 "Field 'n': Value must be between
/// 1 <= value <= 4, but got 8". The client must split n = 8 into two n = 4 requests (not fall back to
/// eight single requests for good), with the same texts as one n = 8 request to an unlimited server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slot_limit_splits_requests_instead_of_giving_up_n() {
    let llama = standin(StandinConfig {
        max_n: Some(4),
        ..Default::default()
    })
    .await;
    let vllm = gen_standin().await;
    let req = body(json!({"prompt": "Tell me a story", "seed": 7, "temperature": 0.7, "max_tokens": 50}));
    let st = llama.stats();
    let get = Stats::get;

    let client = gen_client(&llama.url());
    assert_eq!(client.max_n_per_request(), None);
    let g = client.generate(ApiKind::Completions, &req, 8).await;
    assert_eq!(g.succeeded(), 8, "{:?}", g.candidates);
    assert_eq!(client.max_n_per_request(), Some(4));
    assert!(client.supports_n());
    // One refused n = 8, then two n = 4.
    assert_eq!(
        (
            get(&st.refused_n),
            get(&st.generation_requests),
            get(&st.multi_n_requests)
        ),
        (1, 3, 3)
    );
    assert_eq!(
        g.candidates
            .iter()
            .map(|c| c.as_ref().unwrap().index)
            .collect::<Vec<_>>(),
        (0..8).collect::<Vec<_>>()
    );

    let reference = gen_client(&vllm.url()).generate(ApiKind::Completions, &req, 8).await;
    assert_eq!(texts(&g), texts(&reference));
    assert_eq!(g.usage.completion_tokens, reference.usage.completion_tokens);

    // Remembered: n ≤ 4 is one request, n = 10 is 4 + 4 + 2, and nothing is refused again.
    let g = client.generate(ApiKind::Completions, &req, 3).await;
    assert_eq!(g.succeeded(), 3);
    assert_eq!(get(&st.generation_requests), 4);
    let g = client.generate(ApiKind::Chat, &body(chat_body("hi")), 10).await;
    assert_eq!(g.succeeded(), 10);
    assert_eq!((get(&st.refused_n), get(&st.generation_requests)), (1, 7));

    // collect with n = 8 against it: 8 rows per prompt, response ids 0..8.
    let prompts = parse_prompts(
        "{\"id\": \"a\", \"prompt\": \"1+1=\", \"reference\": \"2\"}\n{\"id\": \"b\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"reference\": \"1\"}\n"
            .as_bytes(),
        "p",
    )
    .unwrap();
    let rm = rm_standin(Scorer::Proxy).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.jsonl");
    let fresh = gen_client(&llama.url());
    let rm_client = reward_client(&rm.url(), RewardApi::Openrlhf);
    let s = collect(
        &prompts,
        &out,
        &fresh,
        &[rm_client.into()],
        &TrueReward::Verifier(Verifier::Boxed),
        &CollectOptions::new(8),
        &NoProgress,
    )
    .await
    .unwrap();
    assert_eq!((s.responses, s.failed_candidates), (16, 0));
    let ids: BTreeSet<(String, u64)> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (
                v["prompt_id"].as_str().unwrap().to_string(),
                v["response_id"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(ids.len(), 16);
    assert!(ids.iter().all(|(_, r)| *r < 8));
}

/// llama.cpp reads seed -1 (and 4294967295) as "random". Split or fanned-out requests must keep it, not
/// turn it into the fixed seeds -1, 0, 1, … (which gave every request the same candidates 1..n).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_seed_minus_one_stays_random_for_every_candidate() {
    for cfg in [
        StandinConfig {
            refuse_n: true,
            ..Default::default()
        },
        StandinConfig {
            max_n: Some(2),
            ..Default::default()
        },
    ] {
        let llama = standin(cfg.clone()).await;
        let client = gen_client(&llama.url());
        for seed in [json!(-1), json!(4_294_967_295u64)] {
            let req = body(json!({"prompt": "Tell me a story", "seed": seed, "temperature": 0.7}));
            let a = texts(&client.generate(ApiKind::Completions, &req, 4).await);
            let b = texts(&client.generate(ApiKind::Completions, &req, 4).await);
            let all: BTreeSet<&String> = a.iter().chain(&b).collect();
            assert_eq!(all.len(), 8, "{cfg:?} seed {seed}: {a:?} {b:?}");
        }
        // A fixed seed still gives the same candidates every time.
        let req = body(json!({"prompt": "Tell me a story", "seed": 3}));
        let a = texts(&client.generate(ApiKind::Completions, &req, 4).await);
        assert_eq!(a, texts(&client.generate(ApiKind::Completions, &req, 4).await));
    }
}

/// A prompt longer than llama.cpp's context gets HTTP 400 `exceed_context_size_error` for every
/// candidate. The proxy must pass that on as the client's error (400 with the upstream message), not as
/// a 502 that OpenAI clients retry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompt_longer_than_the_context_is_a_400_not_a_502() {
    let rm = rm_standin(Scorer::Proxy).await;
    let long = "word ".repeat(50);
    for cfg in [
        StandinConfig {
            max_n: Some(4),
            context_words: Some(20),
            ..Default::default()
        },
        StandinConfig {
            refuse_n: true,
            context_words: Some(20),
            ..Default::default()
        },
    ] {
        let llama = standin(cfg.clone()).await;
        let p = proxy(&llama.url(), &rm.url(), RewardApi::Tei, bon(4)).await;
        for (path, req) in [
            ("/v1/completions", json!({"prompt": long, "max_tokens": 8})),
            (
                "/v1/chat/completions",
                json!({"messages": [{"role": "user", "content": long}], "stream": true}),
            ),
        ] {
            let (status, text) = post(&format!("{}{path}", p.url()), &req).await;
            assert_eq!(status, 400, "{cfg:?} {path}: {text}");
            let v: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(v["error"]["type"], "invalid_request_error");
            assert_eq!(v["error"]["code"], 400);
            let m = v["error"]["message"].as_str().unwrap();
            assert!(
                m.contains("upstream server refused the request")
                    && m.contains("exceeds the available context size (20 tokens)"),
                "{m}"
            );
        }
        assert!(Stats::get(&llama.stats().refused_context) > 0);
        let metrics = fetch_metrics(&p.url()).await;
        assert!(
            metrics.contains("hedge_failures_total{reason=\"upstream_refused\"} 2"),
            "{metrics}"
        );
        // A prompt that fits still works.
        let (status, text) = post(
            &format!("{}/v1/completions", p.url()),
            &json!({"prompt": "short", "seed": 1}),
        )
        .await;
        assert_eq!(status, 200, "{text}");
        p.stop().await.unwrap();
    }
    // Upstream server errors stay a 502.
    let broken = standin(StandinConfig {
        fail_rate: 1.0,
        ..Default::default()
    })
    .await;
    let p = proxy(&broken.url(), &rm.url(), RewardApi::Tei, bon(2)).await;
    let (status, text) = post(&format!("{}/v1/completions", p.url()), &json!({"prompt": "x"})).await;
    assert_eq!(status, 502, "{text}");
    p.stop().await.unwrap();
}
