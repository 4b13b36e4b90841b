//! The `link` resource: one program attached to one hook.

use std::fs::File;
use std::io::Read as _;
use std::os::fd::{AsFd, AsRawFd as _, BorrowedFd, FromRawFd as _, OwnedFd};

use libbpf_rs::Link;
use wasmtime::component::Resource;

use super::limits::Held;
use super::BpfCtxView;
use crate::bindings::link::{Host, HostLink};
use crate::bindings::types::ErrorCode;
use crate::{BpfError, BpfResult};

/// Most an iterator's output may be, so a runaway iterator cannot exhaust
/// the host's memory; less when the guest's memory is capped lower
/// ([`limits::result_bytes`](super::limits::result_bytes)).
const ITER_OUTPUT_MAX: usize = 16 << 20;

/// What keeps a program attached; dropping it detaches.
pub(crate) enum Attachment {
    /// A libbpf link (tracepoints, probes, perf events, cgroups, iterators).
    Libbpf(Link),
    /// A kernel link made with `BPF_LINK_CREATE` (XDP with a mode, tcx),
    /// or a socket the program filters: closing the fd detaches.
    Fd(OwnedFd),
}

impl AsFd for Attachment {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            Self::Libbpf(link) => link.as_fd(),
            Self::Fd(fd) => fd.as_fd(),
        }
    }
}

/// The host side of a guest's `link`: one attachment, or one per CPU for
/// perf events.
pub struct BpfLink {
    attachments: Vec<Attachment>,
    program: String,
    iterator: bool,
}

impl BpfLink {
    pub(crate) fn of(attachments: Vec<Attachment>, program: String) -> Self {
        Self {
            attachments,
            program,
            iterator: false,
        }
    }

    /// Marks the link as an iterator, which `read-iter` can run.
    pub(crate) fn iterator(mut self) -> Self {
        self.iterator = true;
        self
    }

    fn read_iter(&self, cap: usize) -> BpfResult<Vec<u8>> {
        let link = match (self.iterator, self.attachments.first()) {
            (true, Some(link)) => link,
            (true, _) => {
                return Err(BpfError::new(
                    ErrorCode::WrongPhase,
                    format!("the link of program `{}` is detached", self.program),
                ))
            }
            (false, _) => {
                return Err(BpfError::new(
                    ErrorCode::InvalidArgument,
                    format!(
                        "the link of program `{}` is not an iterator; attach it with \
                         `attach-to(iterator)`",
                        self.program
                    ),
                ))
            }
        };
        // SAFETY: the fd is the live link's own.
        let fd = unsafe { libbpf_sys::bpf_iter_create(link.as_fd().as_raw_fd()) };
        if fd < 0 {
            return Err(BpfError::os("creating the iterator", -fd));
        }
        // SAFETY: `bpf_iter_create` returned a new fd that nothing else owns.
        let mut file = File::from(unsafe { OwnedFd::from_raw_fd(fd) });
        // Reads in page-sized chunks or more: the kernel's seq_file drops
        // the object it is showing when a read is smaller than its output.
        let mut out = Vec::new();
        let mut chunk = vec![0u8; 64 << 10];
        loop {
            let n = file
                .read(&mut chunk)
                .map_err(|e| BpfError::os("reading the iterator", e.raw_os_error().unwrap_or(0)))?;
            if n == 0 {
                return Ok(out);
            }
            if out.len() + n > cap {
                return Err(BpfError::new(
                    ErrorCode::TooBig,
                    format!("the iterator wrote more than {cap} bytes"),
                ));
            }
            out.extend_from_slice(&chunk[..n]);
        }
    }
}

impl HostLink for BpfCtxView<'_> {
    fn detach(&mut self, this: Resource<BpfLink>) -> BpfResult<()> {
        let link = self.table.get_mut(&this)?;
        if link.attachments.is_empty() {
            return Err(BpfError::new(
                ErrorCode::WrongPhase,
                format!("the link of program `{}` is already detached", link.program),
            ));
        }
        link.attachments.clear();
        tracing::debug!(program = %link.program, "detached");
        Ok(())
    }

    fn is_attached(&mut self, this: Resource<BpfLink>) -> wasmtime::Result<bool> {
        Ok(!self.table.get(&this)?.attachments.is_empty())
    }

    fn program_name(&mut self, this: Resource<BpfLink>) -> wasmtime::Result<String> {
        Ok(self.table.get(&this)?.program.clone())
    }

    fn read_iter(&mut self, this: Resource<BpfLink>) -> BpfResult<Vec<u8>> {
        let cap = self.ctx.result_bytes.min(ITER_OUTPUT_MAX);
        self.table.get(&this)?.read_iter(cap)
    }

    fn drop(&mut self, this: Resource<BpfLink>) -> wasmtime::Result<()> {
        self.delete_counted(Held::Link, this)
    }
}

impl Host for BpfCtxView<'_> {}
