//! The `raw` interface: programs and maps made from raw attributes, as
//! libbpf's `bpf_prog_load`, `bpf_map_create` and `bpf_raw_tracepoint_open`
//! make them; what tools' feature probes load and drop.
//!
//! The same policy as an object's load applies, to what the kernel will
//! receive: the instructions themselves (nothing rewrites them after the
//! check), and no attribute that the kernel would read as a file
//! descriptor, since a guest's number would name one of the host's.

use std::ffi::CString;
use std::os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd};

use libbpf_rs::{MapType, ProgramType};
use libbpf_sys::bpf_insn;
use wasmtime::component::Resource;

use super::limits::{Charge, Held};
use super::link::{Attachment, BpfLink};
use super::policy::{load_hook, runs, Hook, Runs};
use super::types::{raw_attach_type, raw_map_type, raw_prog_type};
use super::{calls, limits, BpfCtxView};
use crate::bindings::link::Link;
use crate::bindings::raw::{Host, HostRawMap, HostRawProgram, MapAttrs, ProgramAttrs};
use crate::bindings::types::ErrorCode;
use crate::{BpfError, BpfResult};

/// The most instructions the kernel loads in one program
/// (`BPF_COMPLEXITY_LIMIT_INSNS`).
const MAX_INSNS: usize = 1_000_000;

/// The most verifier log one load keeps.
const MAX_LOG: u32 = 16 << 20;

/// A loaded program, unloaded when dropped (unless a link holds it).
pub struct RawProgram {
    fd: OwnedFd,
    name: String,
    prog_type: ProgramType,
}

/// A created map and the kernel memory it is charged for.
pub struct RawMap {
    fd: OwnedFd,
    _charge: Charge,
}

/// `bytes` as instructions: whole ones, no more than the kernel takes, and
/// none that makes the kernel read a file descriptor or an fd array.
fn instructions(program: &str, bytes: &[u8]) -> BpfResult<Vec<bpf_insn>> {
    let invalid = |why: String| {
        BpfError::with_errno(
            ErrorCode::InvalidArgument,
            libc::EINVAL,
            format!("program `{program}`: {why}"),
        )
    };
    if bytes.is_empty() || !bytes.len().is_multiple_of(size_of::<bpf_insn>()) {
        return Err(invalid(format!(
            "{} bytes of instructions are not a whole number of 8-byte instructions",
            bytes.len()
        )));
    }
    let insns = calls::insns_of(bytes);
    if insns.len() > MAX_INSNS {
        return Err(invalid(format!(
            "{} instructions; the kernel loads at most {MAX_INSNS}",
            insns.len()
        )));
    }
    const LD_IMM64: u8 = (libbpf_sys::BPF_LD | libbpf_sys::BPF_IMM | libbpf_sys::BPF_DW) as u8;
    for (i, insn) in insns.iter().enumerate() {
        let src = u32::from(insn.src_reg());
        let by_fd = match insn.code {
            LD_IMM64 => {
                matches!(
                    src,
                    libbpf_sys::BPF_PSEUDO_MAP_FD
                        | libbpf_sys::BPF_PSEUDO_MAP_VALUE
                        | libbpf_sys::BPF_PSEUDO_MAP_IDX
                        | libbpf_sys::BPF_PSEUDO_MAP_IDX_VALUE
                ) || (src == libbpf_sys::BPF_PSEUDO_BTF_ID
                    && insns.get(i + 1).is_some_and(|next| next.imm != 0))
            }
            _ => matches!(
                calls::call(insn),
                Some(calls::Call::Kfunc { module: true, .. })
            ),
        };
        if by_fd {
            return Err(BpfError::with_errno(
                ErrorCode::Unsupported,
                libc::EOPNOTSUPP,
                format!(
                    "program `{program}`: instruction {i} refers to a map or to module BTF by \
                     file descriptor, which a raw load cannot take; put the program in an \
                     object and load that"
                ),
            ));
        }
    }
    Ok(insns)
}

/// Refuses `BPF_F_TOKEN_FD` among `flags`: with it the kernel reads the
/// attribute's token fd, 0 here, as a BPF token, the host's stdin.
fn no_token(what: &str, flags: u32) -> BpfResult<()> {
    if flags & libbpf_sys::BPF_F_TOKEN_FD == 0 {
        return Ok(());
    }
    Err(BpfError::with_errno(
        ErrorCode::Unsupported,
        libc::EOPNOTSUPP,
        format!("{what}: BPF_F_TOKEN_FD names a file descriptor, which a guest cannot pass"),
    ))
}

/// A C string of a guest's string, or `invalid-argument` naming `what`.
fn c_string(what: &str, s: &str) -> BpfResult<CString> {
    CString::new(s).map_err(|_| {
        BpfError::with_errno(
            ErrorCode::InvalidArgument,
            libc::EINVAL,
            format!("{what} `{}` holds a NUL byte", s.escape_debug()),
        )
    })
}

/// The kernel's id of the program or map at `fd`.
fn kernel_id(fd: &OwnedFd, prog: bool) -> u32 {
    // SAFETY: all zeroes is a valid info struct for the kernel to fill, of
    // the length given; no array pointers are set.
    unsafe {
        if prog {
            let mut info: libbpf_sys::bpf_prog_info = std::mem::zeroed();
            let mut len = size_of_val(&info) as u32;
            let ret = libbpf_sys::bpf_prog_get_info_by_fd(fd.as_raw_fd(), &mut info, &mut len);
            if ret == 0 {
                info.id
            } else {
                0
            }
        } else {
            let mut info: libbpf_sys::bpf_map_info = std::mem::zeroed();
            let mut len = size_of_val(&info) as u32;
            let ret = libbpf_sys::bpf_map_get_info_by_fd(fd.as_raw_fd(), &mut info, &mut len);
            if ret == 0 {
                info.id
            } else {
                0
            }
        }
    }
}

/// libbpf's `-errno` return: a new fd, or the error for `what`.
fn fd_of(ret: i32, what: &str, log: &str) -> BpfResult<OwnedFd> {
    if ret < 0 {
        return Err(BpfError::libbpf(
            what,
            &libbpf_rs::Error::from_raw_os_error(-ret),
            log,
        ));
    }
    // SAFETY: libbpf returned a new fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(ret) })
}

/// The text of a verifier log buffer, up to its NUL.
fn log_text(buf: &[u8]) -> String {
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

impl Host for BpfCtxView<'_> {
    fn load_program(&mut self, attrs: ProgramAttrs) -> BpfResult<(Resource<RawProgram>, String)> {
        let name = attrs.name.unwrap_or_default();
        let shown = if name.is_empty() { "(unnamed)" } else { &name };
        let prog_type = ProgramType::from(raw_prog_type(attrs.prog_type));
        let attach = attrs.expected_attach_type.map_or(0, raw_attach_type);
        self.ctx.limits.check(Held::Program, 1)?;
        let insns = instructions(shown, &attrs.insns)?;
        no_token(&format!("program `{shown}`"), attrs.prog_flags)?;
        let policy = &self.ctx.policy;
        if let Some(hook) = load_hook(prog_type, attach) {
            policy.need_hook(hook, || {
                format!("loading {} program `{shown}`", hook.name())
            })?;
        }
        policy.check_calls(shown, prog_type, attach, &insns, &mut self.ctx.kernel_btf)?;

        let c_name = c_string("program name", &name)?;
        let license = c_string("license", &attrs.license)?;
        let log_size = attrs
            .log_size
            .min(MAX_LOG)
            .min(u32::try_from(self.ctx.result_bytes).unwrap_or(u32::MAX));
        let mut log = vec![0u8; log_size as usize];
        let mut opts = libbpf_sys::bpf_prog_load_opts {
            sz: size_of::<libbpf_sys::bpf_prog_load_opts>() as _,
            expected_attach_type: attach,
            attach_btf_id: attrs.attach_btf_id,
            prog_flags: attrs.prog_flags,
            log_level: if log.is_empty() { 0 } else { attrs.log_level },
            log_size,
            log_buf: if log.is_empty() {
                std::ptr::null_mut()
            } else {
                log.as_mut_ptr().cast()
            },
            ..Default::default()
        };
        // SAFETY: the strings are NUL-terminated and `insns` holds
        // `insns.len()` instructions, all alive for the call; `log_buf` is
        // `log_size` writable bytes or NULL.
        let ret = unsafe {
            libbpf_sys::bpf_prog_load(
                prog_type as u32,
                if name.is_empty() {
                    std::ptr::null()
                } else {
                    c_name.as_ptr()
                },
                license.as_ptr(),
                insns.as_ptr(),
                insns.len() as _,
                &mut opts,
            )
        };
        let log = log_text(&log);
        let what = format!(
            "loading program `{shown}` ({prog_type:?}, {} instructions)",
            insns.len()
        );
        let fd = fd_of(ret, &what, &log).map_err(|e| {
            if ret == -libc::EACCES || ret == -libc::EINVAL && !log.is_empty() {
                e.recode(ErrorCode::VerifierRejected)
            } else {
                e
            }
        })?;
        self.ctx
            .observer
            .program_loaded(std::os::fd::AsFd::as_fd(&fd), shown);
        let program = RawProgram {
            fd,
            name: shown.to_string(),
            prog_type,
        };
        Ok((self.push_counted(Held::Program, program)?, log))
    }

    fn create_map(&mut self, attrs: MapAttrs) -> BpfResult<Resource<RawMap>> {
        let name = attrs.name.unwrap_or_default();
        let shown = if name.is_empty() { "(unnamed)" } else { &name };
        let map_type = MapType::from(raw_map_type(attrs.map_type));
        self.ctx.limits.check(Held::Map, 1)?;
        no_token(&format!("map `{shown}`"), attrs.map_flags)?;
        match map_type {
            MapType::ArrayOfMaps | MapType::HashOfMaps => {
                return Err(BpfError::with_errno(
                    ErrorCode::Unsupported,
                    libc::EOPNOTSUPP,
                    format!(
                        "map `{shown}`: a raw map cannot hold other maps (its values are file \
                         descriptors); declare it in an object"
                    ),
                ))
            }
            MapType::StructOps => self
                .ctx
                .policy
                .need_hook(Hook::StructOps, || format!("struct_ops map `{shown}`"))?,
            MapType::Arena => self
                .ctx
                .policy
                .need_hook(Hook::Arena, || format!("arena map `{shown}`"))?,
            _ => {}
        }
        let bytes = limits::map_kernel_bytes(
            shown,
            map_type,
            attrs.key_size,
            attrs.value_size,
            attrs.max_entries,
        )?;
        let charge = self
            .ctx
            .kernel_memory
            .charge(bytes, || format!("map `{shown}`"))?;
        let c_name = c_string("map name", &name)?;
        let opts = libbpf_sys::bpf_map_create_opts {
            sz: size_of::<libbpf_sys::bpf_map_create_opts>() as _,
            map_flags: attrs.map_flags,
            map_extra: attrs.map_extra,
            numa_node: attrs.numa_node.unwrap_or(0),
            ..Default::default()
        };
        let opts = libbpf_sys::bpf_map_create_opts {
            map_flags: if attrs.numa_node.is_some() {
                opts.map_flags | libbpf_sys::BPF_F_NUMA_NODE
            } else {
                opts.map_flags
            },
            ..opts
        };
        // SAFETY: the name is NUL-terminated and alive for the call; the
        // options hold no pointers and no fds.
        let ret = unsafe {
            libbpf_sys::bpf_map_create(
                map_type as u32,
                if name.is_empty() {
                    std::ptr::null()
                } else {
                    c_name.as_ptr()
                },
                attrs.key_size,
                attrs.value_size,
                attrs.max_entries,
                &opts,
            )
        };
        let fd = fd_of(ret, &format!("creating map `{shown}` ({map_type:?})"), "")?;
        self.ctx
            .observer
            .map_created(std::os::fd::AsFd::as_fd(&fd), shown);
        self.push_counted(
            Held::Map,
            RawMap {
                fd,
                _charge: charge,
            },
        )
    }
}

impl HostRawProgram for BpfCtxView<'_> {
    fn id(&mut self, this: Resource<RawProgram>) -> wasmtime::Result<u32> {
        Ok(kernel_id(&self.table.get(&this)?.fd, true))
    }

    fn attach_raw_tracepoint(
        &mut self,
        this: Resource<RawProgram>,
        name: Option<String>,
    ) -> BpfResult<Resource<Link>> {
        self.ctx.limits.check(Held::Link, 1)?;
        let program = self.table.get(&this)?;
        if !matches!(runs(program.prog_type), Runs::Traces | Runs::Granted) {
            return Err(BpfError::with_errno(
                ErrorCode::Unsupported,
                libc::EOPNOTSUPP,
                format!(
                    "program `{}` is a {:?} program, which does not attach to a tracepoint \
                     or a kernel function",
                    program.name, program.prog_type
                ),
            ));
        }
        let c_name = name
            .as_deref()
            .map(|n| c_string("raw tracepoint", n))
            .transpose()?;
        // SAFETY: the name is NUL-terminated or NULL, and the fd is the
        // program's, alive for the call.
        let ret = unsafe {
            libbpf_sys::bpf_raw_tracepoint_open(
                c_name.as_ref().map_or(std::ptr::null(), |n| n.as_ptr()),
                program.fd.as_raw_fd(),
            )
        };
        let target = name.as_deref().unwrap_or("its BTF target");
        let what = format!("attaching program `{}` to {target}", program.name);
        let fd = fd_of(ret, &what, "").map_err(|e| {
            if ret == -libc::ENOENT {
                e.recode(ErrorCode::TargetNotFound)
            } else {
                e
            }
        })?;
        let link = BpfLink::of(vec![Attachment::Fd(fd)], program.name.clone());
        self.push_counted(Held::Link, link)
    }

    fn drop(&mut self, this: Resource<RawProgram>) -> wasmtime::Result<()> {
        self.delete_counted(Held::Program, this)
    }
}

impl HostRawMap for BpfCtxView<'_> {
    fn id(&mut self, this: Resource<RawMap>) -> wasmtime::Result<u32> {
        Ok(kernel_id(&self.table.get(&this)?.fd, false))
    }

    fn drop(&mut self, this: Resource<RawMap>) -> wasmtime::Result<()> {
        self.delete_counted(Held::Map, this)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(insns: &[[u8; 8]]) -> Vec<u8> {
        insns.concat()
    }

    /// `r0 = 0; exit`
    const RETURN_0: [[u8; 8]; 2] = [[0xb7, 0, 0, 0, 0, 0, 0, 0], [0x95, 0, 0, 0, 0, 0, 0, 0]];

    #[test]
    fn whole_instructions_only() {
        assert_eq!(instructions("p", &bytes(&RETURN_0)).unwrap().len(), 2);
        let err = instructions("p", &bytes(&RETURN_0)[..12]).unwrap_err();
        assert!(format!("{err:?}").contains("12 bytes"), "{err:?}");
        assert!(instructions("p", &[]).is_err());
    }

    #[test]
    fn no_token_fd() {
        assert!(no_token("p", libbpf_sys::BPF_F_SLEEPABLE).is_ok());
        assert!(no_token("p", libbpf_sys::BPF_F_TOKEN_FD).is_err());
    }

    #[test]
    fn no_file_descriptors_in_instructions() {
        // r1 = map fd 3 (BPF_LD_IMM64 with src_reg BPF_PSEUDO_MAP_FD).
        let map_fd = [[0x18, 0x11, 0, 0, 3, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0]];
        let err = instructions("p", &bytes(&[map_fd[0], map_fd[1], RETURN_0[1]])).unwrap_err();
        assert!(format!("{err:?}").contains("instruction 0"), "{err:?}");
        // A kernel ksym (BPF_PSEUDO_BTF_ID) of vmlinux (no BTF fd) is fine,
        // a module's is not.
        let ksym = |fd: u8| [[0x18, 0x31, 0, 0, 7, 0, 0, 0], [0, 0, 0, 0, fd, 0, 0, 0]];
        let prog = |fd| bytes(&[ksym(fd)[0], ksym(fd)[1], RETURN_0[0], RETURN_0[1]]);
        assert!(instructions("p", &prog(0)).is_ok());
        assert!(instructions("p", &prog(5)).is_err());
        // A module kfunc (`off` indexes the fd array).
        let kfunc = [0x85, 0x20, 1, 0, 9, 0, 0, 0];
        assert!(instructions("p", &bytes(&[kfunc, RETURN_0[1]])).is_err());
    }
}
