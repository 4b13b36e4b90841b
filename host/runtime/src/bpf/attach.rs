//! Attaching a loaded program to a typed target: every target names a
//! kernel object (a tracepoint, an interface, a function); paths the guest
//! names are resolved through its grants, never opened as given.

use libbpf_rs::{IterOpts, ProgramMut, ProgramType, TracepointCategory, UprobeOpts};
use rustix::fs::{FileType, Mode, OFlags};
use std::ffi::CString;
use std::fs::File;
use std::os::fd::{AsFd as _, AsRawFd as _, FromRawFd as _, IntoRawFd as _, OwnedFd};

use super::grants::{fd_path, Grants, Opened};
use super::link::Attachment;
use crate::bindings::program::{
    AttachTarget, Binary, PerfEventKind, PerfEventTarget, SampleRate, TcDirection, XdpMode,
};
use crate::bindings::types::ErrorCode;
use crate::{BpfError, BpfResult};

/// The attachments for `target`; `iterator` tells whether the result is an
/// iterator link.
pub(crate) fn attach(
    prog: &ProgramMut<'_>,
    grants: &Grants,
    target: &AttachTarget,
) -> Result<Vec<Attachment>, Failure> {
    check_type(prog, target)?;
    let one = |link: libbpf_rs::Result<libbpf_rs::Link>| Ok(vec![Attachment::Libbpf(link?)]);
    match target {
        AttachTarget::Tracepoint(tp) => {
            one(prog.attach_tracepoint(TracepointCategory::Custom(tp.category.clone()), &tp.name))
        }
        AttachTarget::RawTracepoint(name) => one(prog.attach_raw_tracepoint(name)),
        AttachTarget::Kprobe(k) => one(prog.attach_kprobe(k.retprobe, &k.function)),
        AttachTarget::Uprobe(u) => {
            let (file, pid) = (binary(grants, &u.binary)?, u.pid.unwrap_or(-1));
            let opts = UprobeOpts {
                retprobe: u.retprobe,
                func_name: u.function.clone(),
                ..Default::default()
            };
            let offset = usize::try_from(u.offset).map_err(|_| invalid("offset too large"))?;
            one(prog.attach_uprobe_with_opts(pid, fd_path(file.fd.as_fd()), offset, opts))
        }
        AttachTarget::Usdt(u) => {
            let file = binary(grants, &u.binary)?;
            let path = fd_path(file.fd.as_fd());
            one(prog.attach_usdt(u.pid.unwrap_or(-1), path, &u.provider, &u.name))
        }
        AttachTarget::PerfEvent(p) => perf_events(prog, p),
        AttachTarget::Xdp(x) => {
            let flags = match x.mode {
                XdpMode::Default => 0,
                XdpMode::Generic => libbpf_sys::XDP_FLAGS_SKB_MODE,
                XdpMode::Native => libbpf_sys::XDP_FLAGS_DRV_MODE,
                XdpMode::Offload => libbpf_sys::XDP_FLAGS_HW_MODE,
            };
            let ifindex = ifindex(&x.interface)?;
            kernel_link(prog, ifindex, libbpf_sys::BPF_XDP, flags)
        }
        AttachTarget::Tc(t) => {
            let ty = match t.direction {
                TcDirection::Ingress => libbpf_sys::BPF_TCX_INGRESS,
                TcDirection::Egress => libbpf_sys::BPF_TCX_EGRESS,
            };
            kernel_link(prog, ifindex(&t.interface)?, ty, 0)
        }
        AttachTarget::Cgroup(path) => {
            let dir = open_cgroup(grants, path)?;
            // The link holds its own reference to the cgroup.
            one(prog.attach_cgroup(dir.as_raw_fd()))
        }
        AttachTarget::Socket(interface) => socket_filter(prog, interface),
        AttachTarget::Iterator => one(prog.attach_iter_with_opts(IterOpts::None)),
    }
}

/// The hook a `uprobe`/`uretprobe`/`usdt` section names after its binary.
pub(crate) enum SectionHook<'a> {
    Uprobe {
        retprobe: bool,
        function: Option<&'a str>,
        offset: usize,
    },
    Usdt {
        provider: &'a str,
        name: &'a str,
    },
    /// `uprobe.multi`, `uretprobe.multi` and `uprobe.session`: every
    /// function matching a pattern.
    UprobeMulti {
        retprobe: bool,
        session: bool,
        pattern: &'a str,
    },
}

/// The hook of a section such as `uprobe/libc.so.6:malloc+0x10`,
/// `uretprobe//bin/bash:readline`, `uprobe/app:0x1234`,
/// `uprobe.multi/libc.so.6:mall*` or `usdt/app:provider:name`, as libbpf
/// reads them.
pub(crate) fn section_hook(section: &str) -> Option<SectionHook<'_>> {
    let (kind, rest) = section.split_once('/')?;
    let (_, spec) = rest.split_once(':')?;
    let number = |s: &str| match s.strip_prefix("0x") {
        Some(hex) => usize::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    };
    match kind {
        "uprobe" | "uprobe.s" | "uretprobe" | "uretprobe.s" => {
            let (function, offset) = match spec.split_once('+') {
                Some((function, offset)) => (Some(function), number(offset)?),
                None if spec.starts_with("0x") => (None, number(spec)?),
                None => (Some(spec), 0),
            };
            Some(SectionHook::Uprobe {
                retprobe: kind.starts_with("uretprobe"),
                function: function.filter(|f| !f.is_empty()),
                offset,
            })
        }
        "usdt" | "usdt.s" => {
            let (provider, name) = spec.split_once(':')?;
            Some(SectionHook::Usdt { provider, name })
        }
        "uprobe.multi" | "uprobe.multi.s" | "uretprobe.multi" | "uretprobe.multi.s"
        | "uprobe.session" | "uprobe.session.s" => Some(SectionHook::UprobeMulti {
            retprobe: kind.starts_with("uretprobe"),
            session: kind.starts_with("uprobe.session"),
            pattern: spec,
        }),
        _ => None,
    }
}

/// Attaches `prog` to the hook its section names in `binary`, the file the
/// policy checked and opened, rather than letting libbpf find the
/// section's binary again by name.
pub(crate) fn section_probe(
    prog: &ProgramMut<'_>,
    binary: &Opened,
) -> Option<Result<Vec<Attachment>, Failure>> {
    let binary = fd_path(binary.fd.as_fd());
    let section = prog.section().to_string_lossy().into_owned();
    let link = match section_hook(&section)? {
        SectionHook::Uprobe {
            retprobe,
            function,
            offset,
        } => {
            let opts = UprobeOpts {
                retprobe,
                func_name: function.map(String::from),
                ..Default::default()
            };
            prog.attach_uprobe_with_opts(-1, binary, offset, opts)
        }
        SectionHook::Usdt { provider, name } => prog.attach_usdt(-1, binary, provider, name),
        SectionHook::UprobeMulti {
            retprobe,
            session,
            pattern,
        } => prog.attach_uprobe_multi(-1, binary, pattern, retprobe, session),
    };
    Some(
        link.map(|l| vec![Attachment::Libbpf(l)])
            .map_err(Failure::from),
    )
}

/// Why an attach failed: a ready guest error, a libbpf error or a failed
/// system call, the latter two still to be explained.
pub(crate) enum Failure {
    Guest(BpfError),
    Libbpf(libbpf_rs::Error),
    Io(String, std::io::Error),
}

impl From<BpfError> for Failure {
    fn from(err: BpfError) -> Self {
        Self::Guest(err)
    }
}

impl From<libbpf_rs::Error> for Failure {
    fn from(err: libbpf_rs::Error) -> Self {
        Self::Libbpf(err)
    }
}

fn invalid(message: impl Into<String>) -> Failure {
    Failure::Guest(BpfError::new(ErrorCode::InvalidArgument, message))
}

/// The program types each kind of target suits; the kernel would refuse
/// the others with a bare EINVAL. No type that [`policy::runs`] says never
/// runs is among them (tested below).
const TARGET_TYPES: &[(&str, &[ProgramType])] = {
    use ProgramType as P;
    &[
        ("tracepoint", &[P::Tracepoint]),
        ("raw-tracepoint", &[P::RawTracepoint]),
        ("kprobe", &[P::Kprobe]),
        ("uprobe", &[P::Kprobe]),
        ("usdt", &[P::Kprobe]),
        ("perf-event", &[P::PerfEvent]),
        ("xdp", &[P::Xdp]),
        ("tc", &[P::SchedCls, P::SchedAct]),
        (
            "cgroup",
            &[
                P::CgroupSkb,
                P::CgroupSock,
                P::CgroupSockAddr,
                P::CgroupSockopt,
                P::CgroupSysctl,
                P::CgroupDevice,
                P::SockOps,
            ],
        ),
        ("socket", &[P::SocketFilter]),
        ("iterator", &[P::Tracing]),
    ]
};

/// The kind of `target`, as [`TARGET_TYPES`] names it.
fn target_kind(target: &AttachTarget) -> &'static str {
    match target {
        AttachTarget::Tracepoint(_) => "tracepoint",
        AttachTarget::RawTracepoint(_) => "raw-tracepoint",
        AttachTarget::Kprobe(_) => "kprobe",
        AttachTarget::Uprobe(_) => "uprobe",
        AttachTarget::Usdt(_) => "usdt",
        AttachTarget::PerfEvent(_) => "perf-event",
        AttachTarget::Xdp(_) => "xdp",
        AttachTarget::Tc(_) => "tc",
        AttachTarget::Cgroup(_) => "cgroup",
        AttachTarget::Socket(_) => "socket",
        AttachTarget::Iterator => "iterator",
    }
}

fn check_type(prog: &ProgramMut<'_>, target: &AttachTarget) -> Result<(), Failure> {
    let kind = target_kind(target);
    let types = TARGET_TYPES
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or(&[][..], |(_, types)| *types);
    let ty = prog.prog_type();
    if types.contains(&ty) {
        return Ok(());
    }
    Err(invalid(format!(
        "program `{}` is a {ty:?} program, which cannot attach to a `{kind}` target \
         (that needs one of {types:?})",
        prog.name().to_string_lossy()
    )))
}

/// The binary to probe, opened: a guest path beneath its grant, or the
/// executable of a process (`--allow-pid`). libbpf and the kernel reach
/// it through the fd ([`fd_path`]), never by its name again.
fn binary(grants: &Grants, binary: &Binary) -> BpfResult<Opened> {
    match binary {
        Binary::Path(path) => grants.open("binary", path)?.regular("binary", path),
        Binary::Process(pid) => {
            let what = format!("the executable of process {pid}");
            let exe = rustix::fs::open(
                format!("/proc/{pid}/exe"),
                OFlags::PATH | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| {
                BpfError::with_errno(
                    ErrorCode::TargetNotFound,
                    e.raw_os_error(),
                    format!("{what}: {e}"),
                )
            })?;
            let kind = rustix::fs::fstat(&exe)
                .map(|stat| FileType::from_raw_mode(stat.st_mode))
                .map_err(|e| BpfError::os(&format!("inspecting {what}"), e.raw_os_error()))?;
            Opened { fd: exe, kind }.regular(&what, &format!("/proc/{pid}/exe"))
        }
    }
}

/// The cgroup v2 directory at the guest path `path`, opened beneath its
/// `--dir` grant for the kernel (an attach, a cgroup-array map). BPF
/// attaches to cgroup v2 directories only; anything else would fail with a
/// bare EBADF.
pub(crate) fn open_cgroup(grants: &Grants, path: &str) -> BpfResult<File> {
    const CGROUP2_SUPER_MAGIC: libc::c_long = 0x6367_7270;
    let failed = |step: &str, e: std::io::Error| {
        BpfError::os(
            &format!("{step} cgroup `{path}`"),
            e.raw_os_error().unwrap_or(libc::EIO),
        )
    };
    let opened = grants.open("cgroup", path)?;
    if opened.kind != FileType::Directory {
        return Err(not_cgroup(path));
    }
    let dir = File::open(fd_path(opened.fd.as_fd())).map_err(|e| failed("opening", e))?;
    // SAFETY: all zeroes is a valid statfs for the kernel to fill.
    let mut fs: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: the fd is open and `fs` is a statfs.
    if unsafe { libc::fstatfs(dir.as_raw_fd(), &mut fs) } != 0 {
        return Err(failed("inspecting", std::io::Error::last_os_error()));
    }
    if fs.f_type != CGROUP2_SUPER_MAGIC {
        return Err(not_cgroup(path));
    }
    Ok(dir)
}

fn not_cgroup(path: &str) -> BpfError {
    BpfError::new(
        ErrorCode::InvalidArgument,
        format!(
            "`{path}` is not a cgroup v2 directory (BPF uses cgroup v2 only; \
             it is often mounted at /sys/fs/cgroup or /sys/fs/cgroup/unified)"
        ),
    )
}

/// The index of a network interface of the host's namespace.
fn ifindex(name: &str) -> BpfResult<u32> {
    let index = CString::new(name)
        // SAFETY: `name` is a valid C string for the call's duration.
        .map(|c| unsafe { libc::if_nametoindex(c.as_ptr()) })
        .unwrap_or(0);
    if index == 0 {
        return Err(BpfError::with_errno(
            ErrorCode::TargetNotFound,
            libc::ENODEV,
            format!("no network interface `{name}`"),
        ));
    }
    Ok(index)
}

/// A kernel link from `BPF_LINK_CREATE`, for hooks libbpf attaches without
/// the flags we need (XDP modes) or at all (tcx, in libbpf-rs 0.27).
fn kernel_link(
    prog: &ProgramMut<'_>,
    target: u32,
    attach_type: u32,
    flags: u32,
) -> Result<Vec<Attachment>, Failure> {
    // SAFETY: the options are plain integers, pointers and unions of them,
    // for which all zeroes is the documented "unset".
    let mut opts: libbpf_sys::bpf_link_create_opts = unsafe { std::mem::zeroed() };
    opts.sz = size_of::<libbpf_sys::bpf_link_create_opts>() as _;
    opts.flags = flags;
    // SAFETY: the program fd is live and `opts` is initialised with its size.
    let fd = unsafe {
        libbpf_sys::bpf_link_create(prog.as_fd().as_raw_fd(), target as i32, attach_type, &opts)
    };
    if fd < 0 {
        return Err(Failure::Io(
            "creating the link".into(),
            std::io::Error::from_raw_os_error(-fd),
        ));
    }
    // SAFETY: the kernel returned a new fd that nothing else owns.
    Ok(vec![Attachment::Fd(unsafe { OwnedFd::from_raw_fd(fd) })])
}

/// The CPUs that are online, from sysfs (`0-3,5`).
fn online_cpus() -> std::io::Result<Vec<u32>> {
    let text = std::fs::read_to_string("/sys/devices/system/cpu/online")?;
    let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "bad CPU list");
    let mut cpus = Vec::new();
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        let (first, last) = part.split_once('-').unwrap_or((part, part));
        let (first, last): (u32, u32) = (
            first.parse().map_err(|_| bad())?,
            last.parse().map_err(|_| bad())?,
        );
        cpus.extend(first..=last);
    }
    Ok(cpus)
}

/// One perf event per CPU of `target`, each running `prog`.
fn perf_events(
    prog: &ProgramMut<'_>,
    target: &PerfEventTarget,
) -> Result<Vec<Attachment>, Failure> {
    let (ty, config) = match target.event {
        PerfEventKind::CpuClock => (
            libbpf_sys::PERF_TYPE_SOFTWARE,
            libbpf_sys::PERF_COUNT_SW_CPU_CLOCK,
        ),
        PerfEventKind::TaskClock => (
            libbpf_sys::PERF_TYPE_SOFTWARE,
            libbpf_sys::PERF_COUNT_SW_TASK_CLOCK,
        ),
        PerfEventKind::CpuCycles => (
            libbpf_sys::PERF_TYPE_HARDWARE,
            libbpf_sys::PERF_COUNT_HW_CPU_CYCLES,
        ),
        PerfEventKind::Instructions => (
            libbpf_sys::PERF_TYPE_HARDWARE,
            libbpf_sys::PERF_COUNT_HW_INSTRUCTIONS,
        ),
    };
    let mut attr = libbpf_sys::perf_event_attr {
        type_: ty,
        size: size_of::<libbpf_sys::perf_event_attr>() as u32,
        config: config.into(),
        ..Default::default()
    };
    match target.rate {
        SampleRate::Frequency(hz) => {
            attr.set_freq(1);
            attr.__bindgen_anon_1.sample_freq = hz;
        }
        SampleRate::Period(period) => attr.__bindgen_anon_1.sample_period = period,
    }
    let cpus = match target.cpu {
        Some(cpu) => vec![cpu],
        None => online_cpus().map_err(|e| Failure::Io("listing online CPUs".into(), e))?,
    };
    let pid = target.pid.unwrap_or(-1);
    let mut links = Vec::with_capacity(cpus.len());
    for cpu in cpus {
        // SAFETY: `attr` is a complete perf_event_attr of its own size.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_perf_event_open,
                &attr as *const libbpf_sys::perf_event_attr,
                pid,
                cpu as libc::c_int,
                -1 as libc::c_int,
                libbpf_sys::PERF_FLAG_FD_CLOEXEC as libc::c_ulong,
            )
        };
        if fd < 0 {
            let err = std::io::Error::last_os_error();
            return Err(Failure::Io(
                format!("opening a perf event on CPU {cpu}"),
                err,
            ));
        }
        // SAFETY: perf_event_open returned a new fd that nothing else owns.
        let event = unsafe { OwnedFd::from_raw_fd(fd as i32) };
        // libbpf's link takes the event's fd over once attached.
        let link = prog.attach_perf_event(event.as_raw_fd())?;
        let _ = event.into_raw_fd();
        links.push(Attachment::Libbpf(link));
    }
    Ok(links)
}

/// A raw packet socket on `interface` with `prog` as its filter.
fn socket_filter(prog: &ProgramMut<'_>, interface: &str) -> Result<Vec<Attachment>, Failure> {
    let ifindex = ifindex(interface)?;
    let protocol = (libc::ETH_P_ALL as u16).to_be();
    let io = |what: &str| Failure::Io(what.to_string(), std::io::Error::last_os_error());
    // SAFETY: plain socket creation.
    let fd = unsafe {
        libc::socket(
            libc::AF_PACKET,
            libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            protocol.into(),
        )
    };
    if fd < 0 {
        return Err(io("opening a raw socket"));
    }
    // SAFETY: `socket` returned a new fd that nothing else owns.
    let socket = unsafe { OwnedFd::from_raw_fd(fd) };
    let prog_fd = prog.as_fd().as_raw_fd();
    // SAFETY: the option is the program's fd, an int, as SO_ATTACH_BPF takes.
    let ret = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ATTACH_BPF,
            (&prog_fd as *const i32).cast(),
            size_of::<i32>() as libc::socklen_t,
        )
    };
    if ret < 0 {
        return Err(io("attaching the filter to the socket"));
    }
    // SAFETY: all zeroes is a valid sockaddr_ll, filled in below.
    let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    addr.sll_family = libc::AF_PACKET as u16;
    addr.sll_protocol = protocol;
    addr.sll_ifindex = ifindex as i32;
    // SAFETY: `addr` is a sockaddr_ll of the size passed.
    let ret = unsafe {
        libc::bind(
            socket.as_raw_fd(),
            (&addr as *const libc::sockaddr_ll).cast(),
            size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    if ret < 0 {
        return Err(io(&format!("binding the socket to `{interface}`")));
    }
    Ok(vec![Attachment::Fd(socket)])
}

/// Whether this kernel can place kprobes: through the kprobe PMU or the
/// legacy tracefs interface.
pub(crate) fn kprobes_available() -> bool {
    [
        "/sys/bus/event_source/devices/kprobe",
        "/sys/kernel/tracing/kprobe_events",
        "/sys/kernel/debug/tracing/kprobe_events",
    ]
    .iter()
    .any(|p| std::path::Path::new(p).exists())
}

#[cfg(test)]
mod tests {
    use super::{section_hook, SectionHook, TARGET_TYPES};
    use crate::bpf::policy::{runs, Runs};

    #[test]
    fn no_target_takes_a_program_type_that_never_runs() {
        for (kind, types) in TARGET_TYPES {
            for ty in *types {
                assert_ne!(runs(*ty), Runs::Never, "{kind} takes {ty:?}");
            }
        }
    }

    #[test]
    fn section_hooks_read_as_libbpf_reads_them() {
        let uprobe = |s| match section_hook(s) {
            Some(SectionHook::Uprobe {
                retprobe,
                function,
                offset,
            }) => Some((retprobe, function, offset)),
            _ => None,
        };
        assert_eq!(
            uprobe("uprobe/libc.so.6:malloc"),
            Some((false, Some("malloc"), 0))
        );
        assert_eq!(
            uprobe("uretprobe.s//bin/bash:readline+0x10"),
            Some((true, Some("readline"), 16))
        );
        assert_eq!(uprobe("uprobe/app:0x1234"), Some((false, None, 0x1234)));
        assert_eq!(uprobe("uretprobe/readline"), None);
        assert!(matches!(
            section_hook("uretprobe.multi.s/libc.so.6:mall*"),
            Some(SectionHook::UprobeMulti {
                retprobe: true,
                session: false,
                pattern: "mall*"
            })
        ));
        assert!(matches!(
            section_hook("usdt/app:prov:probe"),
            Some(SectionHook::Usdt {
                provider: "prov",
                name: "probe"
            })
        ));
    }

    #[test]
    fn online_cpus_lists_this_machine() {
        let cpus = super::online_cpus().unwrap();
        let possible = libbpf_rs::num_possible_cpus().unwrap() as u32;
        assert!(cpus.contains(&0));
        assert!(cpus.iter().all(|&cpu| cpu < possible), "{cpus:?}");
    }
}
