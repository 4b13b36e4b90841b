//! The `program` resource: one program of an object, by name.

use std::ffi::OsStr;
use std::os::fd::{AsFd as _, AsRawFd as _, OwnedFd};
use std::sync::Arc;

use libbpf_rs::{AsRawLibbpf, OpenProgramMut, Program, ProgramMut, ProgramType};
use wasmtime::component::Resource;

use super::attach::{self, Failure};
use super::limits::Held;
use super::link::{Attachment, BpfLink};
use super::object::{lock, not_found, with_loaded, with_opened, ObjectState, SharedObject};
use super::policy;
use super::types::{attach_type, prog_type, raw_attach_type, raw_prog_type};
use super::{libbpf_result, log, BpfCtxView};
use crate::bindings::program::{AttachTarget, Host, HostProgram, ProgramInfo};
use crate::bindings::types::{AttachType, ErrorCode, ProgType};
use crate::{BpfError, BpfResult};

/// The host side of a guest's `program`: the object it belongs to and its
/// name, so it stays valid across `load`.
pub struct BpfProgram {
    object: SharedObject,
    name: String,
    /// The last info read, which is all that remains if `load` fails.
    info: ProgramInfo,
}

/// What the kernel says about a loaded program: its id and translated
/// instruction count.
fn kernel_info(prog: &Program<'_>) -> Option<(u32, u32)> {
    if prog.as_fd().as_raw_fd() < 0 {
        return None;
    }
    // SAFETY: all zeroes is a valid bpf_prog_info for the kernel to fill.
    let mut info: libbpf_sys::bpf_prog_info = unsafe { std::mem::zeroed() };
    let mut len = size_of::<libbpf_sys::bpf_prog_info>() as u32;
    // SAFETY: `info` is `len` bytes, and no array pointers are set, so the
    // kernel writes only the struct itself.
    let ret = unsafe {
        libbpf_sys::bpf_prog_get_info_by_fd(prog.as_fd().as_raw_fd(), &mut info, &mut len)
    };
    (ret == 0).then_some((info.id, info.xlated_prog_len / 8))
}

/// The attach type of a program, for the program types whose hook the
/// kernel checks; 0 means "none" for the others.
fn attach_type_of(ty: ProgramType, raw: u32) -> Option<AttachType> {
    let checked = raw != 0
        || matches!(
            ty,
            ProgramType::CgroupSkb | ProgramType::CgroupSock | ProgramType::CgroupSockAddr
        );
    checked.then(|| attach_type(raw))
}

/// The hook kind libbpf loads `prog` for, in either phase (libbpf-rs
/// 0.27 reads it only after load).
pub(crate) fn expected_attach_type<P: AsRawLibbpf<LibbpfType = libbpf_sys::bpf_program>>(
    prog: &P,
) -> u32 {
    // SAFETY: the pointer comes from a live program.
    unsafe { libbpf_sys::bpf_program__expected_attach_type(prog.as_libbpf_object().as_ptr()) }
}

fn info(
    name: &OsStr,
    section: &OsStr,
    ty: ProgramType,
    attach: u32,
    autoload: bool,
    insns: usize,
    kernel: Option<(u32, u32)>,
) -> ProgramInfo {
    let (id, insn_count) = kernel.unwrap_or((0, u32::try_from(insns).unwrap_or(u32::MAX)));
    ProgramInfo {
        name: name.to_string_lossy().into_owned(),
        section: section.to_string_lossy().into_owned(),
        prog_type: prog_type(ty as u32),
        attach_type: attach_type_of(ty, attach),
        autoload,
        insn_count,
        id,
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
                        expected_attach_type(&p),
                        p.autoload(),
                        p.insn_cnt(),
                        None,
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
                        expected_attach_type(&p),
                        p.autoload(),
                        p.insn_cnt(),
                        kernel_info(&p),
                    )
                })
                .collect(),
            ObjectState::Failed => Vec::new(),
        }
    }

    /// Runs `f`, the `set-*` call `what`, on the program while its object
    /// is opened.
    fn configure(
        &self,
        what: &str,
        f: impl FnOnce(&mut OpenProgramMut<'_>) -> Result<(), libbpf_rs::Error>,
    ) -> BpfResult<()> {
        with_opened(&self.object, what, |open| {
            let mut prog = open
                .progs_mut()
                .find(|p| p.name() == OsStr::new(&self.name))
                .ok_or_else(|| not_found("program", &self.name, &[]))?;
            f(&mut prog).map_err(|e| {
                BpfError::libbpf(&format!("{what} of program `{}`", self.name), &e, "")
            })
        })
    }

    /// A duplicate of this loaded program's fd, for `borrower` (a program
    /// of another object) to name it as its attach target.
    fn lend_fd(&self, borrower: &BpfProgram) -> BpfResult<OwnedFd> {
        if Arc::ptr_eq(&self.object, &borrower.object) {
            return Err(BpfError::new(
                ErrorCode::InvalidArgument,
                format!(
                    "program `{}` cannot be the attach target of `{}`: they are of the same \
                     object, which is not loaded yet; load the target's object first",
                    self.name, borrower.name
                ),
            ));
        }
        with_loaded(&self.object, "set-attach-target (of its target)", |obj| {
            let prog = obj
                .progs()
                .find(|p| p.name() == OsStr::new(&self.name))
                .ok_or_else(|| not_found("program", &self.name, &[]))?;
            if prog.as_fd().as_raw_fd() < 0 {
                return Err(BpfError::new(
                    ErrorCode::InvalidArgument,
                    format!(
                        "program `{}` was not loaded (its autoload is off)",
                        self.name
                    ),
                ));
            }
            prog.as_fd().try_clone_to_owned().map_err(|e| {
                BpfError::os(
                    "duplicating the target's fd",
                    e.raw_os_error().unwrap_or(libc::EIO),
                )
            })
        })
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

/// Attaches `prog` to the hook its section names; a uprobe or USDT
/// section to `binary`, the file the policy checked and opened.
pub(crate) fn attach(
    settings: &log::Settings,
    prog: &ProgramMut<'_>,
    binary: Option<&super::grants::Opened>,
) -> BpfResult<BpfLink> {
    let name = prog.name().to_string_lossy().into_owned();
    let iterator = expected_attach_type(prog) == libbpf_sys::BPF_TRACE_ITER;
    let attached = attach_with(settings, prog, || {
        match binary.and_then(|binary| attach::section_probe(prog, binary)) {
            Some(attached) => attached,
            None => Ok(vec![Attachment::Libbpf(prog.attach()?)]),
        }
    });
    let link = attached.map_err(|e| match e.guest().map(|g| g.errno) {
        // libbpf's "operation not supported" means the section names no
        // hook (`perf_event`, `tc`, `socket`, a bare `uprobe`).
        Some(libc::EOPNOTSUPP) => e.recode(ErrorCode::Unsupported).hint(&format!(
            "section `{}` names no hook to attach to: attach program `{name}` with \
             attach-to and a target (a perf event, an interface, a binary, ...)",
            prog.section().to_string_lossy()
        )),
        _ => e,
    })?;
    let link = BpfLink::of(link, name);
    Ok(if iterator { link.iterator() } else { link })
}

/// Runs `attach_fn` for `prog` and explains its failure: libbpf's
/// messages, a missing hook as `target-not-found`, a kernel without the
/// hook kind as `unsupported`.
fn attach_with(
    settings: &log::Settings,
    prog: &ProgramMut<'_>,
    attach_fn: impl FnOnce() -> Result<Vec<Attachment>, Failure>,
) -> BpfResult<Vec<Attachment>> {
    let name = prog.name().to_string_lossy().into_owned();
    if !prog.autoload() {
        return Err(BpfError::new(
            ErrorCode::InvalidArgument,
            format!(
                "program `{name}` was not loaded (its autoload is off), so it cannot be attached"
            ),
        ));
    }
    if policy::runs(prog.prog_type()) == policy::Runs::Never {
        return Err(BpfError::with_errno(
            ErrorCode::Unsupported,
            libc::EOPNOTSUPP,
            format!(
                "program `{name}` is a {:?} program, which wasm-bpf attaches nowhere (it \
                 hooks what no grant names); it may load, not run",
                prog.prog_type()
            ),
        ));
    }
    let (attached, mut log) = log::capture(settings, attach_fn);
    let section = prog.section().to_string_lossy().into_owned();
    let what = format!("attaching program `{name}` (section `{section}`)");
    let (what, err) = match attached {
        Ok(links) => {
            tracing::debug!(program = %name, links = links.len(), "attached");
            return Ok(links);
        }
        Err(Failure::Guest(err)) => return Err(err),
        Err(Failure::Libbpf(e)) => (what, e),
        Err(Failure::Io(step, e)) => (
            format!("{what}: {step}"),
            libbpf_rs::Error::from_raw_os_error(e.raw_os_error().unwrap_or(0)),
        ),
    };
    // Say why a hook kind is missing altogether, not only that this hook is.
    let missing = if policy::is_kprobe_section(&section) && !attach::kprobes_available() {
        log.push_str("this kernel has no kprobes (built without CONFIG_KPROBES)\n");
        Some(ErrorCode::Unsupported)
    } else if (section.starts_with("tp/") || section.starts_with("tracepoint/"))
        && !tracefs_mounted()
    {
        log.push_str(
            "hint: tracefs is not mounted, so tracepoints cannot be found; \
             mount it with `mount -t tracefs tracefs /sys/kernel/tracing`\n",
        );
        Some(ErrorCode::TargetNotFound)
    } else {
        None
    };
    let err = BpfError::libbpf(&what, &err, &log);
    match (missing, err.guest().map(|g| g.errno)) {
        (Some(code), _) => Err(err.recode(code)),
        (None, Some(libc::ENOENT | libc::ENODEV)) => Err(err.recode(ErrorCode::TargetNotFound)),
        _ => Err(err),
    }
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
        self.table.get(&this)?.configure("set-autoload", |p| {
            p.set_autoload(autoload);
            Ok(())
        })
    }

    fn set_attach_target(
        &mut self,
        this: Resource<BpfProgram>,
        function: Option<String>,
        target: Option<Resource<BpfProgram>>,
    ) -> BpfResult<()> {
        let program = self.table.get(&this)?;
        let lent = match target {
            Some(target) => Some(self.table.get(&target)?.lend_fd(program)?),
            None if function.is_none() => {
                return Err(BpfError::new(
                    ErrorCode::InvalidArgument,
                    "set-attach-target needs a function, a target program, or both",
                ))
            }
            None => None,
        };
        let fd = lent.as_ref().map_or(0, |fd| fd.as_raw_fd());
        let named = function.clone().unwrap_or_default();
        program
            .configure("set-attach-target", |p| p.set_attach_target(fd, function))
            .map_err(|e| match e.guest().map(|g| g.errno) {
                Some(libc::ESRCH | libc::ENOENT) => {
                    let whose = if lent.is_some() {
                        "the target program's"
                    } else {
                        "the kernel's"
                    };
                    e.recode(ErrorCode::TargetNotFound).hint(&format!(
                        "{whose} BTF has no function or tracepoint `{named}` of this program's kind"
                    ))
                }
                _ => e,
            })?;
        if let Some(fd) = lent {
            program.object.lend(fd);
        }
        Ok(())
    }

    fn set_prog_type(&mut self, this: Resource<BpfProgram>, prog_type: ProgType) -> BpfResult<()> {
        let raw = raw_prog_type(prog_type);
        self.table.get(&this)?.configure("set-prog-type", |p| {
            // SAFETY: the program belongs to an opened object, locked by
            // `configure`.
            libbpf_result(unsafe {
                libbpf_sys::bpf_program__set_type(p.as_libbpf_object().as_ptr(), raw)
            })
        })
    }

    fn set_expected_attach_type(
        &mut self,
        this: Resource<BpfProgram>,
        attach_type: AttachType,
    ) -> BpfResult<()> {
        let raw = raw_attach_type(attach_type);
        self.table
            .get(&this)?
            .configure("set-expected-attach-type", |p| {
                // SAFETY: as in set-prog-type.
                libbpf_result(unsafe {
                    libbpf_sys::bpf_program__set_expected_attach_type(
                        p.as_libbpf_object().as_ptr(),
                        raw,
                    )
                })
            })
    }

    fn set_flags(&mut self, this: Resource<BpfProgram>, flags: u32) -> BpfResult<()> {
        self.table.get(&this)?.configure("set-flags", |p| {
            p.set_flags(flags);
            Ok(())
        })
    }

    fn flags(&mut self, this: Resource<BpfProgram>) -> wasmtime::Result<u32> {
        let program = self.table.get(&this)?;
        let flags = |prog: &dyn AsRawLibbpf<LibbpfType = libbpf_sys::bpf_program>| {
            // SAFETY: the pointer comes from a live program.
            unsafe { libbpf_sys::bpf_program__flags(prog.as_libbpf_object().as_ptr()) }
        };
        let name = OsStr::new(&program.name);
        Ok(match &*lock(&program.object) {
            ObjectState::Opened(open) => open.progs().find(|p| p.name() == name).map(|p| flags(&p)),
            ObjectState::Loaded(obj) => obj.progs().find(|p| p.name() == name).map(|p| flags(&p)),
            ObjectState::Failed => None,
        }
        .unwrap_or(0))
    }

    fn set_log_level(&mut self, this: Resource<BpfProgram>, level: u32) -> BpfResult<()> {
        self.table.get(&this)?.configure("set-log-level", |p| {
            p.set_log_level(level);
            Ok(())
        })
    }

    fn verifier_log(&mut self, this: Resource<BpfProgram>) -> wasmtime::Result<Option<String>> {
        let program = self.table.get(&this)?;
        Ok(program.object.verifier_log(&program.name))
    }

    fn attach(&mut self, this: Resource<BpfProgram>) -> BpfResult<Resource<BpfLink>> {
        self.ctx.limits.check(Held::Link, 1)?;
        let (log, policy, grants) = (&self.ctx.log, &self.ctx.policy, &self.ctx.grants);
        let program = self.table.get(&this)?;
        let link = with_loaded(&program.object, "attach", |obj| {
            let prog = obj
                .progs_mut()
                .find(|p| p.name() == OsStr::new(&program.name))
                .ok_or_else(|| not_found("program", &program.name, &[]))?;
            let section = prog.section().to_string_lossy().into_owned();
            let binary = policy.check_section(grants, &program.name, &section)?;
            attach(log, &prog, binary.as_ref())
        })?;
        self.push_counted(Held::Link, link)
    }

    fn attach_to(
        &mut self,
        this: Resource<BpfProgram>,
        target: AttachTarget,
    ) -> BpfResult<Resource<BpfLink>> {
        self.ctx.limits.check(Held::Link, 1)?;
        let (log, grants) = (&self.ctx.log, &self.ctx.grants);
        let program = self.table.get(&this)?;
        self.ctx.policy.check_target(&program.name, &target)?;
        let link = with_loaded(&program.object, "attach-to", |obj| {
            let prog = obj
                .progs_mut()
                .find(|p| p.name() == OsStr::new(&program.name))
                .ok_or_else(|| not_found("program", &program.name, &[]))?;
            let links = attach_with(log, &prog, || attach::attach(&prog, grants, &target))?;
            let link = BpfLink::of(links, program.name.clone());
            Ok(match target {
                AttachTarget::Iterator => link.iterator(),
                _ => link,
            })
        })?;
        self.push_counted(Held::Link, link)
    }

    fn drop(&mut self, this: Resource<BpfProgram>) -> wasmtime::Result<()> {
        self.delete_counted(Held::Program, this)
    }
}

impl Host for BpfCtxView<'_> {}
