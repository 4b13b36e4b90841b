//! Inspektor Gadget's typed fields: a field `x_raw` declared with one of
//! its `gadget_*` typedefs yields a text field `x`, the raw value as a
//! person reads it (`error_raw` 2 is `error` "ENOENT"), and an array of
//! `gadget_histogram_slot__u32` (or `__u64`) log2 slots `x` yields
//! `x_histogram`, drawn as bcc's tools draw one. The typedefs are read
//! from the object's BTF (`bpf-object.field-typedefs`).

use wasm_bpf_guest::probe::{Derived, Format, Layout};

/// The text fields the typed `_raw` fields of `layout` yield; `typedefs`
/// holds each field's typedef, in the layout's order.
pub fn derived(layout: &Layout, typedefs: &[Option<String>]) -> Vec<Derived> {
    let schema = layout.schema();
    schema
        .fields
        .iter()
        .zip(typedefs)
        .enumerate()
        .filter_map(|(from, (field, typedef))| {
            let typedef = typedef.as_deref()?;
            let (name, width, format) = if typedef.starts_with("gadget_histogram_slot__") {
                (
                    format!("{}{HISTOGRAM}", field.name),
                    60,
                    Format::Log2Histogram,
                )
            } else {
                let (format, width) = formatter(typedef)?;
                let name = field.name.strip_suffix("_raw")?;
                (name.to_string(), width, Format::Value(format))
            };
            if schema.fields.iter().any(|f| f.name == name) {
                return None;
            }
            Some(Derived {
                name,
                from,
                width,
                format,
            })
        })
        .collect()
}

/// What a histogram field's drawing is called after it: `latency` is
/// drawn as `latency_histogram`.
const HISTOGRAM: &str = "_histogram";

/// Text from a raw value.
type ValueFormat = fn(u64) -> String;

/// The formatter of typedef `name`, and the width of what it writes.
fn formatter(name: &str) -> Option<(ValueFormat, u32)> {
    Some(match name {
        "gadget_errno" => (errno, 12),
        "gadget_signal" => (signal, 9),
        "gadget_file_mode" => (file_mode, 10),
        _ => return None,
    })
}

/// Linux's errno names (the generic ones, shared by x86-64 and arm64).
const ERRNOS: &[&str] = &[
    "",
    "EPERM",
    "ENOENT",
    "ESRCH",
    "EINTR",
    "EIO",
    "ENXIO",
    "E2BIG",
    "ENOEXEC",
    "EBADF",
    "ECHILD",
    "EAGAIN",
    "ENOMEM",
    "EACCES",
    "EFAULT",
    "ENOTBLK",
    "EBUSY",
    "EEXIST",
    "EXDEV",
    "ENODEV",
    "ENOTDIR",
    "EISDIR",
    "EINVAL",
    "ENFILE",
    "EMFILE",
    "ENOTTY",
    "ETXTBSY",
    "EFBIG",
    "ENOSPC",
    "ESPIPE",
    "EROFS",
    "EMLINK",
    "EPIPE",
    "EDOM",
    "ERANGE",
    "EDEADLK",
    "ENAMETOOLONG",
    "ENOLCK",
    "ENOSYS",
    "ENOTEMPTY",
    "ELOOP",
];

/// Past [`ERRNOS`]: the network ones gadgets meet most.
const NET_ERRNOS: &[(u32, &str)] = &[
    (61, "ENODATA"),
    (75, "EOVERFLOW"),
    (95, "EOPNOTSUPP"),
    (97, "EAFNOSUPPORT"),
    (98, "EADDRINUSE"),
    (99, "EADDRNOTAVAIL"),
    (101, "ENETUNREACH"),
    (103, "ECONNABORTED"),
    (104, "ECONNRESET"),
    (105, "ENOBUFS"),
    (107, "ENOTCONN"),
    (110, "ETIMEDOUT"),
    (111, "ECONNREFUSED"),
    (113, "EHOSTUNREACH"),
    (114, "EALREADY"),
    (115, "EINPROGRESS"),
];

/// An errno (or its negation, as a system call returns it) by name; 0 is
/// no error, an empty text.
fn errno(raw: u64) -> String {
    let n = (raw as u32 as i32).unsigned_abs();
    ERRNOS
        .get(n as usize)
        .map(|s| s.to_string())
        .or_else(|| {
            NET_ERRNOS
                .iter()
                .find(|(v, _)| *v == n)
                .map(|(_, s)| s.to_string())
        })
        .unwrap_or_else(|| format!("errno {n}"))
}

/// Linux's signal names (x86-64 and arm64 share them).
const SIGNALS: &[&str] = &[
    "",
    "SIGHUP",
    "SIGINT",
    "SIGQUIT",
    "SIGILL",
    "SIGTRAP",
    "SIGABRT",
    "SIGBUS",
    "SIGFPE",
    "SIGKILL",
    "SIGUSR1",
    "SIGSEGV",
    "SIGUSR2",
    "SIGPIPE",
    "SIGALRM",
    "SIGTERM",
    "SIGSTKFLT",
    "SIGCHLD",
    "SIGCONT",
    "SIGSTOP",
    "SIGTSTP",
    "SIGTTIN",
    "SIGTTOU",
    "SIGURG",
    "SIGXCPU",
    "SIGXFSZ",
    "SIGVTALRM",
    "SIGPROF",
    "SIGWINCH",
    "SIGIO",
    "SIGPWR",
    "SIGSYS",
];

fn signal(raw: u64) -> String {
    match SIGNALS.get(raw as usize) {
        Some(name) => name.to_string(),
        None if (34..=64).contains(&raw) => format!("SIGRTMIN+{}", raw - 34),
        None => format!("signal {raw}"),
    }
}

/// A file mode as `ls -l` shows it: the type, then the permissions.
fn file_mode(raw: u64) -> String {
    let kind = match raw & 0o170000 {
        0o140000 => 's',
        0o120000 => 'l',
        0o100000 => '-',
        0o060000 => 'b',
        0o040000 => 'd',
        0o020000 => 'c',
        0o010000 => 'p',
        _ => '?',
    };
    let mut text = String::from(kind);
    for (i, (read, write, exec, special, shown)) in [
        ('r', 'w', 'x', 0o4000, 's'),
        ('r', 'w', 'x', 0o2000, 's'),
        ('r', 'w', 'x', 0o1000, 't'),
    ]
    .into_iter()
    .enumerate()
    {
        let bits = (raw >> (6 - 3 * i)) & 7;
        text.push(if bits & 4 != 0 { read } else { '-' });
        text.push(if bits & 2 != 0 { write } else { '-' });
        text.push(match (bits & 1 != 0, raw & special != 0) {
            (true, true) => shown,
            (false, true) => shown.to_ascii_uppercase(),
            (true, false) => exec,
            (false, false) => '-',
        });
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_values_read_as_people_read_them() {
        assert_eq!(errno(2), "ENOENT");
        assert_eq!(errno((-21i64) as u64), "EISDIR");
        assert_eq!(errno(111), "ECONNREFUSED");
        assert_eq!(errno(0), "");
        assert_eq!(errno(4000), "errno 4000");
        assert_eq!(signal(10), "SIGUSR1");
        assert_eq!(signal(35), "SIGRTMIN+1");
        assert_eq!(file_mode(0o100644), "-rw-r--r--");
        assert_eq!(file_mode(0o041777), "drwxrwxrwt");
        assert_eq!(file_mode(0o104755), "-rwsr-xr-x");
    }
}
