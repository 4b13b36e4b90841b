//! What a guest may do in the kernel beyond tracing. Tracepoints, raw
//! tracepoints, perf events and iterators are always allowed; the rest
//! needs a grant of `wasm-bpf run`, checked before anything reaches the
//! kernel. A refusal is a `permission-denied` error that names the flag
//! that would allow it, and is logged.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};
use std::str::FromStr;

use libbpf_rs::{AsRawLibbpf as _, MapType, OpenMap, OpenObject, ProgramType};
use libbpf_sys::bpf_insn;
use wasm_bpf_btf::RawBtf;

use super::calls::{self, Call};
use super::grants::{Grants, Opened};
use super::helpers::{self, Class, Helper};
use super::program::expected_attach_type;
use crate::bindings::program::{AttachTarget, Binary};
use crate::bindings::types::ErrorCode;
use crate::{BpfError, BpfResult};

/// Kinds of hooks that reach into the kernel's functions, each granted
/// with `--allow <kind>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Hook {
    /// kprobes and kretprobes on kernel functions.
    Kprobe,
    /// fentry, fexit and fmod_ret programs.
    Fentry,
    /// BPF LSM programs, which can deny operations.
    Lsm,
    /// struct_ops maps and programs, which register kernel behaviour (a
    /// TCP congestion control, a scheduler).
    StructOps,
    /// Programs of the cgroup types (and sock_ops), which can refuse or
    /// rewrite what the processes of a cgroup do on the network, with
    /// devices and sysctls.
    Cgroup,
    /// Arena maps: memory the BPF side shares with the host process,
    /// mapped into it at load (at an address the host chooses).
    Arena,
}

impl FromStr for Hook {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|hook| hook.name() == s)
            .ok_or_else(|| {
                format!(
                    "unknown hook kind {s:?} (kprobe, fentry, lsm, struct_ops, cgroup or arena)"
                )
            })
    }
}

impl Hook {
    const ALL: [Self; 6] = [
        Self::Kprobe,
        Self::Fentry,
        Self::Lsm,
        Self::StructOps,
        Self::Cgroup,
        Self::Arena,
    ];

    /// The name `--allow` takes.
    pub fn name(self) -> &'static str {
        match self {
            Self::Kprobe => "kprobe",
            Self::Fentry => "fentry",
            Self::Lsm => "lsm",
            Self::StructOps => "struct_ops",
            Self::Cgroup => "cgroup",
            Self::Arena => "arena",
        }
    }
}

/// The grants of one run.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Hook kinds granted with `--allow`.
    pub hooks: BTreeSet<Hook>,
    /// Helpers granted with `--allow-helper`: those that act on the rest
    /// of the system, or change what a hook hands a program that runs
    /// without a grant ([`helpers::Class`]).
    pub helpers: BTreeSet<String>,
    /// kfuncs granted with `--allow-kfunc`, beyond the read-only ones
    /// every guest may call.
    pub kfuncs: BTreeSet<String>,
    /// Network interfaces granted with `--allow-net`, for XDP, tc and
    /// socket filters.
    pub interfaces: BTreeSet<String>,
    /// Processes granted with `--allow-pid`, whose executables may be
    /// probed.
    pub pids: BTreeSet<i32>,
    /// The bpffs directory granted with `--allow-pin`: maps an object pins
    /// by name (`LIBBPF_PIN_BY_NAME`) are pinned there, or reuse the map
    /// pinned there already. Without it such objects do not load.
    pub pin_dir: Option<std::path::PathBuf>,
    /// Most kernel memory the guest's maps and buffers may take, all
    /// objects together (`--max-kernel-memory`).
    pub max_kernel_memory: u64,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            hooks: BTreeSet::new(),
            helpers: BTreeSet::new(),
            kfuncs: BTreeSet::new(),
            interfaces: BTreeSet::new(),
            pids: BTreeSet::new(),
            pin_dir: None,
            max_kernel_memory: super::limits::DEFAULT_KERNEL_MEMORY,
        }
    }
}

/// A refusal: logged, and typed for the guest.
fn refuse(what: String, flag: String) -> BpfError {
    tracing::warn!(%what, %flag, "refused by the run's policy");
    BpfError::with_errno(
        ErrorCode::PermissionDenied,
        libc::EPERM,
        format!("{what} is not allowed for this guest; allow it with `wasm-bpf run {flag}`"),
    )
}

/// The hook kind a program of `ty` with expected attach type `attach`
/// needs a grant for, if any.
pub fn load_hook(ty: ProgramType, attach: u32) -> Option<Hook> {
    match ty {
        ProgramType::Lsm => Some(Hook::Lsm),
        ProgramType::StructOps => Some(Hook::StructOps),
        ProgramType::CgroupSkb
        | ProgramType::CgroupSock
        | ProgramType::CgroupSockAddr
        | ProgramType::CgroupSockopt
        | ProgramType::CgroupSysctl
        | ProgramType::CgroupDevice
        | ProgramType::SockOps => Some(Hook::Cgroup),
        ProgramType::Tracing
            if [
                libbpf_sys::BPF_TRACE_FENTRY,
                libbpf_sys::BPF_TRACE_FEXIT,
                libbpf_sys::BPF_MODIFY_RETURN,
            ]
            .contains(&attach) =>
        {
            Some(Hook::Fentry)
        }
        _ => None,
    }
}

/// How programs of a type come to run under wasm-bpf: what a type may do
/// without a grant is pinned here, and attaching a type that never runs is
/// refused, not left to the chance that no hook accepts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Runs {
    /// On a kernel event it observes, with no grant (kprobe sections and
    /// fentry still need theirs).
    Traces,
    /// Only with its hook kind granted at load ([`load_hook`]).
    Granted,
    /// Only on an interface granted with `--allow-net`.
    OnInterface,
    /// Inside the guest's own loaded programs, as a function it replaces
    /// (`freplace`).
    InsideOwn,
    /// Nowhere: no attach path of wasm-bpf takes it. It may load (which
    /// runs nothing), never attach. Writable raw tracepoints change the
    /// data their tracepoint hands them; the others hook routing, sockets
    /// or devices with no grant to name them.
    Never,
}

/// How programs of type `ty` come to run.
pub fn runs(ty: ProgramType) -> Runs {
    use ProgramType as P;
    match ty {
        P::Kprobe | P::Tracepoint | P::RawTracepoint | P::PerfEvent | P::Tracing => Runs::Traces,
        P::CgroupSkb
        | P::CgroupSock
        | P::CgroupSockAddr
        | P::CgroupSockopt
        | P::CgroupSysctl
        | P::CgroupDevice
        | P::SockOps
        | P::Lsm
        | P::StructOps => Runs::Granted,
        P::SocketFilter | P::SchedCls | P::SchedAct | P::Xdp => Runs::OnInterface,
        P::Ext => Runs::InsideOwn,
        P::RawTracepointWritable
        | P::LwtIn
        | P::LwtOut
        | P::LwtXmit
        | P::LwtSeg6local
        | P::SkSkb
        | P::SkMsg
        | P::LircMode2
        | P::SkReuseport
        | P::FlowDissector
        | P::SkLookup
        | P::Syscall
        | P::Netfilter
        | P::Unspec
        | P::Unknown => Runs::Never,
        // A type libbpf-rs learns later runs nowhere until classified.
        _ => Runs::Never,
    }
}

/// Where `load` would pin `map` (or find it pinned): set at open for maps
/// declared with `__uint(pinning, LIBBPF_PIN_BY_NAME)`.
pub(crate) fn pin_path(map: &OpenMap<'_>) -> Option<String> {
    // SAFETY: the map belongs to an open object that outlives this call.
    let pin = unsafe { libbpf_sys::bpf_map__pin_path(map.as_libbpf_object().as_ptr()) };
    // SAFETY: libbpf returns NULL or a NUL-terminated path it owns.
    (!pin.is_null()).then(|| {
        unsafe { std::ffi::CStr::from_ptr(pin) }
            .to_string_lossy()
            .into_owned()
    })
}

/// Where `pin` lies beneath `dir`: plain names only (no `..`, at least
/// one), so the map is pinned or found where the check saw it.
fn pin_beneath(dir: &Path, pin: &Path) -> Option<PathBuf> {
    let rest = pin.strip_prefix(dir).ok()?;
    let plain = rest
        .components()
        .all(|part| matches!(part, Component::Normal(_)));
    (plain && rest.file_name().is_some()).then(|| rest.to_path_buf())
}

/// Points every pin path of `open` (each beneath `dir`, checked by
/// [`Policy::check_maps`]) at its directory opened beneath the pin grant
/// `grant` without following any symbolic link, so that libbpf pins (or
/// finds the pinned map) where the check saw it, whatever is renamed
/// meanwhile. Returns the directories' fds, which must stay open until
/// the load is done; on an error no path was changed.
pub(crate) fn pins_beneath(
    open: &mut OpenObject,
    dir: &Path,
    grant: std::os::fd::BorrowedFd<'_>,
) -> BpfResult<Vec<std::os::fd::OwnedFd>> {
    let mut placed = Vec::new();
    for map in open.maps().filter(|m| m.autocreate()) {
        let Some(pin) = pin_path(&map) else { continue };
        let name = map.name().to_string_lossy().into_owned();
        let what = format!("the pin path of map `{name}`");
        let rest = pin_beneath(dir, Path::new(&pin)).ok_or_else(|| {
            BpfError::new(
                ErrorCode::PermissionDenied,
                format!("{what} `{pin}` is outside {}", dir.display()),
            )
        })?;
        let parent = rest.parent().unwrap_or(Path::new(""));
        let opened = super::grants::open_beneath(
            grant,
            parent,
            &what,
            &pin,
            rustix::fs::ResolveFlags::NO_SYMLINKS,
        )?;
        if opened.kind != rustix::fs::FileType::Directory {
            return Err(BpfError::new(
                ErrorCode::InvalidArgument,
                format!("{what} `{pin}`: its parent is not a directory"),
            ));
        }
        let leaf = rest.file_name().unwrap_or_default().to_os_string();
        placed.push((name, opened.fd, leaf));
    }
    let mut fds = Vec::new();
    for (name, fd, leaf) in placed {
        let path = super::grants::fd_path(std::os::fd::AsFd::as_fd(&fd)).join(leaf);
        let mut map = open
            .maps_mut()
            .find(|m| m.name().to_string_lossy() == name)
            .ok_or_else(|| BpfError::new(ErrorCode::NotFound, format!("no map `{name}`")))?;
        map.set_pin_path(&path)
            .map_err(|e| BpfError::libbpf(&format!("pinning map `{name}`"), &e, ""))?;
        fds.push(fd);
    }
    Ok(fds)
}

/// An arena map as its object was opened: libbpf sized the object's
/// arena data (`.addr_space.1`) to fit it then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Arena {
    pub name: String,
    pub max_entries: u32,
}

/// The arena maps of `open`, as it is now.
pub(crate) fn arenas(open: &OpenObject) -> Vec<Arena> {
    open.maps()
        .filter(|m| m.map_type() == MapType::Arena)
        .map(|m| Arena {
            name: m.name().to_string_lossy().into_owned(),
            max_entries: m.max_entries(),
        })
        .collect()
}

/// Refuses what would make libbpf's load write host memory where the
/// object or the guest chose, before it runs. libbpf maps memory of two
/// kinds of map into the host during load:
/// * an internal map (`.data`, `.bss`, `.rodata`, ...) is mapped over the
///   anonymous memory it got at open, with `MAP_FIXED` and the size its
///   definition gives *now*: a guest that raised its `max-entries` or
///   changed its type would map the kernel's map (whose contents it
///   writes) over the host memory that follows;
/// * an arena is mapped at its `map_extra` with `MAP_FIXED` (an address
///   the object or `set-map-extra` chose), then the object's arena data
///   is copied in at the offset computed at open: an arena made from
///   another map, or shrunk, receives it out of bounds.
///
/// So internal maps must keep the shape libbpf gave them (an array of one
/// value), and the arenas must be the ones the object was opened with, of
/// the same size. Their address is then the host's choice
/// ([`host_chosen_arena_addresses`]). Nothing else in libbpf's prepare or
/// load writes host memory at a place the object chooses: struct_ops
/// data is sized from the kernel's BTF (and needs `--allow struct_ops`),
/// `.kconfig` externs are placed by libbpf, and map fds and relocations
/// go to the kernel or into libbpf's own copies.
fn check_host_mappings(open: &OpenObject, arenas_at_open: &[Arena]) -> BpfResult<()> {
    for map in open.maps() {
        // SAFETY: the pointer comes from a live map of the open object.
        let internal = unsafe { libbpf_sys::bpf_map__is_internal(map.as_libbpf_object().as_ptr()) };
        if internal && (map.map_type() != MapType::Array || map.max_entries() != 1) {
            return Err(global_section_fixed(&map.name().to_string_lossy()));
        }
    }
    if arenas(open) != arenas_at_open {
        return Err(BpfError::with_errno(
            ErrorCode::Unsupported,
            libc::EOPNOTSUPP,
            "an arena map keeps the type and max-entries it had when the object was opened \
             (libbpf placed the object's arena data for that size)",
        ));
    }
    Ok(())
}

/// The error for changing the type or max-entries of the global section
/// `name`.
pub(crate) fn global_section_fixed(name: &str) -> BpfError {
    BpfError::with_errno(
        ErrorCode::Unsupported,
        libc::EOPNOTSUPP,
        format!(
            "map `{name}` holds the object's global variables: it stays an array of one value \
             (its type and max-entries are fixed; set-value-size resizes it)"
        ),
    )
}

/// Lets the kernel choose where every arena of `open` is mapped in the
/// host, whatever `map_extra` the object or the guest set.
pub(crate) fn host_chosen_arena_addresses(open: &mut OpenObject) -> BpfResult<()> {
    for mut map in open.maps_mut().filter(|m| m.map_type() == MapType::Arena) {
        map.set_map_extra(0)
            .map_err(|e| BpfError::libbpf("clearing an arena's address", &e, ""))?;
    }
    Ok(())
}

/// Why this kernel cannot run programs of `hook` at all, if it cannot.
fn kernel_lacks(hook: Hook) -> Option<&'static str> {
    match hook {
        Hook::Kprobe if !super::attach::kprobes_available() => {
            Some("this kernel has no kprobes (built without CONFIG_KPROBES)")
        }
        Hook::Lsm => std::fs::read_to_string("/sys/kernel/security/lsm")
            .ok()
            .filter(|lsms| !lsms.split(',').any(|l| l.trim() == "bpf"))
            .map(|_| {
                "this kernel runs no BPF LSM programs (`bpf` is not in /sys/kernel/security/lsm)"
            }),
        _ => None,
    }
}

/// Where a binary named without a directory is looked for, as libbpf's
/// `resolve_full_path` does, less the host's `LD_LIBRARY_PATH` and `PATH`
/// (the host's environment is not the guest's to choose).
fn search_dirs(name: &str) -> Vec<String> {
    let arch = std::env::consts::ARCH;
    if name.ends_with(".so") || name.contains(".so.") {
        vec![
            "/usr/lib64".into(),
            "/usr/lib".into(),
            format!("/lib/{arch}-linux-gnu"),
            format!("/usr/lib/{arch}-linux-gnu"),
        ]
    } else {
        ["/usr/bin", "/usr/sbin", "/bin", "/sbin"]
            .map(String::from)
            .to_vec()
    }
}

/// The file a section's binary is on this machine, symbolic links
/// resolved: an absolute path as it is, a name without a directory
/// (`libc.so.6`) searched for as libbpf would; `None` for a relative path
/// or a missing file.
pub(crate) fn resolve_binary(path: &str) -> Option<PathBuf> {
    let candidate = if path.contains('/') {
        Some(PathBuf::from(path)).filter(|_| path.starts_with('/'))
    } else {
        search_dirs(path)
            .iter()
            .map(|dir| Path::new(dir).join(path))
            .find(|file| file.is_file())
    };
    candidate?.canonicalize().ok()
}

/// Whether a section auto-attaches to kernel functions.
pub(crate) fn is_kprobe_section(section: &str) -> bool {
    ["kprobe", "kretprobe", "ksyscall", "kretsyscall"]
        .iter()
        .any(|p| section.starts_with(p))
}

/// The host path a `uprobe/PATH:FUNC` or `usdt/PATH:PROVIDER:NAME`
/// section names, if it names one.
pub(crate) fn section_binary(section: &str) -> Option<&str> {
    let (kind, rest) = section.split_once('/')?;
    let probe = ["uprobe", "uretprobe", "usdt"]
        .iter()
        .any(|p| kind == *p || kind.starts_with(&format!("{p}.")));
    if !probe {
        return None;
    }
    // Without `:` there is no `binary:function`: libbpf refuses the
    // section itself, which says more than a policy refusal would.
    let (path, _) = rest.split_once(':')?;
    (!path.is_empty()).then_some(path)
}

impl Policy {
    pub(crate) fn need_hook(&self, hook: Hook, what: impl FnOnce() -> String) -> BpfResult<()> {
        if self.hooks.contains(&hook) {
            return Ok(());
        }
        let err = refuse(what(), format!("--allow {}", hook.name()));
        // A grant that would only meet the kernel's own refusal is named
        // with it, so nobody grants in vain.
        Err(match kernel_lacks(hook) {
            Some(why) => err.hint(&format!("{why}, so it would fail with the grant too")),
            None => err,
        })
    }

    /// Checks the maps `load` would create, before it creates any: pins
    /// only under the granted bpffs directory, struct_ops only if granted,
    /// and nothing that would make libbpf map memory in the host where the
    /// object or the guest chose ([`check_host_mappings`]). `arenas` are
    /// the object's arena maps as it was opened.
    pub(crate) fn check_maps(&self, open: &OpenObject, arenas: &[Arena]) -> BpfResult<()> {
        check_host_mappings(open, arenas)?;
        if !arenas.is_empty() {
            self.need_hook(Hook::Arena, || format!("arena map `{}`", arenas[0].name))?;
        }
        for map in open.maps().filter(|m| m.autocreate()) {
            let name = map.name().to_string_lossy();
            if map.map_type() == MapType::StructOps {
                self.need_hook(Hook::StructOps, || format!("struct_ops map `{name}`"))?;
            }
            let Some(pin) = pin_path(&map) else { continue };
            let inside = self
                .pin_dir
                .as_deref()
                .is_some_and(|dir| pin_beneath(dir, Path::new(&*pin)).is_some());
            if !inside {
                return Err(refuse(
                    format!("map `{name}` pinned by name (at {pin})"),
                    "--allow-pin DIR (a directory on bpffs)".into(),
                ));
            }
        }
        Ok(())
    }

    /// Checks the programs of a prepared object, as the kernel will
    /// receive them: what libbpf will load (struct_ops programs are turned
    /// on during prepare), their kinds, and every helper and kfunc their
    /// final instructions call, subprograms included. `btf` names kfuncs
    /// and is loaded on the first one.
    pub(crate) fn check_programs(
        &self,
        open: &OpenObject,
        btf: &mut Option<RawBtf>,
    ) -> BpfResult<()> {
        for prog in open.progs().filter(|p| p.autoload()) {
            let name = prog.name().to_string_lossy();
            let (ty, attach) = (prog.prog_type(), expected_attach_type(&prog));
            if let Some(hook) = load_hook(ty, attach) {
                self.need_hook(hook, || format!("loading {} program `{name}`", hook.name()))?;
            }
            self.check_calls(&name, ty, attach, prog.insns(), btf)?;
        }
        Ok(())
    }

    /// Checks every helper and kfunc that `insns`, the final instructions
    /// of `program` (of type `ty`, expected attach type `attach`), call.
    /// `btf` names kfuncs and is loaded on the first one.
    pub fn check_calls(
        &self,
        program: &str,
        ty: ProgramType,
        attach: u32,
        insns: &[bpf_insn],
        btf: &mut Option<RawBtf>,
    ) -> BpfResult<()> {
        for call in calls::calls(insns) {
            match call {
                Call::Helper(id) => self.check_helper(program, ty, attach, id)?,
                Call::Kfunc { btf_id, module } => {
                    self.check_kfunc(program, btf_id, module, btf)?;
                }
            }
        }
        Ok(())
    }

    fn check_helper(&self, program: &str, ty: ProgramType, attach: u32, id: u32) -> BpfResult<()> {
        let (name, class) = match helpers::helper(id) {
            Helper::Known(name, class) => (name, class),
            // No helper is called: the kernel refuses the instruction
            // wherever it is reachable, and libbpf says which relocation
            // or kfunc it stands for.
            Helper::Poisoned(_) => return Ok(()),
            Helper::Unknown => {
                tracing::warn!(program, id, "refused an unknown helper");
                return Err(BpfError::with_errno(
                    ErrorCode::PermissionDenied,
                    libc::EPERM,
                    format!(
                        "program `{program}` calls helper #{id}, which wasm-bpf does not know, \
                         so no grant can allow it"
                    ),
                ));
            }
        };
        if !helpers::needs_grant(class, ty, attach) || self.helpers.contains(name) {
            return Ok(());
        }
        let what = match class {
            Class::Hook => format!(
                "program `{program}` calling {name}, a helper {}: a {ty:?} program runs \
                 without a grant, so there it reaches whatever the program finds (every \
                 socket, for an iterator)",
                class.describe()
            ),
            _ => format!(
                "program `{program}` calling {name}, a helper {}",
                class.describe()
            ),
        };
        Err(refuse(what, format!("--allow-helper {name}")))
    }

    fn check_kfunc(
        &self,
        program: &str,
        btf_id: u32,
        module: bool,
        btf: &mut Option<RawBtf>,
    ) -> BpfResult<()> {
        let named = if module {
            None
        } else {
            if btf.is_none() {
                *btf = RawBtf::kernel();
            }
            btf.as_ref().and_then(|btf| btf.func_name(btf_id))
        };
        let Some(kfunc) = named else {
            // Without a name there is nothing a grant could name.
            tracing::warn!(program, btf_id, module, "refused an unnamed kfunc");
            return Err(BpfError::with_errno(
                ErrorCode::PermissionDenied,
                libc::EPERM,
                format!(
                    "program `{program}` calls a kfunc {} (BTF id {btf_id}) that wasm-bpf \
                     cannot name, so no grant can allow it",
                    if module {
                        "of a kernel module"
                    } else {
                        "of the kernel"
                    }
                ),
            ));
        };
        if calls::kfunc_is_read_only(&kfunc) || self.kfuncs.contains(&kfunc) {
            return Ok(());
        }
        Err(refuse(
            format!("program `{program}` calling kfunc {kfunc}"),
            format!("--allow-kfunc {kfunc}"),
        ))
    }

    /// Checks an attach by section name (`section` of program `name`).
    /// For a section naming a binary (`uprobe/PATH:FUNC`, `usdt/...`),
    /// returns the file, opened beneath the grant that holds it, which the
    /// attach must use: a library named without a directory (`libc.so.6`)
    /// is searched for as libbpf searches, symbolic links are resolved
    /// once, here.
    pub(crate) fn check_section(
        &self,
        grants: &Grants,
        name: &str,
        section: &str,
    ) -> BpfResult<Option<Opened>> {
        if is_kprobe_section(section) {
            self.need_hook(Hook::Kprobe, || {
                format!("attaching kprobe program `{name}`")
            })?;
        }
        let Some(path) = section_binary(section) else {
            return Ok(None);
        };
        let what = format!("program `{name}` probing `{path}` (named in its section)");
        let Some(file) = resolve_binary(path) else {
            let searched = if path.contains('/') {
                "a relative path is not resolved; name the file by its absolute path".to_string()
            } else {
                format!("searched {}", search_dirs(path).join(", "))
            };
            return Err(BpfError::with_errno(
                ErrorCode::TargetNotFound,
                libc::ENOENT,
                format!("{what}: no such file on this machine ({searched})"),
            ));
        };
        // A section libbpf would attach by looking its binary up again.
        if super::attach::section_hook(section).is_none() {
            return Err(BpfError::with_errno(
                ErrorCode::Unsupported,
                libc::EOPNOTSUPP,
                format!("{what}: wasm-bpf cannot attach this kind of section"),
            ));
        }
        if let Some(opened) = grants.open_host_path(&what, &file) {
            return Ok(Some(opened?.regular(&what, &file.display().to_string())?));
        }
        // The grant that passes this check: the directory of the file the
        // path resolves to (`/proc/self/exe` is the host's own binary).
        Err(refuse(
            format!("{what}, which is {}", file.display()),
            format!("--dir {}", file.parent().unwrap_or(&file).display()),
        ))
    }

    /// Checks an `attach-to` target.
    pub(crate) fn check_target(&self, name: &str, target: &AttachTarget) -> BpfResult<()> {
        let interface = |iface: &str, kind: &str| {
            if self.interfaces.contains(iface) {
                return Ok(());
            }
            Err(refuse(
                format!("attaching {kind} program `{name}` to interface `{iface}`"),
                format!("--allow-net {iface}"),
            ))
        };
        let process = |binary: &Binary| match binary {
            Binary::Process(pid) if !self.pids.contains(pid) => Err(refuse(
                format!("program `{name}` probing the executable of process {pid}"),
                format!("--allow-pid {pid}"),
            )),
            _ => Ok(()),
        };
        match target {
            AttachTarget::Kprobe(_) => self.need_hook(Hook::Kprobe, || {
                format!("attaching kprobe program `{name}`")
            }),
            AttachTarget::Xdp(x) => interface(&x.interface, "XDP"),
            AttachTarget::Tc(t) => interface(&t.interface, "tc"),
            AttachTarget::Socket(iface) => interface(iface, "socket filter"),
            AttachTarget::Uprobe(u) => process(&u.binary),
            AttachTarget::Usdt(u) => process(&u.binary),
            AttachTarget::Tracepoint(_)
            | AttachTarget::RawTracepoint(_)
            | AttachTarget::PerfEvent(_)
            | AttachTarget::Cgroup(_)
            | AttachTarget::Iterator => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_that_name_binaries() {
        assert_eq!(
            section_binary("uprobe//usr/bin/true:main"),
            Some("/usr/bin/true")
        );
        assert_eq!(
            section_binary("uretprobe.s/libc.so.6:malloc"),
            Some("libc.so.6")
        );
        assert_eq!(section_binary("usdt//bin/app:prov:name"), Some("/bin/app"));
        assert_eq!(section_binary("uprobe"), None);
        assert_eq!(section_binary("uretprobe/readline"), None);
        assert_eq!(section_binary("tp/sched/sched_switch"), None);
        assert!(is_kprobe_section("kretprobe/do_unlinkat"));
        assert!(!is_kprobe_section("tp_btf/sched_switch"));
    }
}
