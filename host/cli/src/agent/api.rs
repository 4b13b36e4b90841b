//! The agent's local API: HTTP/1 with JSON bodies on a Unix socket, for
//! `wasm-bpf apps` and for scripts (`curl --unix-socket`). The socket is
//! 0600 in a directory only the agent's user can write, and every
//! connection's peer must be that user or root (checked on the socket,
//! not taken from the request).
//!
//! | Request                          | Answer                                   |
//! |----------------------------------|------------------------------------------|
//! | `GET /apps`                      | every app's status                       |
//! | `GET /apps/NAME`                 | one app's status                         |
//! | `POST /apps/NAME/start`          | starts a stopped app; with a JSON body of an app file's keys, declares a new one |
//! | `POST /apps/NAME/stop`           | stops it gracefully (it stays declared)  |
//! | `GET /apps/NAME/logs[?follow=1]` | its kept output (then what follows)      |
//! | `GET /status`                    | the apps by state, and whether all run   |
//!
//! Errors are `{"error": "..."}` with 400 (a refused declaration), 404
//! (no such app) or 409 (the name is the apps directory's).

use std::convert::Infallible;
use std::os::unix::fs::{
    DirBuilderExt as _, FileTypeExt as _, MetadataExt as _, PermissionsExt as _,
};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use futures_util::stream;
use http_body_util::{combinators::BoxBody, BodyExt as _, Full, Limited, StreamBody};
use hyper::body::{Bytes, Frame, Incoming};
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use tokio::net::UnixListener;

use super::app_file;
use super::apps::{Agent, Origin, State};

/// The largest request body: an app's declaration.
const MAX_BODY: usize = 64 * 1024;

type Body = BoxBody<Bytes, Infallible>;

/// Binds the socket at `path`, ready to [`serve`].
pub fn bind(path: &Path) -> Result<std::os::unix::net::UnixListener> {
    let dir = path.parent().unwrap_or(Path::new("/"));
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("--api: making {}", dir.display()))?;
    }
    let meta = std::fs::metadata(dir).with_context(|| format!("--api: {}", dir.display()))?;
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != me || meta.mode() & 0o022 != 0 {
        bail!(
            "--api {}: its directory must be owned by this user and writable by no one else \
             (it is owned by uid {}, mode {:o})",
            path.display(),
            meta.uid(),
            meta.mode() & 0o7777
        );
    }
    // A socket left by an agent before; nothing else is removed.
    if let Ok(old) = std::fs::symlink_metadata(path) {
        if !old.file_type().is_socket() {
            bail!("--api {}: exists and is not a socket", path.display());
        }
        std::fs::remove_file(path)
            .with_context(|| format!("--api: removing {}", path.display()))?;
    }
    let listener = std::os::unix::net::UnixListener::bind(path)
        .with_context(|| format!("--api: listening on {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("--api: {}", path.display()))?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// Serves the API on `listener` for as long as the process runs.
pub async fn serve(listener: std::os::unix::net::UnixListener, agent: Arc<Agent>) {
    let listener = match UnixListener::from_std(listener) {
        Ok(listener) => listener,
        Err(e) => {
            crate::messages::error(&format!("--api: {e}"));
            return;
        }
    };
    let me = rustix::process::geteuid().as_raw();
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                tracing::debug!("--api: accepting: {e}");
                continue;
            }
        };
        match rustix::net::sockopt::socket_peercred(&stream) {
            Ok(peer) if peer.uid.as_raw() == me || peer.uid.is_root() => {}
            Ok(peer) => {
                tracing::warn!(target: "wasm_bpf::agent", "--api: refused uid {}", peer.uid.as_raw());
                continue;
            }
            Err(e) => {
                tracing::debug!("--api: reading the peer's credentials: {e}");
                continue;
            }
        }
        let agent = Arc::clone(&agent);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let agent = Arc::clone(&agent);
                async move { Ok::<_, Infallible>(respond(&agent, request).await) }
            });
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!("--api: serving: {e}");
            }
        });
    }
}

fn json(status: StatusCode, value: &impl Serialize) -> Response<Body> {
    let body = serde_json::to_vec(value).unwrap_or_default();
    let mut response = Response::new(Full::new(Bytes::from(body)).boxed());
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn error(status: StatusCode, message: String) -> Response<Body> {
    #[derive(Serialize)]
    struct Error {
        error: String,
    }
    json(status, &Error { error: message })
}

async fn respond(agent: &Arc<Agent>, request: Request<Incoming>) -> Response<Body> {
    let path: Vec<String> = request
        .uri()
        .path()
        .trim_matches('/')
        .split('/')
        .map(str::to_string)
        .collect();
    let follow = request.uri().query().is_some_and(|q| {
        q.split('&')
            .any(|kv| kv == "follow=1" || kv == "follow=true")
    });
    let method = request.method().clone();
    let parts: Vec<&str> = path.iter().map(String::as_str).collect();
    match (&method, parts.as_slice()) {
        (&Method::GET, ["apps"]) => json(StatusCode::OK, &agent.statuses()),
        (&Method::GET, ["status"]) => json(StatusCode::OK, &summary(agent)),
        (&Method::GET, ["apps", name]) => match agent.app(name) {
            Some(app) => json(StatusCode::OK, &app.status()),
            None => error(StatusCode::NOT_FOUND, format!("no app named {name}")),
        },
        (&Method::GET, ["apps", name, "logs"]) => logs(agent, name, follow),
        (&Method::POST, ["apps", name, "stop"]) => match agent.stop(name) {
            Ok(()) => status_of(agent, name),
            Err(e) => error(StatusCode::NOT_FOUND, format!("{e:#}")),
        },
        (&Method::POST, ["apps", name, "start"]) => {
            let name = name.to_string();
            let body = match Limited::new(request.into_body(), MAX_BODY).collect().await {
                Ok(body) => body.to_bytes(),
                Err(e) => return error(StatusCode::BAD_REQUEST, format!("reading the body: {e}")),
            };
            start(agent, &name, &body)
        }
        _ => error(
            StatusCode::NOT_FOUND,
            format!("no such request: {method} {}", request.uri().path()),
        ),
    }
}

fn status_of(agent: &Agent, name: &str) -> Response<Body> {
    match agent.app(name) {
        Some(app) => json(StatusCode::OK, &app.status()),
        None => error(StatusCode::NOT_FOUND, format!("no app named {name}")),
    }
}

/// Starts `name`: the declared app, or the new one `body` declares.
fn start(agent: &Arc<Agent>, name: &str, body: &[u8]) -> Response<Body> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return match agent.start(name) {
            Ok(()) => status_of(agent, name),
            Err(e) => error(StatusCode::NOT_FOUND, format!("{e:#}")),
        };
    }
    if let Err(e) = app_file::check_name(name) {
        return error(StatusCode::BAD_REQUEST, format!("{e:#}"));
    }
    // A refused request leaves nothing behind, unlike a refused file,
    // which stays listed until it is fixed or removed.
    let spec = match serde_json::from_slice::<toml::Table>(body)
        .context("the body is not a JSON object of an app file's keys")
        .and_then(|table| app_file::parse(table, Path::new("/"), &agent.ceiling))
    {
        Ok(spec) => spec,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("{e:#}")),
    };
    if agent
        .app(name)
        .is_some_and(|app| app.status().origin == Origin::File)
    {
        return error(
            StatusCode::CONFLICT,
            format!("{name} is declared by the apps directory, which alone changes it"),
        );
    }
    match agent.declare(name, Origin::Api, Ok(spec)) {
        Ok(()) => status_of(agent, name),
        Err(e) => error(StatusCode::BAD_REQUEST, format!("{e:#}")),
    }
}

/// The agent as a whole: how many apps are in each state, and whether
/// every app runs.
#[derive(Serialize)]
pub struct Summary {
    pub ready: bool,
    pub apps: std::collections::BTreeMap<&'static str, usize>,
}

pub fn summary(agent: &Agent) -> Summary {
    let statuses = agent.statuses();
    let mut apps = std::collections::BTreeMap::new();
    for status in &statuses {
        *apps.entry(status.state.name()).or_insert(0) += 1;
    }
    Summary {
        ready: statuses.iter().all(|s| s.state == State::Running),
        apps,
    }
}

/// The app's kept output; following, what it writes next, until its run
/// ends (or the client goes).
fn logs(agent: &Agent, name: &str, follow: bool) -> Response<Body> {
    let Some(app) = agent.app(name) else {
        return error(StatusCode::NOT_FOUND, format!("no app named {name}"));
    };
    let read = app.log.read(0);
    let mut first = Vec::new();
    if read.dropped > 0 {
        first.extend_from_slice(
            format!("wasm-bpf: {} earlier bytes were dropped\n", read.dropped).as_bytes(),
        );
    }
    first.extend_from_slice(&read.bytes);
    let body = if follow {
        let changes = app.log.subscribe();
        let chunks = stream::unfold(
            (Some(first), read.next, app, changes),
            |(first, offset, app, mut changes)| async move {
                if let Some(first) = first {
                    let frame = Ok(Frame::data(Bytes::from(first)));
                    return Some((frame, (None, offset, app, changes)));
                }
                loop {
                    let read = app.log.read(offset);
                    if !read.bytes.is_empty() {
                        let frame = Ok(Frame::data(Bytes::from(read.bytes)));
                        return Some((frame, (None, read.next, app, changes)));
                    }
                    if !app.is_active() {
                        return None;
                    }
                    // Woken by a write; the timeout sees a run that ended
                    // without writing.
                    let _ =
                        tokio::time::timeout(Duration::from_millis(500), changes.changed()).await;
                }
            },
        );
        StreamBody::new(chunks).boxed()
    } else {
        Full::new(Bytes::from(first)).boxed()
    };
    let mut response = Response::new(body);
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
