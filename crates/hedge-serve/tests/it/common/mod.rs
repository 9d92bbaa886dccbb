//! Shared helpers of the end-to-end tests: stand-ins, clients and a proxy on loopback.
#![allow(dead_code)]

use std::time::Duration;

use crate::net::{
    ClientConfig, GenClient, MethodSpec, Proxy, RetryPolicy, RewardApi, RewardClient, RewardConfig, RunningProxy,
    ServeConfig,
};
use hedge_math::MethodKind;
use hedge_standin::{Scorer, Standin, StandinConfig};

pub fn fast_retry(attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts: attempts,
        base_delay: Duration::from_millis(2),
        max_delay: Duration::from_millis(10),
    }
}

pub fn client_cfg(url: &str) -> ClientConfig {
    ClientConfig {
        timeout: Duration::from_secs(10),
        retry: fast_retry(3),
        ..ClientConfig::new(url)
    }
}

pub async fn standin(cfg: StandinConfig) -> Standin {
    Standin::start(cfg).await.expect("stand-in starts")
}

pub async fn gen_standin() -> Standin {
    standin(StandinConfig::default()).await
}

pub async fn rm_standin(scorer: Scorer) -> Standin {
    standin(StandinConfig {
        scorer,
        ..Default::default()
    })
    .await
}

pub fn gen_client(url: &str) -> GenClient {
    GenClient::new(&client_cfg(url), Some("standin-model".into())).unwrap()
}

pub fn reward_client(url: &str, api: RewardApi) -> RewardClient {
    RewardClient::new(&RewardConfig {
        batch_size: 3,
        ..RewardConfig::new(client_cfg(url), api)
    })
    .unwrap()
}

pub fn bon(n: u64) -> MethodSpec {
    MethodSpec::new(MethodKind::Bon, n as f64, None).unwrap()
}

pub async fn proxy_with(llm: GenClient, reward: RewardClient, cfg: ServeConfig) -> RunningProxy {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    Proxy::new(cfg, llm, reward).unwrap().spawn(listener).unwrap()
}

pub async fn proxy(gen_url: &str, rm_url: &str, api: RewardApi, method: MethodSpec) -> RunningProxy {
    proxy_with(
        gen_client(gen_url),
        reward_client(rm_url, api),
        ServeConfig::new(method),
    )
    .await
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// The proxy's Prometheus metrics page (`GET {base}/metrics`), as text.
pub async fn fetch_metrics(base: &str) -> String {
    http()
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

pub async fn post(url: &str, body: &serde_json::Value) -> (u16, String) {
    let r = http().post(url).json(body).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.text().await.unwrap())
}

pub fn chat_body(content: &str) -> serde_json::Value {
    serde_json::json!({"model": "m", "messages": [{"role": "user", "content": content}], "temperature": 0.8, "max_tokens": 64})
}
