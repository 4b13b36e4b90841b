//! The BPF interfaces of `wit/`, implemented over libbpf-rs.
//!
//! One module per WIT resource; each holds the host type the resource is
//! backed by and the generated `Host*` trait implemented over it.

mod attach;
pub mod batch;
pub mod buffer;
pub mod calls;
mod features;
mod globals;
pub mod grants;
pub mod helpers;
mod kernel_btf;
pub mod lifecycle;
pub mod limits;
pub mod link;
mod local_time;
pub(crate) mod log;
pub mod map;
pub mod metrics;
pub mod object;
pub mod policy;
pub mod program;
pub mod raw;
mod record_layout;
mod refusals;
mod ring;
mod types;

use std::sync::Arc;

use wasmtime::component::{HasData, Linker, Resource, ResourceTable};

use crate::interrupt::Stop;
use crate::observe::{GuestMetrics, Observer, Unobserved};
use crate::BpfResult;
use grants::Grants;
use limits::{Held, KernelMemory, Limits};
use policy::Policy;
use wasm_bpf_btf::RawBtf;

/// Per-guest BPF state that is not a resource.
pub struct BpfCtx {
    /// Which libbpf messages reach the guest's stderr or its keep.
    pub(crate) log: log::Settings,
    /// The run's stop: asked for, the guest's waits end; forced, the
    /// guest traps where it waits.
    pub(crate) stop: Arc<Stop>,
    /// The directories whose files attach targets may name.
    pub(crate) grants: Grants,
    /// What the guest holds, against the per-guest caps.
    pub(crate) limits: Limits,
    /// What the guest may load and attach beyond tracing.
    pub(crate) policy: Policy,
    /// The kernel memory the guest's maps and buffers take, against
    /// `policy.max_kernel_memory`.
    pub(crate) kernel_memory: KernelMemory,
    /// The kernel's BTF, to name the kfuncs programs call; loaded on the
    /// first one.
    pub(crate) kernel_btf: Option<RawBtf>,
    /// Most bytes one host call builds for the guest.
    pub(crate) result_bytes: usize,
    /// The run's kernel BTF (`--kernel-btf`), checked, for objects that
    /// name none of their own: one memory file all of them use.
    pub(crate) kernel_btf_file: Option<kernel_btf::KernelBtfFile>,
    /// Who watches the run (`--metrics`), told what it follows.
    pub(crate) observer: Arc<dyn Observer>,
    /// The metrics the guest declares.
    pub(crate) guest_metrics: Arc<GuestMetrics>,
    /// The paths the guest was refused that the user was told of.
    pub(crate) refused: refusals::Noted,
}

impl BpfCtx {
    /// State for one guest, which `stop` ends while it waits in a
    /// buffer's `poll`, whose attach targets may name files under the
    /// directories of `grants`, and which may do what `policy` grants.
    pub fn new(stop: Arc<Stop>, grants: Grants, policy: Policy) -> Self {
        Self {
            log: log::Settings::default(),
            stop,
            grants,
            limits: Limits::default(),
            kernel_memory: KernelMemory::new(policy.max_kernel_memory),
            policy,
            kernel_btf: None,
            result_bytes: limits::DEFAULT_RESULT_BYTES,
            kernel_btf_file: None,
            observer: Arc::new(Unobserved),
            guest_metrics: Arc::default(),
            refused: refusals::Noted::default(),
        }
    }

    /// Reports to `observer` (by default, to no one).
    pub fn observer(mut self, observer: Arc<dyn Observer>) -> Self {
        self.observer = observer;
        self
    }

    /// Keeps the metrics the guest declares in `metrics` (by default, in
    /// a store no one reads).
    pub fn guest_metrics(mut self, metrics: Arc<GuestMetrics>) -> Self {
        self.guest_metrics = metrics;
        self
    }

    /// Relocates objects against the kernel BTF in the file `path` (raw
    /// BTF or an ELF file with `.BTF`) instead of the running kernel's,
    /// unless an object names its own.
    pub fn kernel_btf(mut self, path: &std::path::Path) -> wasmtime::Result<Self> {
        let what = format!("--kernel-btf {}", path.display());
        let bytes = kernel_btf::read(&what, path, kernel_btf::MAX_BYTES)
            .map_err(|e| e.hint("a kernel's BTF is 5-10 MiB"))?;
        let raw = kernel_btf::check(&what, &bytes)?;
        self.kernel_btf_file = Some(kernel_btf::KernelBtfFile::new(&raw)?);
        Ok(self)
    }

    /// Prints the libbpf messages the guest asks for to `output`, the
    /// guest's stderr, rather than the process's.
    pub fn output(mut self, output: Arc<dyn crate::output::Output>) -> Self {
        self.log.output = Some(output);
        self
    }

    /// Caps what one host call builds for the guest to what a guest of
    /// `max_memory` bytes can take ([`limits::result_bytes`]).
    pub fn max_memory(mut self, max_memory: usize) -> Self {
        self.result_bytes = limits::result_bytes(max_memory);
        self
    }
}

/// Store data that hosts the BPF interfaces, like wasmtime-wasi's
/// `WasiView`: it lends out the BPF state and the resource table, which
/// may be shared with WASI.
pub trait BpfView: Send {
    /// The BPF state and resource table of this store.
    fn bpf(&mut self) -> BpfCtxView<'_>;
}

/// What a BPF host call works on: the guest's BPF state and its resources.
pub struct BpfCtxView<'a> {
    /// BPF state of the guest.
    pub ctx: &'a mut BpfCtx,
    /// The guest's resources (shared with WASI).
    pub table: &'a mut ResourceTable,
}

impl BpfCtxView<'_> {
    /// Runs a libbpf call on the guest's behalf, returning what libbpf said.
    pub(crate) fn libbpf<R>(&self, f: impl FnOnce() -> R) -> (R, String) {
        log::capture(&self.ctx.log, f)
    }

    /// Hands `value` to the guest as one more `kind`, if the guest's cap
    /// allows it. With [`Self::delete_counted`], the only way resources
    /// enter and leave the table, so the counts cannot drift. Callers that
    /// make something costly (an object, an attachment) check the cap
    /// first with `limits.check`.
    pub(crate) fn push_counted<T: Send + 'static>(
        &mut self,
        kind: Held,
        value: T,
    ) -> BpfResult<Resource<T>> {
        self.ctx.limits.check(kind, 1)?;
        let resource = self.table.push(value)?;
        self.ctx.limits.add(kind);
        self.counted(kind);
        Ok(resource)
    }

    /// Takes `this`, a `kind`, back from the guest.
    pub(crate) fn delete_counted<T: 'static>(
        &mut self,
        kind: Held,
        this: Resource<T>,
    ) -> wasmtime::Result<()> {
        self.table.delete(this)?;
        self.ctx.limits.remove(kind);
        self.counted(kind);
        Ok(())
    }

    /// Tells the observer what changed that it follows.
    fn counted(&self, kind: Held) {
        if let Held::Link = kind {
            self.ctx.observer.links_held(self.ctx.limits.held(kind));
        }
    }
}

struct HasBpf;

impl HasData for HasBpf {
    type Data<'a> = BpfCtxView<'a>;
}

/// Adds every BPF interface to `linker`. The world's `wasi:io/poll`
/// import (the type of a buffer's pollable) is WASI's own and comes with
/// WASI.
pub fn add_to_linker<T: BpfView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    use crate::bindings as b;
    b::types::add_to_linker::<T, HasBpf>(linker, T::bpf)?;
    b::bpf_map::add_to_linker::<T, HasBpf>(linker, T::bpf)?;
    b::program::add_to_linker::<T, HasBpf>(linker, T::bpf)?;
    b::link::add_to_linker::<T, HasBpf>(linker, T::bpf)?;
    b::buffer::add_to_linker::<T, HasBpf>(linker, T::bpf)?;
    b::object::add_to_linker::<T, HasBpf>(linker, T::bpf)?;
    b::libbpf_log::add_to_linker::<T, HasBpf>(linker, T::bpf)?;
    b::features::add_to_linker::<T, HasBpf>(linker, T::bpf)?;
    b::raw::add_to_linker::<T, HasBpf>(linker, T::bpf)?;
    b::local_time::add_to_linker::<T, HasBpf>(linker, T::bpf)?;
    b::grants::add_to_linker::<T, HasBpf>(linker, T::bpf)?;
    b::lifecycle::add_to_linker::<T, HasBpf>(linker, T::bpf)?;
    b::metrics::add_to_linker::<T, HasBpf>(linker, T::bpf)
}

/// A libbpf call's `0` or `-errno` as a libbpf-rs result.
pub(crate) fn libbpf_result(ret: i32) -> Result<(), libbpf_rs::Error> {
    if ret < 0 {
        Err(libbpf_rs::Error::from_raw_os_error(-ret))
    } else {
        Ok(())
    }
}
