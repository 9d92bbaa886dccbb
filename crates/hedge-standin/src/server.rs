//! A running stand-in: [`Standin`] (on the caller's runtime), [`ThreadStandin`] (on a thread and runtime of
//! its own) and the router that puts every route on one address.

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use axum::Router;
use axum::routing::{get, post};

use crate::admin::{get_proxy_noise, set_proxy_noise};
use crate::config::{Inner, SharedNoise, StandinConfig, Stats, read_noise, write_noise};
use crate::generation::{chat, completions};
use crate::noise::{InvalidNoise, ProxyNoise};
use crate::reward::{classify, get_reward, pooling, predict};

/// A running stand-in.
#[derive(Debug)]
pub struct Standin {
    addr: SocketAddr,
    stats: Arc<Stats>,
    noise: SharedNoise,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Standin {
    /// Starts on `127.0.0.1` with a free port.
    pub async fn start(cfg: StandinConfig) -> std::io::Result<Standin> {
        Self::start_on("127.0.0.1:0", cfg).await
    }

    /// Starts on `addr` (which must be a loopback address).
    pub async fn start_on(addr: &str, cfg: StandinConfig) -> std::io::Result<Standin> {
        let initial_noise = cfg
            .proxy_noise
            .validate()
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        if !addr.ip().is_loopback() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "stand-ins listen on loopback addresses only",
            ));
        }
        let stats = Arc::new(Stats::default());
        let noise = Arc::new(RwLock::new(initial_noise));
        let app = router(Arc::new(Inner {
            cfg,
            stats: Arc::clone(&stats),
            noise: Arc::clone(&noise),
        }));
        use axum::serve::ListenerExt;
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(Standin {
            addr,
            stats,
            noise,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The request counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The current proxy noise of [`Scorer::Noisy`](crate::Scorer::Noisy).
    pub fn proxy_noise(&self) -> ProxyNoise {
        read_noise(&self.noise)
    }

    /// Switches the proxy noise of [`Scorer::Noisy`](crate::Scorer::Noisy) (as `POST /admin/proxy-noise` does);
    /// requests that arrive afterwards are scored under the new noise. Refuses (and keeps the current one) an
    /// invalid setting.
    pub fn set_proxy_noise(&self, noise: ProxyNoise) -> Result<(), InvalidNoise> {
        write_noise(&self.noise, noise)
    }

    /// Stops the server.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for Standin {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A stand-in running on its own thread and runtime, for synchronous tests.
#[derive(Debug)]
pub struct ThreadStandin {
    url: String,
    stats: Arc<Stats>,
    noise: SharedNoise,
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ThreadStandin {
    /// Starts a stand-in on a background thread.
    pub fn start(cfg: StandinConfig) -> std::io::Result<ThreadStandin> {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            rt.block_on(async move {
                match Standin::start(cfg).await {
                    Ok(s) => {
                        let _ = ready_tx.send(Ok((s.url(), Arc::clone(&s.stats), Arc::clone(&s.noise))));
                        let _ = tokio::task::spawn_blocking(move || stop_rx.recv()).await;
                        s.stop().await;
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                    }
                }
            });
        });
        let (url, stats, noise) = ready_rx
            .recv()
            .map_err(|_| std::io::Error::other("stand-in thread died"))??;
        Ok(ThreadStandin {
            url,
            stats,
            noise,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The request counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The current proxy noise of [`Scorer::Noisy`](crate::Scorer::Noisy).
    pub fn proxy_noise(&self) -> ProxyNoise {
        read_noise(&self.noise)
    }

    /// Switches the proxy noise (see [`Standin::set_proxy_noise`]).
    pub fn set_proxy_noise(&self, noise: ProxyNoise) -> Result<(), InvalidNoise> {
        write_noise(&self.noise, noise)
    }
}

impl Drop for ThreadStandin {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn router(inner: Arc<Inner>) -> Router {
    Router::new()
        .route("/v1/completions", post(completions))
        .route("/v1/chat/completions", post(chat))
        .route("/pooling", post(pooling))
        .route("/classify", post(classify))
        .route("/predict", post(predict))
        .route("/get_reward", post(get_reward))
        .route("/admin/proxy-noise", get(get_proxy_noise).post(set_proxy_noise))
        .route("/health", get(|| async { "ok" }))
        .with_state(inner)
}
