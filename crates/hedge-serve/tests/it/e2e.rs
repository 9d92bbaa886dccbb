//! End-to-end tests over real HTTP on loopback: stand-in servers, the clients, `collect` and the proxy.

use crate::common;

use std::collections::BTreeSet;
use std::time::Duration;

use crate::net::collect::{CollectOptions, NoProgress, TrueReward, collect};
use crate::net::prompts::parse_prompts;
use crate::net::{ApiKind, ClientConfig, GenClient, MethodSpec, NetError, RewardApi, ServeConfig, Verifier};
use common::*;
use hedge_math::MethodKind;
use hedge_standin::{Scorer, StandinConfig, proxy_score};
use serde_json::{Map, Value, json};

const PROMPTS: &str = r#"{"id": "t1", "prompt": "Q: 1+1? A:", "reference": "1"}
{"id": "t2", "prompt": "Q: 2+2? A:", "reference": "4"}
{"id": "c1", "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Pick a letter."}], "reference": "B"}
{"id": 4, "messages": [{"role": "user", "content": "Say something nice."}], "reference": "2"}
{"id": "t5", "prompt": "Once upon a time", "reference": "3"}
"#;

fn body(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

fn rows(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collect_then_load_then_serve_with_every_reward_api() {
    let llm = gen_standin().await;
    let rm = rm_standin(Scorer::Proxy).await;
    let gold = rm_standin(Scorer::Gold).await;
    let prompts = parse_prompts(PROMPTS.as_bytes(), "prompts.jsonl").unwrap();
    let dir = tempfile::tempdir().unwrap();
    for api in RewardApi::ALL {
        let out = dir.path().join(format!("{api}.jsonl"));
        let mut opts = CollectOptions::new(4);
        opts.seed = 11;
        opts.concurrency = 3;
        opts.params.insert("temperature".into(), json!(0.9));
        let truth = TrueReward::Gold(reward_client(&gold.url(), api));
        let s = collect(
            &prompts,
            &out,
            &gen_client(&llm.url()),
            &[reward_client(&rm.url(), api).into()],
            &truth,
            &opts,
            &NoProgress,
        )
        .await
        .unwrap();
        assert_eq!(
            (s.prompts, s.completed, s.responses, s.failed_candidates),
            (5, 5, 20, 0),
            "{api}"
        );
        assert!(s.usage.completion_tokens > 0);

        let cal = hedge_data::load(out.to_str().unwrap(), &hedge_data::LoadOptions::new()).unwrap();
        assert_eq!((cal.num_prompts(), cal.num_rows()), (5, 20), "{api}");

        // The proxy score of a completion row is the stand-in's score of prompt + response.
        let all = rows(&out);
        let r = all.iter().find(|r| r["prompt_id"] == "t1").unwrap();
        let text = format!("Q: 1+1? A:{}", r["response"].as_str().unwrap());
        assert_eq!(r["proxy"].as_f64().unwrap(), proxy_score(&text), "{api}");
        // Chat rows: vLLM APIs get messages, the others the plain-text rendering.
        let c = all.iter().find(|r| r["prompt_id"] == "c1").unwrap();
        let resp = c["response"].as_str().unwrap();
        // (The stand-in renders `messages` the way hedge renders plain text, so both give the same score.)
        let expected = proxy_score(&format!(
            "system: Be brief.\n\nuser: Pick a letter.\n\nassistant: {resp}"
        ));
        assert_eq!(c["proxy"].as_f64().unwrap(), expected, "{api}");

        // Serve with the same reward API: one choice, the hedge object, the argmax chosen.
        let p = proxy(&llm.url(), &rm.url(), api, bon(4)).await;
        let (status, text) = post(&format!("{}/v1/chat/completions", p.url()), &chat_body("Hello there")).await;
        assert_eq!(status, 200, "{api}: {text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["object"], "chat.completion");
        assert_eq!(v["choices"].as_array().unwrap().len(), 1);
        assert_eq!(v["choices"][0]["index"], 0);
        assert_eq!(v["hedge"]["method"], "bon");
        assert_eq!(v["hedge"]["n"], 4);
        let scores: Vec<f64> = v["hedge"]["scores"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_f64().unwrap())
            .collect();
        assert_eq!(scores.len(), 4);
        let best = scores.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
        assert_eq!(v["hedge"]["chosen_index"], best);
        assert!(v["usage"]["completion_tokens"].as_u64().unwrap() > 0);
        p.stop().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn llama_cpp_style_server_gets_n_single_requests() {
    let llama = standin(StandinConfig {
        refuse_n: true,
        ..Default::default()
    })
    .await;
    let vllm = gen_standin().await;
    let req = body(json!({"prompt": "Tell me a story", "seed": 7, "temperature": 0.7, "max_tokens": 50, "best_of": 3}));

    let client = gen_client(&llama.url());
    assert!(client.supports_n());
    let g = client.generate(ApiKind::Completions, &req, 4).await;
    assert_eq!(g.succeeded(), 4, "{:?}", g.candidates);
    assert!(!client.supports_n());
    let st = llama.stats();
    let get = hedge_standin::Stats::get;
    assert_eq!(get(&st.refused_n), 1);
    assert_eq!(get(&st.generation_requests), 5);
    assert_eq!(get(&st.best_of_seen), 0);

    // Remembered: the next call goes straight to single requests, and no request is retried.
    let g2 = client.generate(ApiKind::Completions, &req, 3).await;
    assert_eq!(g2.succeeded(), 3);
    assert_eq!(get(&st.refused_n), 1);
    assert_eq!(get(&st.generation_requests), 8);

    // Same texts as one n = 4 request with the same seed to an n-capable server.
    let g3 = gen_client(&vllm.url()).generate(ApiKind::Completions, &req, 4).await;
    let texts = |g: &crate::net::Generation| {
        g.candidates
            .iter()
            .map(|c| c.as_ref().unwrap().text.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(texts(&g), texts(&g3));
    assert_eq!(get(&vllm.stats().multi_n_requests), 1);
    assert_eq!(get(&vllm.stats().best_of_seen), 0);
    assert_eq!(g.usage.completion_tokens, g3.usage.completion_tokens);

    // And through the proxy and collect.
    let rm = rm_standin(Scorer::Proxy).await;
    let p = proxy(&llama.url(), &rm.url(), RewardApi::Tei, bon(3)).await;
    let (status, text) = post(
        &format!("{}/v1/completions", p.url()),
        &json!({"prompt": "Hi", "seed": 1}),
    )
    .await;
    assert_eq!(status, 200, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["object"], "text_completion");
    assert_eq!(v["hedge"]["scores"].as_array().unwrap().len(), 3);
    p.stop().await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("llama.jsonl");
    let prompts = parse_prompts(PROMPTS.as_bytes(), "p").unwrap();
    let s = collect(
        &prompts,
        &out,
        &gen_client(&llama.url()),
        &[reward_client(&rm.url(), RewardApi::Openrlhf).into()],
        &TrueReward::Verifier(Verifier::Boxed),
        &CollectOptions::new(3),
        &NoProgress,
    )
    .await
    .unwrap();
    assert_eq!(s.responses, 15);
    let cal = hedge_data::load(out.to_str().unwrap(), &hedge_data::LoadOptions::new()).unwrap();
    assert!(cal.truth.iter().all(|&t| t == 0.0 || t == 1.0));
}

fn sse_events(text: &str) -> Vec<String> {
    text.split("\n\n")
        .filter(|e| !e.is_empty())
        .map(|e| e.strip_prefix("data: ").expect("data: prefix").to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_sends_openai_chunks_ending_with_done() {
    let llm = gen_standin().await;
    let rm = rm_standin(Scorer::Proxy).await;
    let p = proxy(
        &llm.url(),
        &rm.url(),
        RewardApi::VllmPooling,
        MethodSpec::new(MethodKind::Bop, 3.0, None).unwrap(),
    )
    .await;
    let mut req = chat_body("Stream me");
    req["seed"] = json!(42);
    let (status, plain) = post(&format!("{}/v1/chat/completions", p.url()), &req).await;
    assert_eq!(status, 200, "{plain}");
    let plain: Value = serde_json::from_str(&plain).unwrap();

    req["stream"] = json!(true);
    req["stream_options"] = json!({"include_usage": true});
    let r = http()
        .post(format!("{}/v1/chat/completions", p.url()))
        .json(&req)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/event-stream");
    let events = sse_events(&r.text().await.unwrap());
    assert_eq!(events.last().unwrap(), "[DONE]");
    let chunks: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|e| serde_json::from_str(e).unwrap())
        .collect();
    assert!(chunks.iter().all(|c| c["object"] == "chat.completion.chunk"));
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let content: String = chunks
        .iter()
        .filter_map(|c| c.pointer("/choices/0/delta/content").and_then(Value::as_str))
        .collect();
    // With a request seed the answer is reproducible: streamed = plain.
    assert_eq!(content, plain["choices"][0]["message"]["content"].as_str().unwrap());
    let last = chunks.iter().rev().find(|c| c.get("hedge").is_some()).unwrap();
    assert_eq!(last["hedge"], plain["hedge"]);
    assert!(last["choices"][0]["finish_reason"].is_string());
    assert!(chunks.last().unwrap()["usage"]["total_tokens"].as_u64().unwrap() > 0);

    // Completions streaming.
    let r = http()
        .post(format!("{}/v1/completions", p.url()))
        .json(&json!({"prompt": "abc", "stream": true}))
        .send()
        .await
        .unwrap();
    let events = sse_events(&r.text().await.unwrap());
    assert_eq!(events.last().unwrap(), "[DONE]");
    let first: Value = serde_json::from_str(&events[0]).unwrap();
    assert_eq!(first["object"], "text_completion");
    assert!(first["choices"][0]["text"].as_str().unwrap().contains("answer"));
    p.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_candidates_failing_gives_502_with_a_json_error() {
    let broken = standin(StandinConfig {
        fail_rate: 1.0,
        ..Default::default()
    })
    .await;
    let llm = gen_standin().await;
    let rm = rm_standin(Scorer::Proxy).await;
    for (g, r, what) in [(&broken, &rm, "generation"), (&llm, &broken, "scoring")] {
        let p = proxy(&g.url(), &r.url(), RewardApi::Sglang, bon(4)).await;
        let (status, text) = post(&format!("{}/v1/chat/completions", p.url()), &chat_body("x")).await;
        assert_eq!(status, 502, "{what}: {text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        let msg = v["error"]["message"].as_str().unwrap();
        // The client learns which stage failed and the request id to look up;
        // upstream URLs and bodies stay in the proxy's log.
        assert!(
            msg.contains("4 requested")
                && msg.contains(&format!("{what} failed upstream"))
                && msg.contains("request req-")
                && !msg.contains("127.0.0.1"),
            "{what}: {msg}"
        );
        assert_eq!(v["error"]["code"], 502);
        let metrics = fetch_metrics(&p.url()).await;
        assert!(
            metrics.contains("hedge_failures_total{reason=\"no_candidates\"} 1"),
            "{metrics}"
        );
        assert!(metrics.contains("hedge_requests_total{endpoint=\"chat\",status=\"502\"} 1"));
        p.stop().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_candidates_are_left_out() {
    let llm = standin(StandinConfig {
        drop_rate: 0.5,
        ..Default::default()
    })
    .await;
    let rm = rm_standin(Scorer::Proxy).await;
    let p = proxy(&llm.url(), &rm.url(), RewardApi::VllmClassify, bon(8)).await;
    let mut saw_gap = false;
    for i in 0..6 {
        let (status, text) = post(
            &format!("{}/v1/chat/completions", p.url()),
            &chat_body(&format!("q{i}")),
        )
        .await;
        if status == 502 {
            continue;
        }
        assert_eq!(status, 200, "{text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        let scores = v["hedge"]["scores"].as_array().unwrap();
        assert_eq!(scores.len(), 8);
        saw_gap |= scores.iter().any(Value::is_null);
        let chosen = v["hedge"]["chosen_index"].as_u64().unwrap() as usize;
        let best = scores.iter().filter_map(Value::as_f64).fold(f64::MIN, f64::max);
        assert_eq!(scores[chosen].as_f64(), Some(best));
    }
    assert!(saw_gap);
    let metrics = fetch_metrics(&p.url()).await;
    assert!(
        !metrics.contains("hedge_candidates_total{outcome=\"generation_failed\"} 0"),
        "{metrics}"
    );
    p.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_over_the_concurrency_limit_get_503() {
    let llm = standin(StandinConfig {
        latency: Duration::from_millis(600),
        ..Default::default()
    })
    .await;
    let rm = rm_standin(Scorer::Proxy).await;
    let mut cfg = ServeConfig::new(bon(2));
    cfg.max_concurrent = 2;
    let p = proxy_with(gen_client(&llm.url()), reward_client(&rm.url(), RewardApi::Tei), cfg).await;
    let url = format!("{}/v1/chat/completions", p.url());
    let slow: Vec<_> = (0..2)
        .map(|i| tokio::spawn(post_owned(url.clone(), chat_body(&format!("slow {i}")))))
        .collect();
    // Wait until both are in flight (the stand-in answers after 600 ms: there is time).
    let mut reached = false;
    for _ in 0..200 {
        let m = fetch_metrics(&p.url()).await;
        if m.contains("hedge_in_flight_requests 2") {
            reached = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(reached, "the two slow requests never were in flight together");
    let r = http().post(&url).json(&chat_body("one too many")).send().await.unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["retry-after"], "1");
    let v: Value = r.json().await.unwrap();
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("limit of 2 requests in flight")
    );
    for s in slow {
        assert_eq!(s.await.unwrap().0, 200);
    }
    // Capacity is back.
    assert_eq!(post(&url, &chat_body("later")).await.0, 200);
    p.stop().await.unwrap();
}

async fn post_owned(url: String, body: Value) -> (u16, String) {
    post(&url, &body).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_get_413_and_bad_requests_400() {
    let llm = gen_standin().await;
    let rm = rm_standin(Scorer::Proxy).await;
    let mut cfg = ServeConfig::new(bon(2));
    cfg.max_body_bytes = 1024;
    let p = proxy_with(
        gen_client(&llm.url()),
        reward_client(&rm.url(), RewardApi::Openrlhf),
        cfg,
    )
    .await;
    let url = format!("{}/v1/chat/completions", p.url());
    let (status, text) = post(&url, &chat_body(&"x".repeat(2000))).await;
    assert_eq!(status, 413, "{text}");
    assert!(
        serde_json::from_str::<Value>(&text).unwrap()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("1024 bytes")
    );
    // Without Content-Length (chunked), the limit holds too.
    {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(p.addr).await.unwrap();
        let payload = format!("{{\"messages\": \"{}\"}}", "y".repeat(4096));
        let head = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
        let mut request = head.as_bytes().to_vec();
        for chunk in payload.as_bytes().chunks(500) {
            request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
            request.extend_from_slice(chunk);
            request.extend_from_slice(b"\r\n");
        }
        request.extend_from_slice(b"0\r\n\r\n");
        // One write (it fits the socket buffer): the server answers 413 and closes as soon as it has read
        // past the limit, so a write issued after that would fail with a broken pipe.
        s.write_all(&request).await.unwrap();
        let mut resp = String::new();
        let _ = s.read_to_string(&mut resp).await;
        assert!(resp.starts_with("HTTP/1.1 413"), "{resp}");
    }
    for (b, needle) in [
        (json!({"messages": []}), "messages"),
        (
            json!({"messages": [{"role": "user", "content": "x"}], "n": 3}),
            "the method decides",
        ),
        (json!([1, 2]), "JSON object"),
    ] {
        let (status, text) = post(&url, &b).await;
        assert_eq!(status, 400, "{text}");
        assert!(text.contains(needle), "{text}");
    }
    let (status, _) = post(&format!("{}/v1/completions", p.url()), &json!({"prompt": ["a", "b"]})).await;
    assert_eq!(status, 400);
    let r = http().get(format!("{}/nope", p.url())).send().await.unwrap();
    assert_eq!(r.status(), 404);
    p.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inbound_bearer_token_is_enforced() {
    let llm = gen_standin().await;
    let rm = rm_standin(Scorer::Proxy).await;
    let mut cfg = ServeConfig::new(bon(2));
    cfg.api_key = crate::net::Secret::new("inbound-token-123");
    let p = proxy_with(
        gen_client(&llm.url()),
        reward_client(&rm.url(), RewardApi::VllmPooling),
        cfg,
    )
    .await;
    let url = format!("{}/v1/chat/completions", p.url());
    let r = http().post(&url).json(&chat_body("x")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    let r = http()
        .post(&url)
        .bearer_auth("wrong")
        .json(&chat_body("x"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = http()
        .post(&url)
        .bearer_auth("inbound-token-123")
        .json(&chat_body("x"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Unauthorised requests never reach the upstream.
    assert_eq!(hedge_standin::Stats::get(&llm.stats().generation_requests), 1);
    let r = http().get(format!("{}/health", p.url())).send().await.unwrap();
    assert_eq!(r.status(), 200);
    p.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_timeouts_and_connection_errors_are_typed() {
    // Sequential calls see a deterministic failure sequence (half the requests fail with HTTP 500).
    let flaky = standin(StandinConfig {
        fail_rate: 0.5,
        seed: 3,
        ..Default::default()
    })
    .await;
    let mut cfg = client_cfg(&flaky.url());
    cfg.retry = fast_retry(10);
    let patient = GenClient::new(&cfg, None).unwrap();
    for i in 0..10 {
        let g = patient
            .generate(ApiKind::Completions, &body(json!({"prompt": format!("p{i}")})), 1)
            .await;
        assert_eq!(g.succeeded(), 1, "{:?}", g.candidates);
    }
    assert!(hedge_standin::Stats::get(&flaky.stats().injected_failures) > 0);
    cfg.retry = fast_retry(1);
    let impatient = GenClient::new(&cfg, None).unwrap();
    let mut failures = 0;
    for i in 0..10 {
        let g = impatient
            .generate(ApiKind::Completions, &body(json!({"prompt": format!("p{i}")})), 1)
            .await;
        if let Err(e) = &g.candidates[0] {
            assert!(
                matches!(
                    e,
                    NetError::Status {
                        status: 500,
                        attempts: 1,
                        ..
                    }
                ),
                "{e}"
            );
            assert!(
                e.to_string().contains("/v1/completions: HTTP 500: injected failure"),
                "{e}"
            );
            failures += 1;
        }
    }
    assert!(failures > 0);

    let slow = standin(StandinConfig {
        latency: Duration::from_millis(400),
        ..Default::default()
    })
    .await;
    let cfg = ClientConfig {
        timeout: Duration::from_millis(100),
        retry: fast_retry(2),
        ..ClientConfig::new(slow.url())
    };
    let g = GenClient::new(&cfg, None)
        .unwrap()
        .generate(ApiKind::Chat, &body(chat_body("x")), 1)
        .await;
    match &g.candidates[0] {
        Err(NetError::Timeout {
            attempts: 2, timeout, ..
        }) => assert_eq!(*timeout, Duration::from_millis(100)),
        other => panic!("{other:?}"),
    }

    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let g = GenClient::new(&client_cfg(&format!("http://{closed}")), None)
        .unwrap()
        .generate(ApiKind::Chat, &body(chat_body("x")), 2)
        .await;
    assert!(g.candidates.iter().all(|c| c.is_err()));
    match &g.candidates[0] {
        Err(e @ NetError::Connect { attempts: 3, .. }) => {
            assert!(e.to_string().contains("cannot connect (3 attempts)"), "{e}")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_text_survives_collect_and_serve() {
    let llm = standin(StandinConfig {
        odd_text: true,
        ..Default::default()
    })
    .await;
    let rm = rm_standin(Scorer::Proxy).await;
    let g = gen_client(&llm.url())
        .generate(ApiKind::Chat, &body(chat_body("odd")), 2)
        .await;
    let t = &g.candidates[0].as_ref().unwrap().text;
    assert!(
        t.contains('\u{fffd}') && t.contains('🦀') && t.contains('\0') && t.contains('\u{202e}'),
        "{t:?}"
    );

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("odd.jsonl");
    let prompts = parse_prompts(PROMPTS.as_bytes(), "p").unwrap();
    let rm_client = reward_client(&rm.url(), RewardApi::VllmPooling);
    let s = collect(
        &prompts,
        &out,
        &gen_client(&llm.url()),
        &[rm_client.into()],
        &TrueReward::Verifier(Verifier::Choice),
        &CollectOptions::new(2),
        &NoProgress,
    )
    .await
    .unwrap();
    assert_eq!(s.responses, 10);
    let cal = hedge_data::load(out.to_str().unwrap(), &hedge_data::LoadOptions::new()).unwrap();
    assert_eq!(cal.num_rows(), 10);
    let p = proxy(&llm.url(), &rm.url(), RewardApi::VllmPooling, bon(2)).await;
    let (status, text) = post(&format!("{}/v1/chat/completions", p.url()), &chat_body("odd")).await;
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&text).unwrap();
    assert!(v["choices"][0]["message"]["content"].as_str().unwrap().contains('🦀'));
    p.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collect_resumes_after_a_torn_end_without_duplicates() {
    let llm = gen_standin().await;
    let rm = rm_standin(Scorer::Proxy).await;
    let gold = rm_standin(Scorer::Gold).await;
    let prompts = parse_prompts(PROMPTS.as_bytes(), "p").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let prompts = &prompts;
    let run = |out: std::path::PathBuf| {
        let (g, r, t) = (
            gen_client(&llm.url()),
            reward_client(&rm.url(), RewardApi::Tei),
            TrueReward::Gold(reward_client(&gold.url(), RewardApi::Tei)),
        );
        async move {
            collect(prompts, &out, &g, &[r.into()], &t, &CollectOptions::new(3), &NoProgress)
                .await
                .unwrap()
        }
    };
    let full = dir.path().join("full.jsonl");
    run(full.clone()).await;
    let reference: BTreeSet<String> = rows(&full).iter().map(Value::to_string).collect();

    // Keep the first two prompts plus a torn third one, then resume.
    let text = std::fs::read_to_string(&full).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let partial = dir.path().join("partial.jsonl");
    std::fs::write(
        &partial,
        format!("{}\n{}\n{}", lines[..6].join("\n"), lines[6], &lines[7][..10]),
    )
    .unwrap();
    let before = hedge_standin::Stats::get(&llm.stats().generation_requests);
    let s = run(partial.clone()).await;
    assert_eq!((s.already_done, s.completed), (2, 3));
    assert!(s.repaired_bytes > 0);
    assert_eq!(hedge_standin::Stats::get(&llm.stats().generation_requests) - before, 3);
    let resumed: Vec<String> = rows(&partial).iter().map(Value::to_string).collect();
    assert_eq!(resumed.len(), reference.len());
    assert_eq!(resumed.iter().cloned().collect::<BTreeSet<_>>(), reference);

    // A rerun of a finished output does nothing.
    let s = run(partial.clone()).await;
    assert_eq!((s.already_done, s.completed, s.responses), (5, 0, 0));

    // Parquet output: journal + converted file that hedge-data loads.
    let pq = dir.path().join("cal.parquet");
    run(pq.clone()).await;
    let cal = hedge_data::load(pq.to_str().unwrap(), &hedge_data::LoadOptions::new()).unwrap();
    assert_eq!(cal.num_rows(), 15);
    assert!(dir.path().join("cal.parquet.partial.jsonl").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sbon_and_bop_report_their_parameters() {
    let llm = gen_standin().await;
    let rm = rm_standin(Scorer::Proxy).await;
    let p = proxy(
        &llm.url(),
        &rm.url(),
        RewardApi::Openrlhf,
        MethodSpec::new(MethodKind::Sbon, 2.0, Some(5)).unwrap(),
    )
    .await;
    let (status, text) = post(&format!("{}/v1/chat/completions", p.url()), &chat_body("x")).await;
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        (
            v["hedge"]["method"].as_str(),
            v["hedge"]["theta"].as_f64(),
            v["hedge"]["n"].as_u64()
        ),
        (Some("sbon"), Some(2.0), Some(5))
    );
    p.stop().await.unwrap();

    // BoP with a large mean: draws are capped at max_n and counted.
    let mut cfg = ServeConfig::new(MethodSpec::new(MethodKind::Bop, 50.0, None).unwrap());
    cfg.max_n = 6;
    let p = proxy_with(
        gen_client(&llm.url()),
        reward_client(&rm.url(), RewardApi::Openrlhf),
        cfg,
    )
    .await;
    let (_, text) = post(&format!("{}/v1/chat/completions", p.url()), &chat_body("x")).await;
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["hedge"]["n"], 6);
    let metrics = fetch_metrics(&p.url()).await;
    assert!(metrics.contains("hedge_bop_capped_total 1"));
    p.stop().await.unwrap();

    // BoN larger than max_n is refused at start.
    let mut cfg = ServeConfig::new(bon(100));
    cfg.max_n = 64;
    let e = crate::net::Proxy::new(cfg, gen_client(&llm.url()), reward_client(&rm.url(), RewardApi::Tei)).unwrap_err();
    assert!(e.to_string().contains("--max-n"), "{e}");
}

/// A client that goes away before its answer is ready is counted as abandoned (and the request still
/// releases its slot); a request whose deadline passes during generation gets a 504 naming that stage.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abandoned_requests_are_counted_and_a_504_names_its_stage() {
    let llm = standin(StandinConfig {
        latency: Duration::from_millis(800),
        ..Default::default()
    })
    .await;
    let rm = rm_standin(Scorer::Proxy).await;
    let mut cfg = ServeConfig::new(bon(2));
    cfg.request_timeout = Duration::from_millis(400);
    let p = proxy_with(gen_client(&llm.url()), reward_client(&rm.url(), RewardApi::Tei), cfg).await;
    let url = format!("{}/v1/chat/completions", p.url());
    // The deadline passes while the stand-in is still generating.
    let r = http().post(&url).json(&chat_body("too slow")).send().await.unwrap();
    assert_eq!(r.status(), 504);
    let v: Value = r.json().await.unwrap();
    let message = v["error"]["message"].as_str().unwrap();
    assert!(message.contains("generation did not finish"), "{message}");
    // A client that gives up after 100 ms.
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    assert!(impatient.post(&url).json(&chat_body("bye")).send().await.is_err());
    let mut counted = false;
    for _ in 0..100 {
        let m = fetch_metrics(&p.url()).await;
        if m.contains("hedge_requests_abandoned_total 1\n") {
            assert!(m.contains("hedge_in_flight_requests 0"), "{m}");
            counted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(counted, "the abandoned request was not counted");
    p.stop().await.unwrap();
}
