//! Where a guest's stdout and stderr go when the process runs more than
//! one guest (`wasm-bpf agent`): not the process's own streams, which
//! every guest would share, but an [`Output`] of the guest's, which also
//! receives libbpf's messages for the guest's calls.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// The most a guest may write at once (wasmtime's own stdout's figure).
const MAX_WRITE: usize = 64 * 1024;

/// Which of the guest's streams a write came on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// Receives what one guest writes. Writes must not block: a guest's
/// output never waits for a reader.
pub trait Output: Send + Sync + std::fmt::Debug {
    fn write(&self, stream: Stream, bytes: &[u8]);
}

/// One of a guest's streams, as WASI hands it to the guest.
#[derive(Clone)]
pub(crate) struct Pipe {
    output: Arc<dyn Output>,
    stream: Stream,
}

impl Pipe {
    pub(crate) fn new(output: &Arc<dyn Output>, stream: Stream) -> Self {
        Self {
            output: Arc::clone(output),
            stream,
        }
    }
}

impl IsTerminal for Pipe {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for Pipe {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }

    // Written where the guest writes, as the process's own stdout is:
    // wasmtime's default adapter hands every write to a task of its own.
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
}

impl OutputStream for Pipe {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.output.write(self.stream, &bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(MAX_WRITE)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for Pipe {
    async fn ready(&mut self) {}
}

impl AsyncWrite for Pipe {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.output.write(self.stream, buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
