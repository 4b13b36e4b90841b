//! One app's output in the agent: kept in a bounded log (its last bytes,
//! the oldest dropped first and counted) for `wasm-bpf apps logs`, and
//! passed on to the agent's stdout a line at a time with the app's name,
//! so that the node's log collector sees every app's lines apart.

use std::collections::VecDeque;
use std::io::Write as _;
use std::sync::{Mutex, PoisonError};

use serde::Serialize;
use tokio::sync::watch;
use wasm_bpf_runtime::output::{Output, Stream};

/// The longest line passed on whole; a longer one is passed on in pieces.
const MAX_LINE: usize = 16 * 1024;

/// One app's output.
#[derive(Debug)]
pub struct AppLog {
    name: String,
    json: bool,
    inner: Mutex<Kept>,
    /// How many bytes were ever written, for followers to wait on.
    written: watch::Sender<u64>,
}

#[derive(Debug)]
struct Kept {
    capacity: usize,
    bytes: VecDeque<u8>,
    /// Bytes written in all; `bytes` holds the last of them.
    total: u64,
    /// Each stream's line so far, not yet passed on.
    partial: [Vec<u8>; 2],
}

/// What a reader gets from [`AppLog::read`].
pub struct Read {
    /// The bytes from the offset asked for (or the oldest kept), to now.
    pub bytes: Vec<u8>,
    /// Bytes between the offset asked for and the oldest kept: dropped.
    pub dropped: u64,
    /// The offset to ask for next.
    pub next: u64,
}

#[derive(Serialize)]
struct JsonLine<'a> {
    app: &'a str,
    stream: &'static str,
    message: &'a str,
}

impl AppLog {
    pub fn new(name: &str, capacity: usize, json: bool) -> Self {
        Self {
            name: name.to_string(),
            json,
            inner: Mutex::new(Kept {
                capacity,
                bytes: VecDeque::new(),
                total: 0,
                partial: [Vec::new(), Vec::new()],
            }),
            written: watch::Sender::new(0),
        }
    }

    /// A line of the agent's own about the app (how it ended), in the
    /// app's log and the agent's output like the app's stderr.
    pub fn note(&self, text: &str) {
        self.write(Stream::Stderr, format!("wasm-bpf: {text}\n").as_bytes());
    }

    /// The log from `offset` (bytes written before it are skipped).
    pub fn read(&self, offset: u64) -> Read {
        let kept = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let oldest = kept.total - kept.bytes.len() as u64;
        let from = offset.clamp(oldest, kept.total);
        let skip = usize::try_from(from - oldest).unwrap_or(usize::MAX);
        Read {
            bytes: kept.bytes.iter().skip(skip).copied().collect(),
            dropped: from - offset.min(from),
            next: kept.total,
        }
    }

    /// Bytes dropped so far to keep the log within its size.
    pub fn dropped(&self) -> u64 {
        let kept = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        kept.total - kept.bytes.len() as u64
    }

    /// Changes whenever something is written.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.written.subscribe()
    }

    /// Passes on what is left of a line without its newline (the app
    /// ended in the middle of one).
    pub fn flush(&self) {
        let mut kept = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        for (index, stream) in [Stream::Stdout, Stream::Stderr].into_iter().enumerate() {
            let line = std::mem::take(&mut kept.partial[index]);
            if !line.is_empty() {
                self.pass_on(stream, &line);
            }
        }
    }

    fn pass_on(&self, stream: Stream, line: &[u8]) {
        let text = String::from_utf8_lossy(line);
        let text = text.trim_end_matches(['\n', '\r']);
        let mut out = std::io::stdout().lock();
        if self.json {
            let line = JsonLine {
                app: &self.name,
                stream: match stream {
                    Stream::Stdout => "stdout",
                    Stream::Stderr => "stderr",
                },
                message: text,
            };
            if serde_json::to_writer(&mut out, &line).is_ok() {
                let _ = out.write_all(b"\n");
            }
        } else {
            let _ = writeln!(out, "[{}] {text}", self.name);
        }
    }
}

impl Output for AppLog {
    fn write(&self, stream: Stream, bytes: &[u8]) {
        let mut kept = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        kept.bytes.extend(bytes);
        kept.total += bytes.len() as u64;
        let excess = kept.bytes.len().saturating_sub(kept.capacity);
        kept.bytes.drain(..excess);
        let index = usize::from(stream == Stream::Stderr);
        let mut rest = bytes;
        while !rest.is_empty() {
            let partial = &mut kept.partial[index];
            match rest.iter().position(|&b| b == b'\n') {
                Some(end) => {
                    partial.extend_from_slice(&rest[..=end]);
                    rest = &rest[end + 1..];
                    let line = std::mem::take(partial);
                    self.pass_on(stream, &line);
                }
                None => {
                    partial.extend_from_slice(rest);
                    rest = &[];
                    if partial.len() >= MAX_LINE {
                        let line = std::mem::take(partial);
                        self.pass_on(stream, &line);
                    }
                }
            }
        }
        let total = kept.total;
        drop(kept);
        self.written.send_replace(total);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_keeps_its_last_bytes_and_says_how_many_it_dropped() {
        let log = AppLog::new("t", 10, false);
        log.write(Stream::Stdout, b"0123456789");
        log.write(Stream::Stderr, b"abcd\n");
        let all = log.read(0);
        assert_eq!(all.bytes, b"56789abcd\n");
        assert_eq!(all.dropped, 5);
        assert_eq!(all.next, 15);
        assert_eq!(log.dropped(), 5);
        let later = log.read(12);
        assert_eq!(later.bytes, b"cd\n");
        assert_eq!(later.dropped, 0);
        assert!(log.read(15).bytes.is_empty());
        assert!(
            log.read(99).bytes.is_empty(),
            "an offset past the end reads nothing"
        );
    }
}
