//! A kernel BTF file for CO-RE relocations, given by the guest
//! (`open-options.kernel-btf`) or the run (`--kernel-btf`), for kernels
//! built without `/sys/kernel/btf/vmlinux`.
//!
//! The host reads and checks the file, then hands libbpf a private memory
//! file holding the checked bytes (as `/proc/self/fd/N`), so that libbpf
//! reads exactly what was checked, whatever happens to the file meanwhile.

use std::fs::File;
use std::io::Write as _;
use std::os::fd::{AsRawFd as _, OwnedFd};

use rustix::fs::{memfd_create, FileType, MemfdFlags, Mode, OFlags};

use crate::bindings::types::ErrorCode;
use crate::{BpfError, BpfResult};

/// The largest kernel BTF file the run's `--kernel-btf` may name: a
/// vmlinux's is 5–10 MiB. A guest's own is capped lower, at what one host
/// call may build for it.
pub(crate) const MAX_BYTES: u64 = 64 << 20;

/// The bytes of the kernel BTF file at host path `path` (`what` names
/// it), at most `max`: a regular file only, opened without blocking (a
/// FIFO would hold the host forever).
pub(crate) fn read(what: &str, path: &std::path::Path, max: u64) -> BpfResult<Vec<u8>> {
    let opened = rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| BpfError::os(&format!("opening {what}"), e.raw_os_error()))?;
    let stat = rustix::fs::fstat(&opened)
        .map_err(|e| BpfError::os(&format!("inspecting {what}"), e.raw_os_error()))?;
    if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
        return Err(BpfError::with_errno(
            ErrorCode::InvalidArgument,
            libc::EINVAL,
            format!("{what} is not a regular file"),
        ));
    }
    read_file(what, File::from(opened), max)
}

/// The bytes of `file` (`what`), at most `max`.
pub(crate) fn read_file(what: &str, file: File, max: u64) -> BpfResult<Vec<u8>> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| {
            BpfError::os(
                &format!("reading {what}"),
                e.raw_os_error().unwrap_or(libc::EIO),
            )
        })?;
    if bytes.len() as u64 > max {
        return Err(BpfError::with_errno(
            ErrorCode::TooBig,
            libc::EFBIG,
            format!("{what} is larger than {max} bytes"),
        ));
    }
    Ok(bytes)
}

/// Checked kernel BTF in a memory file.
pub(crate) struct KernelBtfFile(OwnedFd);

/// The raw BTF of `bytes` (the file `what`), checked as libbpf will read it.
pub(crate) fn check(what: &str, bytes: &[u8]) -> BpfResult<Vec<u8>> {
    wasm_bpf_btf::check_kernel_btf(bytes).map_err(|e| {
        BpfError::with_errno(
            ErrorCode::InvalidArgument,
            libc::EINVAL,
            format!("{what}: {e:#}"),
        )
    })
}

impl KernelBtfFile {
    /// A memory file holding `raw`, BTF that [`check`] passed.
    pub(crate) fn new(raw: &[u8]) -> BpfResult<Self> {
        let fd = memfd_create("wasm-bpf-kernel-btf", MemfdFlags::CLOEXEC)
            .map_err(|e| BpfError::os("creating a file for the kernel BTF", e.raw_os_error()))?;
        let mut file = File::from(fd);
        file.write_all(raw).map_err(|e| {
            BpfError::os(
                "writing the kernel BTF",
                e.raw_os_error().unwrap_or(libc::EIO),
            )
        })?;
        Ok(Self(file.into()))
    }

    /// The path libbpf opens it by.
    pub(crate) fn path(&self) -> String {
        format!("/proc/self/fd/{}", self.0.as_raw_fd())
    }

    pub(crate) fn into_fd(self) -> OwnedFd {
        self.0
    }
}
