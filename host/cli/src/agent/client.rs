//! `wasm-bpf apps`: the agent's API from the command line.

use std::io::Write as _;
use std::path::Path;

use anyhow::{bail, Context as _, Result};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;

use super::apps::Status;
use crate::flags::{AppsCommand, LogsArgs, StartArgs};

/// Runs `command` against the agent; the command's exit status.
pub fn apps(command: &AppsCommand) -> Result<i32> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        match command {
            AppsCommand::Ls(api) => {
                let statuses: Vec<Status> =
                    serde_json::from_slice(&call(&api.api, Method::GET, "/apps", None).await?)?;
                print_table(&statuses);
            }
            AppsCommand::Status(args) => {
                let path = match &args.name {
                    Some(name) => format!("/apps/{name}"),
                    None => "/status".to_string(),
                };
                let body = call(&args.api.api, Method::GET, &path, None).await?;
                let value: serde_json::Value = serde_json::from_slice(&body)?;
                println!("{}", serde_json::to_string_pretty(&value)?);
            }
            AppsCommand::Start(args) => {
                let body = declaration(args)?;
                let path = format!("/apps/{}/start", args.name);
                let status = call(&args.api.api, Method::POST, &path, body).await?;
                print_table(&[serde_json::from_slice(&status)?]);
            }
            AppsCommand::Stop(args) => {
                let name = args
                    .name
                    .as_deref()
                    .context("which app? (`apps stop NAME`)")?;
                let path = format!("/apps/{name}/stop");
                let status = call(&args.api.api, Method::POST, &path, None).await?;
                print_table(&[serde_json::from_slice(&status)?]);
            }
            AppsCommand::Logs(args) => logs(args).await?,
        }
        Ok(0)
    })
}

/// A new app's declaration from `--file` and the command line, as JSON;
/// none for starting a declared app again.
fn declaration(args: &StartArgs) -> Result<Option<Vec<u8>>> {
    let mut table = match &args.file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            toml::from_str::<toml::Table>(&text)
                .with_context(|| format!("app file {}", path.display()))?
        }
        None => toml::Table::new(),
    };
    if let Some((source, app_args)) = args.source_and_args.split_first() {
        // The agent resolves paths from `/`, not from this directory.
        let source = match std::path::absolute(source) {
            Ok(path) if Path::new(source).exists() => path.to_string_lossy().into_owned(),
            _ => source.clone(),
        };
        table.insert("source".into(), source.into());
        table.insert(
            "args".into(),
            toml::Value::Array(app_args.iter().cloned().map(Into::into).collect()),
        );
    }
    if table.is_empty() {
        return Ok(None);
    }
    Ok(Some(serde_json::to_vec(&table)?))
}

fn print_table(statuses: &[Status]) {
    let rows: Vec<[String; 5]> = statuses
        .iter()
        .map(|s| {
            let detail = match (&s.error, s.code) {
                (Some(error), _) => error.clone(),
                (None, Some(code)) => format!("exit code {code}"),
                (None, None) => String::new(),
            };
            [
                s.name.clone(),
                s.state.name().to_string(),
                s.restarts.to_string(),
                s.source.clone().unwrap_or_else(|| "-".into()),
                detail,
            ]
        })
        .collect();
    let header = ["NAME", "STATE", "RESTARTS", "SOURCE", "DETAIL"].map(str::to_string);
    // Every column as wide as its widest cell, as `podman ps` aligns.
    let widths: Vec<usize> = (0..4)
        .map(|i| {
            rows.iter()
                .chain([&header])
                .map(|row| row[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in [&header].into_iter().chain(&rows) {
        let line = format!(
            "{:<w0$}  {:<w1$}  {:>w2$}  {:<w3$}  {}",
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3],
        );
        println!("{}", line.trim_end());
    }
}

async fn connect(socket: &Path) -> Result<hyper::client::conn::http1::SendRequest<Full<Bytes>>> {
    let stream = tokio::net::UnixStream::connect(socket)
        .await
        .with_context(|| {
            format!(
                "connecting to the agent at {} (is `wasm-bpf agent` running? --api names another \
             socket)",
                socket.display()
            )
        })?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!("the agent's connection: {e}");
        }
    });
    Ok(sender)
}

fn request(method: Method, path: &str, body: Option<Vec<u8>>) -> Result<Request<Full<Bytes>>> {
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header(hyper::header::HOST, "wasm-bpf-agent");
    if body.is_some() {
        builder = builder.header(hyper::header::CONTENT_TYPE, "application/json");
    }
    Ok(builder.body(Full::new(Bytes::from(body.unwrap_or_default())))?)
}

/// The body of the answer to `method path`; an error answer's message as
/// the error.
async fn call(socket: &Path, method: Method, path: &str, body: Option<Vec<u8>>) -> Result<Bytes> {
    let mut sender = connect(socket).await?;
    let response = sender.send_request(request(method, path, body)?).await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    if status != StatusCode::OK {
        let message = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
            .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
        bail!("{message}");
    }
    Ok(body)
}

async fn logs(args: &LogsArgs) -> Result<()> {
    let mut sender = connect(&args.api.api).await?;
    let path = format!(
        "/apps/{}/logs{}",
        args.name,
        if args.follow { "?follow=1" } else { "" }
    );
    let mut response = sender
        .send_request(request(Method::GET, &path, None)?)
        .await?;
    if response.status() != StatusCode::OK {
        let body = response.into_body().collect().await?.to_bytes();
        bail!("{}", String::from_utf8_lossy(&body));
    }
    let mut out = std::io::stdout();
    while let Some(frame) = response.body_mut().frame().await {
        if let Ok(data) = frame?.into_data() {
            out.write_all(&data)?;
            out.flush()?;
        }
    }
    Ok(())
}
