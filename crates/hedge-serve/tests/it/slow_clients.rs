//! Slow and hostile clients cannot take the proxy down.
//!
//! With `max_concurrent = 4`, 32 connections that send their headers and then trickle their body one
//! byte at a time hold no request slot (a slot is taken only once the body is complete): normal
//! requests keep being answered within 2 s. The trickling connections get HTTP 408 and are closed
//! once the body deadline passes; a shutdown with trickling connections open completes in under 5 s.

use crate::common;

use std::time::{Duration, Instant};

use crate::net::{RewardApi, ServeConfig};
use common::*;
use hedge_standin::Scorer;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const SLOW: usize = 32;

/// A client that sends its headers and one byte of a 1,000-byte body, then one more byte every 200 ms
/// until the server answers or closes; returns the status line it got (if any) and when.
async fn trickle(addr: std::net::SocketAddr, start: Instant) -> (Option<String>, Duration) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let head = "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{";
    s.write_all(head.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let mut got = Vec::new();
    loop {
        tokio::select! {
            r = s.read(&mut buf) => match r {
                Ok(0) | Err(_) => break,
                Ok(k) => got.extend_from_slice(&buf[..k]),
            },
            _ = tokio::time::sleep(Duration::from_millis(200)) => {
                if s.write_all(b" ").await.is_err() {
                    break;
                }
            }
        }
    }
    let text = String::from_utf8_lossy(&got).into_owned();
    (text.lines().next().map(str::to_string), start.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trickling_bodies_hold_no_slot_and_are_cut_off() {
    let llm = gen_standin().await;
    let rm = rm_standin(Scorer::Proxy).await;
    let mut cfg = ServeConfig::new(bon(2));
    cfg.max_concurrent = 4;
    cfg.body_timeout = Duration::from_secs(3);
    let p = proxy_with(gen_client(&llm.url()), reward_client(&rm.url(), RewardApi::Tei), cfg).await;
    let start = Instant::now();
    let slow: Vec<_> = (0..SLOW).map(|_| tokio::spawn(trickle(p.addr, start))).collect();
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Normal requests are answered promptly while the 32 trickle.
    let url = format!("{}/v1/chat/completions", p.url());
    for i in 0..8 {
        let t = Instant::now();
        let (status, body) = post(&url, &chat_body(&format!("normal {i}"))).await;
        assert_eq!(status, 200, "{body}");
        assert!(
            t.elapsed() < Duration::from_secs(2),
            "normal request {i} took {:?}",
            t.elapsed()
        );
    }
    let metrics = fetch_metrics(&p.url()).await;
    let open: usize = metrics
        .lines()
        .find_map(|l| l.strip_prefix("hedge_open_connections "))
        .and_then(|v| v.parse().ok())
        .unwrap();
    assert!(open >= SLOW, "{metrics}");

    // Past the body deadline every trickling connection gets 408 and is closed.
    for s in slow {
        let (status, at) = s.await.unwrap();
        assert_eq!(status.as_deref(), Some("HTTP/1.1 408 Request Timeout"), "{status:?}");
        assert!(
            at >= Duration::from_millis(2900) && at < Duration::from_secs(6),
            "closed after {at:?}"
        );
    }
    let metrics = fetch_metrics(&p.url()).await;
    assert!(
        metrics.contains("hedge_failures_total{reason=\"body_timeout\"} 32"),
        "{metrics}"
    );

    // Shutdown with 32 trickling connections open: they are answered 503 at once, and it completes fast.
    let start = Instant::now();
    let slow: Vec<_> = (0..SLOW).map(|_| tokio::spawn(trickle(p.addr, start))).collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let t = Instant::now();
    p.stop().await.unwrap();
    assert!(t.elapsed() < Duration::from_secs(5), "shutdown took {:?}", t.elapsed());
    for s in slow {
        let (status, _) = s.await.unwrap();
        assert!(
            matches!(status.as_deref(), Some("HTTP/1.1 503 Service Unavailable") | None),
            "{status:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_that_never_end_are_cut_off_and_connections_are_capped() {
    let llm = gen_standin().await;
    let rm = rm_standin(Scorer::Proxy).await;
    let mut cfg = ServeConfig::new(bon(2));
    cfg.header_timeout = Duration::from_secs(1);
    cfg.max_connections = 4;
    let p = proxy_with(gen_client(&llm.url()), reward_client(&rm.url(), RewardApi::Tei), cfg).await;
    // Half a request line, then silence: closed after the header deadline.
    let mut s = TcpStream::connect(p.addr).await.unwrap();
    s.write_all(b"POST /v1/chat/comp").await.unwrap();
    let t = Instant::now();
    let mut buf = [0u8; 256];
    let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
        .await
        .expect("closed in time");
    assert!(t.elapsed() >= Duration::from_millis(900), "{:?}", t.elapsed());
    let _ = n;
    // Four idle connections fill the cap: the fifth is closed at once, and is counted.
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(TcpStream::connect(p.addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut fifth = TcpStream::connect(p.addr).await.unwrap();
    let r = tokio::time::timeout(Duration::from_secs(2), fifth.read(&mut buf))
        .await
        .expect("closed at once");
    assert!(matches!(r, Ok(0) | Err(_)), "{r:?}");
    drop(idle);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let metrics = fetch_metrics(&p.url()).await;
    assert!(metrics.contains("hedge_connections_refused_total 1"), "{metrics}");
    let (status, body) = post(&format!("{}/v1/completions", p.url()), &json!({"prompt": "after"})).await;
    assert_eq!(status, 200, "{body}");
    p.stop().await.unwrap();
}

/// An upstream that answers with more than the client reads: a 502 that names the stage and a request
/// id, with the upstream's URL and text kept out of the answer (they are in the log).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_upstream_answers_are_refused_without_leaking_details() {
    use axum::routing::post as route_post;
    let huge = format!(
        "{{\"choices\": [{{\"index\": 0, \"message\": {{\"role\": \"assistant\", \"content\": \"{}\"}}}}]}}",
        "x".repeat(3 << 20)
    );
    let app = axum::Router::new().route(
        "/v1/chat/completions",
        route_post(move || {
            let body = huge.clone();
            async move { ([("content-type", "application/json")], body) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let rm = rm_standin(Scorer::Proxy).await;
    let mut gen_cfg = client_cfg(&upstream);
    gen_cfg.max_response_bytes = 1 << 20;
    let llm = crate::net::GenClient::new(&gen_cfg, Some("m".into())).unwrap();
    let p = proxy_with(llm, reward_client(&rm.url(), RewardApi::Tei), ServeConfig::new(bon(2))).await;
    let r = http()
        .post(format!("{}/v1/chat/completions", p.url()))
        .json(&chat_body("hi"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 502);
    let id = r.headers()["x-request-id"].to_str().unwrap().to_string();
    let v: serde_json::Value = r.json().await.unwrap();
    let message = v["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("generation failed upstream") && message.contains(&id),
        "{message}"
    );
    assert_eq!(v["error"]["request_id"], id.as_str());
    assert!(
        !message.contains("127.0.0.1") && !message.contains("bytes"),
        "{message}"
    );
    p.stop().await.unwrap();
}
