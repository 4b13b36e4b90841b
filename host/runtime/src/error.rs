//! Errors of BPF host calls.
//!
//! A host call fails in one of two ways, as in wasmtime's WASI host: a
//! guest-visible [`Error`] (a typed `error-code`, the errno and libbpf's
//! message) or a trap that ends the guest (a forged or stale resource
//! handle). [`BpfError`] holds either; the generated bindings turn it into
//! the WIT result or the trap.

use std::fmt;

use wasmtime::component::ResourceTableError;

use crate::bindings::types::{Error, ErrorCode};

/// The error type of every fallible BPF host function.
pub enum BpfError {
    /// Returned to the guest as `result::err`.
    Guest(Error),
    /// Ends the guest with a trap.
    Trap(wasmtime::Error),
}

/// Result of a fallible BPF host function.
pub type BpfResult<T> = Result<T, BpfError>;

impl BpfError {
    /// A guest-visible error that did not come from a system call.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::with_errno(code, 0, message)
    }

    /// A guest-visible error with the errno behind it.
    pub fn with_errno(code: ErrorCode, errno: i32, message: impl Into<String>) -> Self {
        Self::Guest(Error {
            code,
            errno,
            message: message.into(),
        })
    }

    /// The guest-visible error, if this is one.
    pub fn guest(&self) -> Option<&Error> {
        match self {
            Self::Guest(e) => Some(e),
            Self::Trap(_) => None,
        }
    }

    /// Turns a libbpf-rs failure into a guest-visible error. `what` says
    /// what was being done; `log` is what libbpf printed meanwhile, which
    /// often says more than the errno.
    pub fn libbpf(what: &str, err: &libbpf_rs::Error, log: &str) -> Self {
        let errno = errno_of(err);
        let code = if errno != 0 {
            code_of_errno(errno)
        } else {
            code_of_kind(err.kind())
        };
        let mut message = format!("{what}: {err:#}");
        if errno >= LIBBPF_ERRNO_START {
            message.push_str(&format!(" ({})", libbpf_strerror(errno)));
        }
        let log = log.trim_end();
        if !log.is_empty() {
            message.push('\n');
            message.push_str(log);
        }
        Self::with_errno(code, errno, message)
    }

    /// A guest-visible error for a failed system call that returned
    /// `-errno`.
    pub(crate) fn os(what: &str, errno: i32) -> Self {
        Self::libbpf(what, &libbpf_rs::Error::from_raw_os_error(errno), "")
    }

    /// Adds a line to the message saying what to do about the error.
    pub(crate) fn hint(self, hint: &str) -> Self {
        match self {
            Self::Guest(mut e) => {
                e.message.push_str("\nhint: ");
                e.message.push_str(hint);
                Self::Guest(e)
            }
            trap => trap,
        }
    }

    /// Replaces the error code, keeping errno and message; used where the
    /// operation gives an errno a more precise meaning (ENOENT from an
    /// attach means a missing hook, not a missing key).
    pub fn recode(self, code: ErrorCode) -> Self {
        match self {
            Self::Guest(e) => Self::Guest(Error { code, ..e }),
            trap => trap,
        }
    }
}

impl From<ResourceTableError> for BpfError {
    fn from(err: ResourceTableError) -> Self {
        Self::Trap(err.into())
    }
}

impl From<wasmtime::Error> for BpfError {
    fn from(err: wasmtime::Error) -> Self {
        Self::Trap(err)
    }
}

impl fmt::Debug for BpfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Guest(e) => write!(f, "{:?} (errno {}): {}", e.code, e.errno, e.message),
            Self::Trap(e) => write!(f, "trap: {e:?}"),
        }
    }
}

impl fmt::Display for BpfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl std::error::Error for BpfError {}

/// The errno inside a libbpf-rs error. libbpf-rs keeps the `io::Error` it
/// was built from private and exposes only a coarse `kind()`, but its
/// display ends in std's stable "(os error N)" form, so that is read back.
fn errno_of(err: &libbpf_rs::Error) -> i32 {
    let text = format!("{err:#}");
    text.rsplit_once("(os error ")
        .and_then(|(_, rest)| rest.split_once(')'))
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or(0)
}

/// Linux's ENOTSUPP (524): kernel-internal, but the BPF syscall returns it.
const ENOTSUPP: i32 = 524;

/// libbpf's own error numbers (`enum libbpf_errno` in libbpf.h, which
/// libbpf-sys does not bind).
const LIBBPF_ERRNO_START: i32 = 4000;
const LIBBPF_ERRNO_FORMAT: i32 = 4001;
const LIBBPF_ERRNO_ENDIAN: i32 = 4003;
const LIBBPF_ERRNO_RELOC: i32 = 4005;
const LIBBPF_ERRNO_VERIFY: i32 = 4007;
const LIBBPF_ERRNO_PROG2BIG: i32 = 4008;
const LIBBPF_ERRNO_PROGTYPE: i32 = 4010;

/// libbpf's text for one of its own error numbers, which std does not know.
fn libbpf_strerror(errno: i32) -> String {
    let mut buf = [0u8; 128];
    // SAFETY: libbpf writes at most `buf.len()` bytes, NUL included.
    let ret =
        unsafe { libbpf_sys::libbpf_strerror(errno, buf.as_mut_ptr().cast(), buf.len() as _) };
    if ret != 0 {
        return format!("libbpf error {errno}");
    }
    std::ffi::CStr::from_bytes_until_nul(&buf)
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn code_of_errno(errno: i32) -> ErrorCode {
    match errno {
        LIBBPF_ERRNO_FORMAT | LIBBPF_ERRNO_ENDIAN | LIBBPF_ERRNO_RELOC => ErrorCode::InvalidObject,
        LIBBPF_ERRNO_VERIFY => ErrorCode::VerifierRejected,
        LIBBPF_ERRNO_PROG2BIG => ErrorCode::TooBig,
        LIBBPF_ERRNO_PROGTYPE => ErrorCode::Unsupported,
        libc::ENOENT | libc::ESRCH => ErrorCode::NotFound,
        libc::EPERM | libc::EACCES => ErrorCode::PermissionDenied,
        libc::EEXIST => ErrorCode::AlreadyExists,
        libc::E2BIG | libc::ENOSPC => ErrorCode::TooBig,
        libc::EINVAL | libc::EBADF | libc::ERANGE => ErrorCode::InvalidArgument,
        libc::EOPNOTSUPP | libc::ENOSYS | ENOTSUPP => ErrorCode::Unsupported,
        libc::EAGAIN | libc::EBUSY => ErrorCode::Busy,
        _ => ErrorCode::Other,
    }
}

/// The errno a libbpf-style caller gets for a guest error: the one behind
/// it, or the usual one for its kind (the C SDK's `errno_of` says the
/// same; a test below checks).
pub(crate) fn errno_of_error(e: &Error) -> i32 {
    if e.errno > 0 {
        return e.errno;
    }
    match e.code {
        ErrorCode::NotFound | ErrorCode::TargetNotFound => libc::ENOENT,
        ErrorCode::PermissionDenied => libc::EPERM,
        ErrorCode::AlreadyExists => libc::EEXIST,
        ErrorCode::TooBig => libc::E2BIG,
        ErrorCode::Unsupported => libc::EOPNOTSUPP,
        ErrorCode::Busy => libc::EBUSY,
        ErrorCode::LimitExceeded => libc::EMFILE,
        ErrorCode::VerifierRejected => libc::EACCES,
        ErrorCode::InvalidArgument | ErrorCode::WrongPhase | ErrorCode::InvalidObject => {
            libc::EINVAL
        }
        ErrorCode::Stopping => libc::EINTR,
        ErrorCode::Other => libc::EIO,
    }
}

fn code_of_kind(kind: libbpf_rs::ErrorKind) -> ErrorCode {
    use libbpf_rs::ErrorKind as K;
    match kind {
        K::NotFound => ErrorCode::NotFound,
        K::PermissionDenied => ErrorCode::PermissionDenied,
        K::AlreadyExists => ErrorCode::AlreadyExists,
        K::InvalidInput | K::InvalidData => ErrorCode::InvalidArgument,
        K::TooBig => ErrorCode::TooBig,
        K::Unsupported => ErrorCode::Unsupported,
        K::WouldBlock => ErrorCode::Busy,
        _ => ErrorCode::Other,
    }
}

/// Each error code's WIT name; a new code fails to compile here.
pub(crate) fn wit_name(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::NotFound => "not-found",
        ErrorCode::InvalidArgument => "invalid-argument",
        ErrorCode::WrongPhase => "wrong-phase",
        ErrorCode::InvalidObject => "invalid-object",
        ErrorCode::VerifierRejected => "verifier-rejected",
        ErrorCode::PermissionDenied => "permission-denied",
        ErrorCode::AlreadyExists => "already-exists",
        ErrorCode::TooBig => "too-big",
        ErrorCode::TargetNotFound => "target-not-found",
        ErrorCode::Unsupported => "unsupported",
        ErrorCode::Busy => "busy",
        ErrorCode::LimitExceeded => "limit-exceeded",
        ErrorCode::Stopping => "stopping",
        ErrorCode::Other => "other",
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn errno_is_read_from_the_error_chain() {
        let err = libbpf_rs::Error::from_raw_os_error(libc::E2BIG);
        assert_eq!(errno_of(&err), libc::E2BIG);
        let e = BpfError::libbpf("update", &err, "libbpf: map is full\n");
        let e = e.guest().expect("guest error");
        assert_eq!(e.code, ErrorCode::TooBig);
        assert_eq!(e.errno, libc::E2BIG);
        assert!(e.message.ends_with("libbpf: map is full"), "{}", e.message);
    }

    /// The host (for legacy modules) and the C SDK (for libbpf-style C
    /// guests) both give an error without an errno the usual errno of its
    /// code; the C SDK's switch must say what the host's table says, for
    /// every code the WIT declares.
    #[test]
    fn the_c_sdk_gives_each_error_code_the_hosts_errno() {
        let wit = include_str!("../../../wit/types.wit");
        let block = wit
            .split("enum error-code {")
            .nth(1)
            .and_then(|rest| rest.split('}').next())
            .expect("wit/types.wit declares enum error-code");
        let declared: Vec<&str> = block
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("//"))
            .map(|l| l.trim_end_matches(','))
            .collect();
        let codes = [
            ErrorCode::NotFound,
            ErrorCode::InvalidArgument,
            ErrorCode::WrongPhase,
            ErrorCode::InvalidObject,
            ErrorCode::VerifierRejected,
            ErrorCode::PermissionDenied,
            ErrorCode::AlreadyExists,
            ErrorCode::TooBig,
            ErrorCode::TargetNotFound,
            ErrorCode::Unsupported,
            ErrorCode::Busy,
            ErrorCode::LimitExceeded,
            ErrorCode::Stopping,
            ErrorCode::Other,
        ];
        assert_eq!(declared, codes.map(wit_name), "the codes of wit/types.wit");

        // The C switch: `case WASM_BPF_BPF_TYPES_ERROR_CODE_X:` lines, then
        // the `return EY;` they share; `default:` for the rest.
        let c = include_str!("../../../guest-sdk-c/src/error.c");
        let switch = c
            .split("switch (e->code) {")
            .nth(1)
            .expect("guest-sdk-c/src/error.c: errno_of's switch");
        let (mut by_code, mut pending) = (BTreeMap::new(), Vec::new());
        for line in switch.lines().map(str::trim).take_while(|l| *l != "}") {
            if let Some(name) = line
                .strip_prefix("case WASM_BPF_BPF_TYPES_ERROR_CODE_")
                .and_then(|n| n.strip_suffix(':'))
            {
                pending.push(name.to_lowercase().replace('_', "-"));
            } else if line == "default:" {
                pending.push("default".into());
            } else if let Some(errno) = line
                .strip_prefix("return ")
                .and_then(|e| e.strip_suffix(';'))
            {
                for name in pending.drain(..) {
                    by_code.insert(name, errno.to_string());
                }
            }
        }
        let errno_name = |errno: i32| match errno {
            libc::ENOENT => "ENOENT",
            libc::EPERM => "EPERM",
            libc::EEXIST => "EEXIST",
            libc::E2BIG => "E2BIG",
            libc::EOPNOTSUPP => "EOPNOTSUPP",
            libc::EBUSY => "EBUSY",
            libc::EMFILE => "EMFILE",
            libc::EACCES => "EACCES",
            libc::EINVAL => "EINVAL",
            libc::EIO => "EIO",
            libc::EINTR => "EINTR",
            other => panic!("errno {other} has no name here"),
        };
        for code in codes {
            let host = errno_of_error(&Error {
                code,
                errno: 0,
                message: String::new(),
            });
            let c = by_code
                .get(wit_name(code))
                .or_else(|| by_code.get("default"))
                .unwrap_or_else(|| panic!("the C switch has no case for {}", wit_name(code)));
            assert_eq!(c, errno_name(host), "errno of {}", wit_name(code));
        }
    }

    #[test]
    fn errors_without_errno_fall_back_to_their_kind() {
        let err = libbpf_rs::Error::from(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "key_size 3 != 4",
        ));
        let e = BpfError::libbpf("lookup", &err, "");
        let e = e.guest().expect("guest error");
        assert_eq!((e.code, e.errno), (ErrorCode::InvalidArgument, 0));
        assert_eq!(e.message, "lookup: key_size 3 != 4");
    }
}
