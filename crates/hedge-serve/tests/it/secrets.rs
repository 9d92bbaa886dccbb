//! API keys never appear in errors, `Debug` output or logs (captured at TRACE level), even when an
//! upstream echoes the `Authorization` header it received in its error bodies.

use crate::common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use crate::net::{ApiKind, ClientConfig, GenClient, RewardApi, RewardClient, RewardConfig, Secret, ServeConfig};
use common::*;
use hedge_standin::{Scorer, StandinConfig};
use serde_json::{Value, json};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const UPSTREAM_KEY: &str = "sk-upstream-SECRET-4711";
const REWARD_KEY: &str = "sk-reward-SECRET-0815";
const WRONG_KEY: &str = "sk-wrong-SECRET-9999";

#[tokio::test(flavor = "current_thread")]
async fn keys_never_appear_in_errors_debug_output_or_logs() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    // Servers that require keys, echo the Authorization header they got, and fail every request.
    let echo = |key: &str, fail: bool| StandinConfig {
        require_key: Some(key.into()),
        echo_auth: true,
        fail_rate: if fail { 1.0 } else { 0.0 },
        ..Default::default()
    };
    let gen_fail = standin(echo(UPSTREAM_KEY, true)).await;
    let gen_ok = standin(echo(UPSTREAM_KEY, false)).await;
    let rm_fail = standin(StandinConfig {
        scorer: Scorer::Proxy,
        ..echo(REWARD_KEY, true)
    })
    .await;

    let gen_cfg = |url: &str, key: &str| ClientConfig {
        api_key: Secret::new(key),
        ..client_cfg(url)
    };
    let mut seen_errors = Vec::new();

    // Generation: right key but failing server, and wrong key (401 echoing the wrong key).
    for (url, key) in [(gen_fail.url(), UPSTREAM_KEY), (gen_ok.url(), WRONG_KEY)] {
        let client = GenClient::new(&gen_cfg(&url, key), None).unwrap();
        seen_errors.push(format!("{client:?}"));
        let g = client
            .generate(ApiKind::Chat, chat_body("x").as_object().unwrap(), 2)
            .await;
        for c in &g.candidates {
            let e = c.as_ref().unwrap_err();
            seen_errors.push(e.to_string());
            seen_errors.push(format!("{e:?}"));
        }
    }
    // The echo really happened (the stand-in put the header in its body), so redaction was needed.
    assert!(seen_errors.iter().any(|e| e.contains("[redacted]")), "{seen_errors:?}");

    // Reward: failing server echoing the key.
    let rm_cfg = RewardConfig::new(
        ClientConfig {
            api_key: Secret::new(REWARD_KEY),
            ..client_cfg(&rm_fail.url())
        },
        RewardApi::Tei,
    );
    seen_errors.push(format!("{rm_cfg:?}"));
    let rm = RewardClient::new(&rm_cfg).unwrap();
    for r in rm.score_texts(&["a".into(), "b".into()]).await {
        seen_errors.push(r.unwrap_err().to_string());
    }

    // Through the proxy: 502 body.
    let mut cfg = ServeConfig::new(bon(2));
    cfg.api_key = Secret::new("inbound-SECRET-token");
    seen_errors.push(format!("{cfg:?}"));
    let p = proxy_with(
        GenClient::new(&gen_cfg(&gen_fail.url(), UPSTREAM_KEY), None).unwrap(),
        rm.clone(),
        cfg,
    )
    .await;
    let r = http()
        .post(format!("{}/v1/chat/completions", p.url()))
        .bearer_auth("inbound-SECRET-token")
        .json(&chat_body("x"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 502);
    let body: Value = r.json().await.unwrap();
    seen_errors.push(body.to_string());
    // A wrong inbound token is refused without being echoed.
    let r = http()
        .post(format!("{}/v1/chat/completions", p.url()))
        .bearer_auth(WRONG_KEY)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    seen_errors.push(r.text().await.unwrap());
    p.stop().await.unwrap();

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("request failed") || logs.contains("retrying"),
        "the logs were captured: {logs}"
    );
    for secret in [UPSTREAM_KEY, REWARD_KEY, WRONG_KEY, "inbound-SECRET-token"] {
        assert!(!logs.contains(secret), "{secret} in logs:\n{logs}");
        for e in &seen_errors {
            assert!(!e.contains(secret), "{secret} in {e}");
        }
    }
}
