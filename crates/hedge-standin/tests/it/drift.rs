//! The latent-quality stand-ins over HTTP: distinct candidates per request, scores of every reward API equal to
//! the public functions of the candidate text, the proxy noise switched at run time (admin route and
//! `Standin::set_proxy_noise`), bad admin bodies refused, and the binary's `--scorer` / `--noise` flags.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use hedge_standin::{ProxyNoise, Scorer, Standin, StandinConfig, latent_quality, noisy_score};
use serde_json::{Value, json};

async fn start(scorer: Scorer) -> Standin {
    Standin::start(StandinConfig {
        scorer,
        ..Default::default()
    })
    .await
    .unwrap()
}

async fn post(url: &str, body: &Value) -> (u16, Value) {
    post_raw(url, body.to_string()).await
}

async fn post_raw(url: &str, body: String) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn get(url: &str) -> (u16, Value) {
    let r = reqwest::get(url).await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// The choices' texts of one generation request.
async fn generate(llm: &Standin, chat: bool, prompt: &str, n: u64, seed: Option<u64>) -> Vec<String> {
    let mut body = if chat {
        json!({"messages": [{"role": "user", "content": prompt}], "n": n, "temperature": 1.0})
    } else {
        json!({"prompt": prompt, "n": n, "temperature": 1.0})
    };
    if let Some(s) = seed {
        body["seed"] = json!(s);
    }
    let path = if chat {
        "/v1/chat/completions"
    } else {
        "/v1/completions"
    };
    let (status, v) = post(&format!("{}{path}", llm.url()), &body).await;
    assert_eq!(status, 200, "{v}");
    v["choices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let t = if chat { &c["message"]["content"] } else { &c["text"] };
            t.as_str().unwrap().to_string()
        })
        .collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * (1.0 + b.abs())
}

/// The six request shapes of the five reward APIs, as hedge-client sends them.
#[derive(Debug, Clone, Copy)]
enum Shape {
    VllmPooling,
    VllmClassify,
    /// vLLM `/classify` with the conversation as `messages`, one request per response.
    VllmMessages,
    Sglang,
    Tei,
    Openrlhf,
}

const SHAPES: [Shape; 6] = [
    Shape::VllmPooling,
    Shape::VllmClassify,
    Shape::VllmMessages,
    Shape::Sglang,
    Shape::Tei,
    Shape::Openrlhf,
];

/// Scores `responses` to the user message `prompt` through one API shape. Plain-text shapes get the
/// conversation rendered as hedge-client renders it (`user: …\n\nassistant: …`) for `chat`, else `prompt + response`.
async fn score(rm: &Standin, shape: Shape, chat: bool, prompt: &str, responses: &[String]) -> Vec<f64> {
    let url = rm.url();
    let texts: Vec<String> = responses
        .iter()
        .map(|r| {
            if chat {
                format!("user: {prompt}\n\nassistant: {r}")
            } else {
                format!("{prompt}{r}")
            }
        })
        .collect();
    let num = |v: &Value| v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"));
    match shape {
        Shape::VllmPooling => {
            let (s, v) = post(
                &format!("{url}/pooling"),
                &json!({"input": texts, "use_activation": false}),
            )
            .await;
            assert_eq!(s, 200, "{v}");
            v["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| num(&d["data"][0]))
                .collect()
        }
        Shape::VllmClassify => {
            let (s, v) = post(
                &format!("{url}/classify"),
                &json!({"input": texts, "use_activation": false}),
            )
            .await;
            assert_eq!(s, 200, "{v}");
            v["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| num(&d["probs"][0]))
                .collect()
        }
        Shape::VllmMessages => {
            let mut out = Vec::new();
            for r in responses {
                let messages = json!([{"role": "user", "content": prompt}, {"role": "assistant", "content": r}]);
                let (s, v) = post(
                    &format!("{url}/classify"),
                    &json!({"messages": messages, "use_activation": false}),
                )
                .await;
                assert_eq!(s, 200, "{v}");
                out.push(num(&v["data"][0]["probs"][0]));
            }
            out
        }
        Shape::Sglang => {
            let (s, v) = post(&format!("{url}/classify"), &json!({"text": texts})).await;
            assert_eq!(s, 200, "{v}");
            v.as_array().unwrap().iter().map(|d| num(&d["embedding"][0])).collect()
        }
        Shape::Tei => {
            let inputs: Vec<Value> = texts.iter().map(|t| json!([t])).collect();
            let (s, v) = post(
                &format!("{url}/predict"),
                &json!({"inputs": inputs, "raw_scores": true}),
            )
            .await;
            assert_eq!(s, 200, "{v}");
            v.as_array().unwrap().iter().map(|d| num(&d[0]["score"])).collect()
        }
        Shape::Openrlhf => {
            let (s, v) = post(&format!("{url}/get_reward"), &json!({"query": texts})).await;
            assert_eq!(s, 200, "{v}");
            v["rewards"].as_array().unwrap().iter().map(num).collect()
        }
    }
}

/// (2) The 32 choices of one request are 32 distinct texts with 32 distinct latent qualities, seeded or not,
/// on both routes; the gold route scores each with its `latent_quality`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_candidates_of_a_request_are_distinct() {
    let llm = start(Scorer::Proxy).await;
    let gold = start(Scorer::Latent).await;
    for chat in [false, true] {
        for seed in [Some(11), None] {
            for prompt in ["Q: 1+1? A:", "Tell me a story"] {
                let texts = generate(&llm, chat, prompt, 32, seed).await;
                assert_eq!(texts.len(), 32);
                assert_eq!(texts.iter().collect::<HashSet<_>>().len(), 32, "{texts:?}");
                let q: Vec<f64> = texts.iter().map(|t| latent_quality(t)).collect();
                assert_eq!(q.iter().map(|v| v.to_bits()).collect::<HashSet<_>>().len(), 32, "{q:?}");
                let scored = score(&gold, Shape::VllmPooling, chat, prompt, &texts).await;
                assert!(scored.iter().zip(&q).all(|(a, b)| close(*a, *b)), "{scored:?} vs {q:?}");
            }
        }
    }
    // A seeded request is reproducible; an unseeded one draws fresh texts.
    let a = generate(&llm, false, "p", 32, Some(5)).await;
    assert_eq!(a, generate(&llm, false, "p", 32, Some(5)).await);
    let b = generate(&llm, false, "p", 32, None).await;
    let c = generate(&llm, false, "p", 32, None).await;
    assert!(b.iter().all(|t| !c.contains(t)));
}

/// (d) Switching the noise at run time changes the proxy scores of every reward API and leaves the gold
/// (latent) scores unchanged; the scores are the public functions of the candidate text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switching_the_noise_moves_the_proxy_and_not_the_gold() {
    let llm = start(Scorer::Proxy).await;
    let proxy = start(Scorer::Noisy).await;
    let gold = start(Scorer::Latent).await;
    let gaussian = ProxyNoise::Gaussian { scale: 0.7 };
    let cauchy = ProxyNoise::Cauchy { scale: 3.0 };
    let student = ProxyNoise::StudentT { df: 2.5, scale: 0.7 };
    assert_eq!(proxy.proxy_noise(), gaussian);
    let (s, v) = get(&format!("{}/admin/proxy-noise", proxy.url())).await;
    assert_eq!((s, v), (200, json!({"kind": "gaussian", "scale": 0.7})));

    let mut cases = Vec::new();
    for chat in [false, true] {
        let prompt = if chat { "Tell me a story" } else { "Q: 2+2? A:" };
        cases.push((chat, prompt, generate(&llm, chat, prompt, 8, Some(3)).await));
    }
    let expect = |texts: &[String], noise: Option<ProxyNoise>| -> Vec<f64> {
        texts
            .iter()
            .map(|t| noise.map_or_else(|| latent_quality(t), |n| noisy_score(t, n)))
            .collect()
    };
    let check = |what: &str, got: &[f64], want: &[f64]| {
        assert!(
            got.iter().zip(want).all(|(a, b)| close(*a, *b)),
            "{what}: {got:?} vs {want:?}"
        );
    };

    let mut before = Vec::new();
    for (chat, prompt, texts) in &cases {
        for shape in SHAPES {
            let what = format!("{shape:?} chat={chat} gaussian");
            let p = score(&proxy, shape, *chat, prompt, texts).await;
            check(&what, &p, &expect(texts, Some(gaussian)));
            let g = score(&gold, shape, *chat, prompt, texts).await;
            check(&what, &g, &expect(texts, None));
            before.push((p, g));
        }
    }

    // Through the admin route, on both stand-ins.
    for s in [&proxy, &gold] {
        let (status, v) = post(
            &format!("{}/admin/proxy-noise", s.url()),
            &json!({"kind": "cauchy", "scale": 3}),
        )
        .await;
        assert_eq!((status, v), (200, json!({"kind": "cauchy", "scale": 3.0})));
        assert_eq!(s.proxy_noise(), cauchy);
        let (_, v) = get(&format!("{}/admin/proxy-noise", s.url())).await;
        assert_eq!(v, json!({"kind": "cauchy", "scale": 3.0}));
    }
    let mut i = 0;
    for (chat, prompt, texts) in &cases {
        for shape in SHAPES {
            let what = format!("{shape:?} chat={chat} cauchy");
            let p = score(&proxy, shape, *chat, prompt, texts).await;
            check(&what, &p, &expect(texts, Some(cauchy)));
            assert!(
                p.iter().zip(&before[i].0).all(|(a, b)| a != b),
                "{what}: proxy unchanged"
            );
            let g = score(&gold, shape, *chat, prompt, texts).await;
            assert_eq!(g, before[i].1, "{what}: gold changed");
            i += 1;
        }
    }

    // Through the handle, Student-t; GET shows it.
    proxy.set_proxy_noise(student).unwrap();
    let (_, v) = get(&format!("{}/admin/proxy-noise", proxy.url())).await;
    assert_eq!(v, json!({"kind": "student_t", "scale": 0.7, "df": 2.5}));
    for (chat, prompt, texts) in &cases {
        let p = score(&proxy, Shape::Openrlhf, *chat, prompt, texts).await;
        check("student_t", &p, &expect(texts, Some(student)));
    }
    let (status, v) = post(
        &format!("{}/admin/proxy-noise", proxy.url()),
        &json!({"kind": "student_t", "scale": 0.5, "df": 4}),
    )
    .await;
    assert_eq!(
        (status, v),
        (200, json!({"kind": "student_t", "scale": 0.5, "df": 4.0}))
    );
    assert_eq!(proxy.proxy_noise(), ProxyNoise::StudentT { df: 4.0, scale: 0.5 });
    // An invalid setting through the handle is refused and changes nothing.
    assert!(proxy.set_proxy_noise(ProxyNoise::Cauchy { scale: -1.0 }).is_err());
    assert!(
        proxy
            .set_proxy_noise(ProxyNoise::StudentT { df: 0.0, scale: 1.0 })
            .is_err()
    );
    assert_eq!(proxy.proxy_noise(), ProxyNoise::StudentT { df: 4.0, scale: 0.5 });
}

/// (e) Bad admin bodies get HTTP 400 with a message and leave the setting unchanged; a required key is required.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_route_refuses_bad_bodies() {
    let proxy = start(Scorer::Noisy).await;
    let url = format!("{}/admin/proxy-noise", proxy.url());
    let bad = [
        "",
        "not json",
        "[1, 2]",
        "{}",
        r#"{"scale": 1}"#,
        r#"{"kind": "laplace", "scale": 1}"#,
        r#"{"kind": "Cauchy", "scale": 1}"#,
        r#"{"kind": 3, "scale": 1}"#,
        r#"{"kind": "cauchy"}"#,
        r#"{"kind": "cauchy", "scale": "3"}"#,
        r#"{"kind": "cauchy", "scale": -3}"#,
        r#"{"kind": "gaussian", "scale": 1e999}"#,
        r#"{"kind": "gaussian", "scale": 0.5, "sclae": 1}"#,
        r#"{"kind": "student_t", "scale": 0.7}"#,
        r#"{"kind": "student_t", "scale": 0.7, "df": 0}"#,
        r#"{"kind": "student_t", "scale": 0.7, "df": -2}"#,
        r#"{"kind": "student_t", "scale": 0.7, "df": null}"#,
    ];
    for body in bad {
        let (status, v) = post_raw(&url, body.to_string()).await;
        assert_eq!(status, 400, "{body}: {v}");
        let msg = v["error"]["message"].as_str().unwrap_or_else(|| panic!("{body}: {v}"));
        assert!(!msg.is_empty());
        assert_eq!(proxy.proxy_noise(), ProxyNoise::Gaussian { scale: 0.7 }, "{body}");
    }
    let (_, v) = get(&url).await;
    assert_eq!(v, json!({"kind": "gaussian", "scale": 0.7}));
    // Scale 0 is allowed (the proxy is then the gold reward); df is ignored outside Student-t.
    let (status, v) = post(&url, &json!({"kind": "gaussian", "scale": 0, "df": 3})).await;
    assert_eq!((status, v), (200, json!({"kind": "gaussian", "scale": 0.0})));

    let locked = Standin::start(StandinConfig {
        scorer: Scorer::Noisy,
        require_key: Some("k3y".into()),
        ..Default::default()
    })
    .await
    .unwrap();
    let url = format!("{}/admin/proxy-noise", locked.url());
    let (status, _) = post(&url, &json!({"kind": "cauchy", "scale": 3})).await;
    assert_eq!(status, 401);
    assert_eq!(get(&url).await.0, 401);
    let r = reqwest::Client::new()
        .post(&url)
        .bearer_auth("k3y")
        .json(&json!({"kind": "cauchy", "scale": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(locked.proxy_noise(), ProxyNoise::Cauchy { scale: 3.0 });

    // An invalid initial noise is refused at start.
    let err = Standin::start(StandinConfig {
        proxy_noise: ProxyNoise::Gaussian { scale: f64::NAN },
        ..Default::default()
    })
    .await
    .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
}

/// The `--noise` form.
#[test]
fn noise_specs_parse_and_print() {
    for (spec, noise) in [
        ("gaussian:0.7", ProxyNoise::Gaussian { scale: 0.7 }),
        ("cauchy:3", ProxyNoise::Cauchy { scale: 3.0 }),
        ("student_t:2.5:0.7", ProxyNoise::StudentT { df: 2.5, scale: 0.7 }),
    ] {
        assert_eq!(spec.parse::<ProxyNoise>(), Ok(noise));
        assert_eq!(noise.to_string().parse::<ProxyNoise>(), Ok(noise));
        assert_eq!(ProxyNoise::from_json(&noise.to_json()), Ok(noise));
    }
    assert_eq!(ProxyNoise::default(), ProxyNoise::Gaussian { scale: 0.7 });
    for bad in [
        "",
        "cauchy",
        "cauchy:",
        "cauchy:x",
        "cauchy:-1",
        "gaussian:nan",
        "gaussian:inf",
        "student_t:2.5",
        "student_t:0:1",
        "laplace:1",
        "cauchy:1:2",
    ] {
        assert!(bad.parse::<ProxyNoise>().is_err(), "{bad}");
    }
}

/// (4) The binary: `--scorer noisy --noise cauchy:3` serves the Cauchy proxy; `--help` documents the flags; a
/// bad `--noise` is a usage error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_takes_scorer_and_noise_flags() {
    let exe = env!("CARGO_BIN_EXE_hedge-standin");
    let help = Command::new(exe).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for word in [
        "--scorer",
        "latent",
        "noisy",
        "--noise",
        "student_t:DF:SCALE",
        "/admin/proxy-noise",
    ] {
        assert!(help.contains(word), "{word} not in:\n{help}");
    }
    let bad = Command::new(exe).args(["--noise", "cauchy:-3"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2), "{}", String::from_utf8_lossy(&bad.stderr));

    let mut child = KillOnDrop(
        Command::new(exe)
            .args(["--listen", "127.0.0.1:0", "--scorer", "noisy", "--noise", "cauchy:3"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().rsplit(' ').next().unwrap().to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{line}");
    let (_, v) = get(&format!("{url}/admin/proxy-noise")).await;
    assert_eq!(v, json!({"kind": "cauchy", "scale": 3.0}));
    let t = "the model thinks and then writes a short answer The answer is (B), i.e. \\boxed{1}.";
    let (_, v) = post(&format!("{url}/get_reward"), &json!({"query": [format!("Q: A:{t}")]})).await;
    let got = v["rewards"][0].as_f64().unwrap();
    assert!(close(got, noisy_score(t, ProxyNoise::Cauchy { scale: 3.0 })), "{v}");
}

/// Stops the child process started by the test, also when the test fails.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
