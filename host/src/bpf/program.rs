//! The `program` resource: one program of an object, by name.

use std::ffi::OsStr;

use libbpf_rs::{AsRawLibbpf as _, Program, ProgramMut, ProgramType};
use wasmtime::component::Resource;

use super::link::BpfLink;
use super::object::{lock, not_found, with_loaded, with_opened, ObjectState, SharedObject};
use super::types::prog_type;
use super::{log, BpfCtxView};
use crate::bindings::libbpf_log::Level;
use crate::bindings::program::{Host, HostProgram, ProgramInfo};
use crate::bindings::types::ErrorCode;
use crate::{BpfError, BpfResult};

/// The host side of a guest's `program`: the object it belongs to and its
/// name, so it stays valid across `load`.
pub struct BpfProgram {
    object: SharedObject,
    name: String,
    /// The last info read, which is all that remains if `load` fails.
    info: ProgramInfo,
}

fn info(
    name: &OsStr,
    section: &OsStr,
    ty: ProgramType,
    autoload: bool,
    insns: usize,
) -> ProgramInfo {
    ProgramInfo {
        name: name.to_string_lossy().into_owned(),
        section: section.to_string_lossy().into_owned(),
        prog_type: prog_type(ty as u32),
        autoload,
        insn_count: u32::try_from(insns).unwrap_or(u32::MAX),
    }
}

fn unknown(name: &str, state: &ObjectState) -> BpfError {
    let known: Vec<String> = BpfProgram::all(state).into_iter().map(|p| p.name).collect();
    not_found("program", name, &known)
}

impl BpfProgram {
    /// The program called `name` of `object`.
    pub(crate) fn find(object: &SharedObject, name: String) -> BpfResult<Self> {
        let state = lock(object);
        let info = Self::info_of(&state, &name)?;
        drop(state);
        Ok(Self {
            object: object.clone(),
            name,
            info,
        })
    }

    /// Every program of an object.
    pub(crate) fn all(state: &ObjectState) -> Vec<ProgramInfo> {
        match state {
            ObjectState::Opened(open) => open
                .progs()
                .map(|p| {
                    info(
                        p.name(),
                        p.section(),
                        p.prog_type(),
                        p.autoload(),
                        p.insn_cnt(),
                    )
                })
                .collect(),
            ObjectState::Loaded(obj) => obj
                .progs()
                .map(|p| {
                    info(
                        p.name(),
                        p.section(),
                        p.prog_type(),
                        p.autoload(),
                        p.insn_cnt(),
                    )
                })
                .collect(),
            ObjectState::Failed => Vec::new(),
        }
    }

    fn info_of(state: &ObjectState, name: &str) -> BpfResult<ProgramInfo> {
        Self::all(state)
            .into_iter()
            .find(|p| p.name == name)
            .ok_or_else(|| unknown(name, state))
    }
}

/// Whether libbpf would attach `prog` on its own (a skeleton's `__attach`).
pub(crate) fn autoattach(prog: &Program<'_>) -> bool {
    // SAFETY: the pointer comes from a live program of a loaded object.
    unsafe { libbpf_rs::libbpf_sys::bpf_program__autoattach(prog.as_libbpf_object().as_ptr()) }
}

/// Whether libbpf can find tracepoints: it reads their ids from tracefs.
fn tracefs_mounted() -> bool {
    [
        "/sys/kernel/tracing/events",
        "/sys/kernel/debug/tracing/events",
    ]
    .iter()
    .any(|p| std::path::Path::new(p).exists())
}

/// Attaches `prog` to the hook its section names.
pub(crate) fn attach(level: Option<Level>, prog: &ProgramMut<'_>) -> BpfResult<BpfLink> {
    let name = prog.name().to_string_lossy().into_owned();
    if !prog.autoload() {
        return Err(BpfError::new(
            ErrorCode::InvalidArgument,
            format!(
                "program `{name}` was not loaded (its autoload is off), so it cannot be attached"
            ),
        ));
    }
    let (attached, log) = log::capture(level, || prog.attach());
    let link = attached.map_err(|e| {
        let section = prog.section().to_string_lossy();
        let what = format!("attaching program `{name}` (section `{section}`)");
        let tracepoint = section.starts_with("tp/") || section.starts_with("tracepoint/");
        let mut log = log;
        if tracepoint && !tracefs_mounted() {
            log.push_str(
                "hint: tracefs is not mounted, so tracepoints cannot be found; \
                 mount it with `mount -t tracefs tracefs /sys/kernel/tracing`\n",
            );
        }
        let err = BpfError::libbpf(&what, &e, &log);
        match err.guest().map(|g| g.errno) {
            Some(libc::ENOENT) => err.recode(ErrorCode::TargetNotFound),
            _ => err,
        }
    })?;
    tracing::debug!(program = %name, "attached");
    Ok(BpfLink::new(link, name))
}

impl HostProgram for BpfCtxView<'_> {
    fn info(&mut self, this: Resource<BpfProgram>) -> wasmtime::Result<ProgramInfo> {
        let program = self.table.get_mut(&this)?;
        if let Ok(info) = BpfProgram::info_of(&lock(&program.object), &program.name) {
            program.info = info;
        }
        Ok(program.info.clone())
    }

    fn set_autoload(&mut self, this: Resource<BpfProgram>, autoload: bool) -> BpfResult<()> {
        let program = self.table.get(&this)?;
        with_opened(&program.object, "set-autoload", |open| {
            open.progs_mut()
                .find(|p| p.name() == OsStr::new(&program.name))
                .ok_or_else(|| not_found("program", &program.name, &[]))?
                .set_autoload(autoload);
            Ok(())
        })
    }

    fn attach(&mut self, this: Resource<BpfProgram>) -> BpfResult<Resource<BpfLink>> {
        let level = self.ctx.log_level;
        let program = self.table.get(&this)?;
        let link = with_loaded(&program.object, "attach", |obj| {
            let prog = obj
                .progs_mut()
                .find(|p| p.name() == OsStr::new(&program.name))
                .ok_or_else(|| not_found("program", &program.name, &[]))?;
            attach(level, &prog)
        })?;
        Ok(self.table.push(link)?)
    }

    fn drop(&mut self, this: Resource<BpfProgram>) -> wasmtime::Result<()> {
        self.table.delete(this)?;
        Ok(())
    }
}

impl Host for BpfCtxView<'_> {}
