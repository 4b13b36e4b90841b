//! The SDK's error: the host's typed error, or a decoding mistake made in
//! the guest.

use std::fmt;

pub use crate::bindings::types::ErrorCode;

/// What went wrong in a BPF call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// The kind of failure.
    pub code: ErrorCode,
    /// The Linux errno behind it, or 0.
    pub errno: i32,
    /// What happened, with libbpf's or the verifier's own words.
    pub message: String,
}

/// Result of a BPF call.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Whether this is the `stopping` error: the host asked the guest to
    /// stop (see [`crate::stopping`]), so it should print its final
    /// output and return.
    pub fn is_stopping(&self) -> bool {
        self.code == ErrorCode::Stopping
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self {
            code: ErrorCode::InvalidArgument,
            errno: 0,
            message: message.into(),
        }
    }
}

impl From<crate::bindings::types::Error> for Error {
    fn from(e: crate::bindings::types::Error) -> Self {
        Self {
            code: e.code,
            errno: e.errno,
            message: e.message,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if self.errno != 0 {
            write!(f, " (errno {})", self.errno)?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}
