//! Connections: the accept loop behind [`super::Proxy::serve`].
//!
//! Limits that protect the proxy from slow or hostile peers, before any request reaches a handler:
//! - at most `max_connections` connections at once; one more is closed at once (and counted);
//! - a request's headers must arrive within `header_timeout` (hyper's header-read timer), else the
//!   connection is closed;
//! - (the body's deadline and the request slots are the handler's, see [`super::Proxy`]).
//!
//! Shutdown: stop accepting, tell the handlers (requests still reading their body stop at once with
//! HTTP 503), ask every connection to close once its request in progress is answered (idle keep-alive
//! connections close immediately), and wait for them at most `shutdown_timeout`; whatever is left
//! then is dropped.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

use crate::metrics::Metrics;

/// The limits of the accept loop.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnLimits {
    pub max_connections: usize,
    pub header_timeout: Duration,
    pub shutdown_timeout: Duration,
}

/// Decrements the open-connections gauge when a connection task ends, however it ends.
struct Open(Arc<Metrics>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.connections(-1);
    }
}

/// Serve `router` on `listener` until `shutdown` resolves; then `stopping` is set and the connections
/// are drained as the module documentation says.
pub(crate) async fn run(
    listener: TcpListener,
    router: Router,
    limits: ConnLimits,
    metrics: Arc<Metrics>,
    stopping: watch::Sender<bool>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut tasks = tokio::task::JoinSet::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(x) => x,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            metrics.connection_refused();
            tracing::debug!(%peer, limit = limits.max_connections, "connection refused: at the connection limit");
            drop(stream);
            continue;
        };
        // Answers are small writes: without TCP_NODELAY, Nagle's algorithm meeting the client's delayed
        // ACK can hold a response back for tens of milliseconds.
        let _ = stream.set_nodelay(true);
        metrics.connections(1);
        let open = Open(Arc::clone(&metrics));
        let service = TowerToHyperService::new(router.clone());
        let conn = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tasks.spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
            drop((slot, open));
        });
        while tasks.try_join_next().is_some() {}
    }
    drop(listener);
    let _ = stopping.send(true);
    tokio::select! {
        _ = graceful.shutdown() => tracing::info!("every connection closed"),
        _ = tokio::time::sleep(limits.shutdown_timeout) => tracing::warn!(
            open = metrics.connections_now(),
            timeout = ?limits.shutdown_timeout,
            "connections still open at the shutdown deadline: dropping them"
        ),
    }
    tasks.abort_all();
    while tasks.join_next().await.is_some() {}
}
