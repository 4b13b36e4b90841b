//! The HTTP endpoint of `wasm-bpf run --metrics ADDR` (and of the
//! agent's, over all its apps: see [`Scrape`]): `GET /metrics` for
//! Prometheus, `GET /healthz` for probes (200 once the app is ready, 503
//! before).
//!
//! It runs on a thread and async runtime of its own: the guest's thread
//! may be computing or blocked in a wait, and a scrape must not wait for
//! it. A connection serves one request (Prometheus connects per scrape)
//! and lives at most [`CONNECTION_TIMEOUT`]; at most [`MAX_CONNECTIONS`]
//! live at once, and a new one evicts the oldest, first among those that
//! have not sent a whole request yet. So idle or slow clients, however
//! many and however often they reconnect, cannot keep a scrape from being
//! answered.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::Context as _;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, ACCEPT, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::oneshot;

use super::Metrics;

/// What the endpoint serves: one run's [`Metrics`], or an agent's apps'.
pub trait Scrape: Send + Sync {
    /// Every family, in OpenMetrics text or Prometheus' 0.0.4 text.
    fn encode(&self, openmetrics: bool) -> Result<String, std::fmt::Error>;
    /// Whether `/healthz` says ready; if not, why.
    fn health(&self) -> Result<(), String>;
}

impl Scrape for Metrics {
    fn encode(&self, openmetrics: bool) -> Result<String, std::fmt::Error> {
        Metrics::encode(self, openmetrics)
    }

    fn health(&self) -> Result<(), String> {
        if self.ready() {
            return Ok(());
        }
        Err("the app has not attached a program and begun waiting for events".into())
    }
}

/// Most connections alive at once; a new one evicts the oldest.
const MAX_CONNECTIONS: usize = 32;
/// How long a client has to send a request's head.
const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a connection lives, its response included.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(30);

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The endpoint, served until dropped.
pub struct Server {
    address: SocketAddr,
    _shutdown: oneshot::Sender<()>,
}

impl Server {
    /// Listens on `address` and serves `metrics` there. The socket is
    /// bound before this returns, so a port in use is an error here, not
    /// a silent thread's.
    pub fn start(address: SocketAddr, metrics: Arc<dyn Scrape>) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(address)
            .with_context(|| format!("--metrics {address}: listening"))?;
        let address = listener
            .local_addr()
            .context("--metrics: reading the address")?;
        listener
            .set_nonblocking(true)
            .context("--metrics: setting up the socket")?;
        let (shutdown, stopped) = oneshot::channel();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("--metrics: starting the server's runtime")?;
        std::thread::Builder::new()
            .name("metrics".into())
            .spawn(move || runtime.block_on(serve(listener, metrics, stopped)))
            .context("--metrics: starting the server's thread")?;
        Ok(Self {
            address,
            _shutdown: shutdown,
        })
    }

    /// Where it listens (with the port the kernel chose for port 0).
    pub fn address(&self) -> SocketAddr {
        self.address
    }
}

/// A live connection, as the accept loop sees it.
struct Live {
    id: u64,
    /// Set once a whole request head arrived: the connection is working.
    requested: Arc<AtomicBool>,
    /// Dropped to close the connection.
    _evict: oneshot::Sender<()>,
}

/// The live connections, oldest first.
type Connections = Arc<Mutex<VecDeque<Live>>>;

/// Makes room for one more connection: past the cap, the oldest one that
/// has not sent a whole request goes, or else the oldest of all.
fn make_room(live: &mut VecDeque<Live>) {
    while live.len() >= MAX_CONNECTIONS {
        let idle = live
            .iter()
            .position(|c| !c.requested.load(Ordering::Relaxed))
            .unwrap_or(0);
        live.remove(idle);
    }
}

async fn serve(
    listener: TcpListener,
    metrics: Arc<dyn Scrape>,
    mut stopped: oneshot::Receiver<()>,
) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(listener) => listener,
        Err(e) => {
            tracing::error!("--metrics: {e}");
            return;
        }
    };
    let connections: Connections = Arc::default();
    for id in 0.. {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::debug!("--metrics: accepting: {e}");
                    continue;
                }
            },
            _ = &mut stopped => return,
        };
        let requested = Arc::new(AtomicBool::new(false));
        let (evict, evicted) = oneshot::channel::<()>();
        {
            let mut live = connections.lock().unwrap_or_else(PoisonError::into_inner);
            make_room(&mut live);
            live.push_back(Live {
                id,
                requested: Arc::clone(&requested),
                _evict: evict,
            });
        }
        let (metrics, connections) = (Arc::clone(&metrics), Arc::clone(&connections));
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                requested.store(true, Ordering::Relaxed);
                let metrics = Arc::clone(&metrics);
                async move { Ok::<_, Infallible>(respond(metrics.as_ref(), &request)) }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .keep_alive(false)
                .serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                served = tokio::time::timeout(CONNECTION_TIMEOUT, connection) => match served {
                    Ok(Err(e)) => tracing::debug!("--metrics: serving {peer}: {e}"),
                    Err(_) => tracing::debug!("--metrics: {peer} took too long"),
                    Ok(Ok(())) => {}
                },
                _ = evicted => tracing::debug!("--metrics: {peer} evicted for a newer connection"),
            }
            connections
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .retain(|c| c.id != id);
        });
        // The connection reads its request before the next accept can
        // count it among the idle ones: a flood of new connections does
        // not evict a scraper that has sent its request.
        tokio::task::yield_now().await;
    }
}

fn text(status: StatusCode, content_type: &'static str, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

fn respond(metrics: &dyn Scrape, request: &Request<Incoming>) -> Response<Full<Bytes>> {
    const PLAIN: &str = "text/plain; charset=utf-8";
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return text(StatusCode::METHOD_NOT_ALLOWED, PLAIN, "GET only\n".into());
    }
    match request.uri().path() {
        "/metrics" => {
            let openmetrics = request
                .headers()
                .get_all(ACCEPT)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .any(|v| v.contains("application/openmetrics-text"));
            let content_type = if openmetrics {
                OPENMETRICS
            } else {
                PROMETHEUS_TEXT
            };
            match metrics.encode(openmetrics) {
                Ok(body) => text(StatusCode::OK, content_type, body),
                Err(_) => text(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    PLAIN,
                    "encoding the metrics failed\n".into(),
                ),
            }
        }
        "/healthz" => match metrics.health() {
            Ok(()) => text(StatusCode::OK, PLAIN, "ok\n".into()),
            Err(why) => text(
                StatusCode::SERVICE_UNAVAILABLE,
                PLAIN,
                format!("not ready: {why}\n"),
            ),
        },
        _ => text(
            StatusCode::NOT_FOUND,
            PLAIN,
            "not found: /metrics and /healthz are served\n".into(),
        ),
    }
}

/// Reads `--metrics`'s value: `PORT` or `:PORT` listens on loopback
/// (127.0.0.1), `HOST:PORT` where it says (`0.0.0.0:9100` in a pod).
pub fn parse_address(spec: &str) -> Result<SocketAddr, String> {
    let port = spec.strip_prefix(':').unwrap_or(spec);
    if let Ok(port) = port.parse::<u16>() {
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    spec.parse().map_err(|_| {
        format!("`{spec}` is not PORT, :PORT or ADDRESS:PORT (e.g. 9100, 0.0.0.0:9100, [::1]:9100)")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_is_made_first_from_connections_without_a_request() {
        let connection = |id: u64, requested: bool| Live {
            id,
            requested: Arc::new(AtomicBool::new(requested)),
            _evict: oneshot::channel().0,
        };
        let mut live: VecDeque<Live> = (0..MAX_CONNECTIONS as u64)
            .map(|id| connection(id, id != 3))
            .collect();
        make_room(&mut live);
        assert_eq!(live.len(), MAX_CONNECTIONS - 1);
        assert!(live.iter().all(|c| c.id != 3), "the idle one goes");
        live.push_back(connection(100, true));
        make_room(&mut live);
        assert_eq!(live.front().map(|c| c.id), Some(1), "then the oldest");
    }

    #[test]
    fn a_port_alone_means_loopback() {
        assert_eq!(parse_address("9100").unwrap().to_string(), "127.0.0.1:9100");
        assert_eq!(
            parse_address(":9100").unwrap().to_string(),
            "127.0.0.1:9100"
        );
        assert_eq!(
            parse_address("0.0.0.0:80").unwrap().to_string(),
            "0.0.0.0:80"
        );
        assert_eq!(parse_address("[::1]:80").unwrap().to_string(), "[::1]:80");
        assert!(parse_address("localhost").is_err());
    }
}
