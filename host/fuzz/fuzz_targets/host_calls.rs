//! Sequences of the WIT host calls with arbitrary arguments, driven
//! against the real host implementation and kernel (run as root).
//!
//! Each input is read as a list of calls on the `bpf-object`, `bpf-map`,
//! `program`, `link` and `buffer` resources, made on the `BpfCtxView` a
//! component's calls reach. The resources are the ones earlier calls
//! returned (often), ones already dropped (stale), or any handle at all
//! (forged, possibly of another type); the arguments are the test
//! fixtures' names and sizes or arbitrary bytes, counts and huge lengths.
//!
//! What must hold:
//! * no panic, whatever the call;
//! * a call on live handles of the right type answers with a value or a
//!   typed error, never a trap (wasmtime turns a trap into the guest's
//!   end, which only a bad handle deserves);
//! * once the resource table is dropped, as when a guest's store is, the
//!   process holds no BPF program, map or link fd it did not hold before.

#![no_main]

#[path = "common.rs"]
mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use common::{bpf_fds, Choices};
use libfuzzer_sys::fuzz_target;
use wasm_bpf_runtime::bindings::bpf_map::{HostBpfMap, LookupFlags, SmallBytes, UpdateFlags};
use wasm_bpf_runtime::bindings::buffer::{BufferOptions, HostBuffer};
use wasm_bpf_runtime::bindings::libbpf_log::{Host as _, Level};
use wasm_bpf_runtime::bindings::link::HostLink;
use wasm_bpf_runtime::bindings::object::{HostBpfObject, OpenOptions};
use wasm_bpf_runtime::bindings::types::{AttachType, MapType, ProgType};
use wasm_bpf_runtime::bindings::program::{
    AttachTarget, Binary, HostProgram, KprobeTarget, PerfEventKind, PerfEventTarget, SampleRate,
    TcDirection, TcTarget, TracepointTarget, UprobeTarget, UsdtTarget, XdpMode, XdpTarget,
};
use wasm_bpf_runtime::bpf::grants::Grants;
use wasm_bpf_runtime::bpf::policy::Policy;
use wasm_bpf_runtime::interrupt::Stop;
use wasm_bpf_runtime::{BpfCtx, BpfCtxView, BpfError, BpfResult};
use wasmtime::component::{Resource, ResourceTable};

/// The host-api test guest's objects (built by `make build`): every map
/// kind, tracepoint, raw_tp, iterator, XDP and cgroup programs, a
/// verifier rejection, a dangerous helper and a pinned map.
const OBJECTS: &[&str] = &["api", "kinds", "rejected", "refused", "pinned"];

fn objects() -> &'static [Vec<u8>] {
    static ELF: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    ELF.get_or_init(|| {
        let dir = fixture_dir();
        OBJECTS
            .iter()
            .map(|name| {
                let path = dir.join(format!("{name}.bpf.o"));
                std::fs::read(&path)
                    .unwrap_or_else(|e| panic!("{}: {e} (run `make build` first)", path.display()))
            })
            .collect()
    })
}

/// The newest build directory of the host-api guest's objects.
fn fixture_dir() -> PathBuf {
    let build = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../target/wasm32-wasip2/guest/build"
    ));
    std::fs::read_dir(&build)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("host-api-"))
        .map(|e| e.path().join("out"))
        .filter(|out| out.join("kinds.bpf.o").exists())
        .max_by_key(|out| {
            std::fs::metadata(out.join("kinds.bpf.o"))
                .and_then(|m| m.modified())
                .ok()
        })
        .unwrap_or_else(|| {
            panic!(
                "no host-api objects under {} (run `make build`)",
                build.display()
            )
        })
}

/// Names the fixtures use, and some they do not.
const NAMES: &[&str] = &[
    "counts",
    "big",
    "ring",
    "perf",
    "per_cpu",
    "per_cpu_hash",
    "queue",
    "stack",
    "bloom",
    "routes",
    "table",
    "inner",
    "outer",
    "stacks",
    "on_write",
    "pass",
    "on_getpid",
    "dump_task",
    "marker_len",
    "marker_token",
    "seen",
    "probe",
    "_marker",
    ".bss",
    ".data",
    ".rodata",
    "nope",
    "",
];

impl Choices<'_> {
    fn flag(&mut self) -> bool {
        self.byte() & 1 == 1
    }

    fn name(&mut self) -> String {
        match self.byte() % 16 {
            0 => {
                let len = usize::from(self.byte() % 32);
                String::from_utf8_lossy(&self.bytes_of(len)).into_owned()
            }
            _ => NAMES[usize::from(self.byte()) % NAMES.len()].to_string(),
        }
    }

    fn bytes_of(&mut self, len: usize) -> Vec<u8> {
        let mut out = vec![0u8; len];
        for b in out.iter_mut().take(64) {
            *b = self.byte();
        }
        out
    }

    /// Keys and values: the fixtures' sizes, a few bytes, a huge length.
    fn bytes(&mut self) -> Vec<u8> {
        let len = match self.byte() % 8 {
            0 => 0,
            1 => 4,
            2 => 8,
            3 => 16,
            4 => usize::from(self.byte()),
            5 => 4096 + usize::from(self.byte()),
            6 => 1 << (10 + self.byte() % 12),
            _ => 8,
        };
        self.bytes_of(len)
    }

    fn string(&mut self) -> String {
        match self.byte() % 4 {
            0 => String::new(),
            1 => "lo".into(),
            2 => "/proc/self/exe".into(),
            _ => self.name(),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Kind {
    Object,
    Map,
    Program,
    Link,
    Buffer,
}

/// What the sequence has made: every handle it got, and which are live.
struct Handles {
    got: Vec<(u32, Kind)>,
    live: BTreeMap<u32, Kind>,
}

impl Handles {
    /// A handle of `kind`: one got earlier (live or dropped) or any.
    fn pick(&self, c: &mut Choices<'_>, kind: Kind) -> (u32, bool) {
        let ours: Vec<u32> = self
            .got
            .iter()
            .filter(|(_, k)| *k == kind)
            .map(|(rep, _)| *rep)
            .collect();
        let rep = match c.byte() % 8 {
            0 => c.u32() % 64,
            1 => c.u32(),
            _ if ours.is_empty() => c.u32() % 64,
            _ => ours[usize::from(c.byte()) % ours.len()],
        };
        (rep, self.live.get(&rep) == Some(&kind))
    }

    fn made<T: 'static>(&mut self, resource: &Resource<T>, kind: Kind) {
        self.got.push((resource.rep(), kind));
        self.live.insert(resource.rep(), kind);
    }
}

fn borrow<T: 'static>(rep: u32) -> Resource<T> {
    Resource::new_borrow(rep)
}

/// The outcome of one call: fine, or a trap, which only a bad handle may
/// cause.
fn settle<T>(what: &str, valid: bool, result: BpfResult<T>) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(BpfError::Guest(_)) => None,
        Err(BpfError::Trap(trap)) => {
            assert!(!valid, "{what} on live handles trapped: {trap:?}");
            None
        }
    }
}

fn settle_plain<T>(what: &str, valid: bool, result: wasmtime::Result<T>) -> Option<T> {
    settle(what, valid, result.map_err(BpfError::Trap))
}

/// A `small-bytes` of any claimed length (over 32 too) and words.
fn small(c: &mut Choices<'_>) -> SmallBytes {
    let words = c.bytes_of(32);
    let word = |i: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&words[i * 8..i * 8 + 8]);
        u64::from_ne_bytes(w)
    };
    // The fixtures' sizes mostly, any length at most 32, or past it.
    let len = match c.byte() % 4 {
        0 => 4,
        1 => 8,
        2 => c.byte() % 33,
        _ => c.byte(),
    };
    SmallBytes {
        len,
        w0: word(0),
        w1: word(1),
        w2: word(2),
        w3: word(3),
    }
}

fn update_flags(c: &mut Choices<'_>) -> UpdateFlags {
    let bits = c.byte();
    let mut flags = UpdateFlags::empty();
    if bits & 1 != 0 {
        flags |= UpdateFlags::NO_EXIST;
    }
    if bits & 2 != 0 {
        flags |= UpdateFlags::EXIST;
    }
    flags
}

fn target(c: &mut Choices<'_>) -> AttachTarget {
    let binary = |c: &mut Choices<'_>| match c.byte() % 3 {
        0 => Binary::Process(c.u32() as i32),
        _ => Binary::Path(c.string()),
    };
    match c.byte() % 11 {
        0 => AttachTarget::Tracepoint(TracepointTarget {
            category: if c.flag() {
                "syscalls".into()
            } else {
                c.string()
            },
            name: if c.flag() {
                "sys_enter_getpid".into()
            } else {
                c.string()
            },
        }),
        1 => AttachTarget::RawTracepoint(if c.flag() {
            "sys_enter".into()
        } else {
            c.string()
        }),
        2 => AttachTarget::Kprobe(KprobeTarget {
            function: c.string(),
            retprobe: c.flag(),
        }),
        3 => AttachTarget::Uprobe(UprobeTarget {
            binary: binary(c),
            function: c.flag().then(|| c.string()),
            offset: c.u32().into(),
            pid: c.flag().then(|| c.u32() as i32),
            retprobe: c.flag(),
        }),
        4 => AttachTarget::Usdt(UsdtTarget {
            binary: binary(c),
            provider: c.string(),
            name: c.string(),
            pid: c.flag().then(|| c.u32() as i32),
        }),
        5 => AttachTarget::PerfEvent(PerfEventTarget {
            event: [
                PerfEventKind::CpuClock,
                PerfEventKind::TaskClock,
                PerfEventKind::CpuCycles,
                PerfEventKind::Instructions,
            ][usize::from(c.byte() % 4)],
            rate: if c.flag() {
                SampleRate::Frequency(c.u32().into())
            } else {
                SampleRate::Period(c.u32().into())
            },
            cpu: c.flag().then(|| c.u32() % 4),
            pid: c.flag().then(|| c.u32() as i32),
        }),
        6 => AttachTarget::Xdp(XdpTarget {
            interface: c.string(),
            mode: [
                XdpMode::Default,
                XdpMode::Generic,
                XdpMode::Native,
                XdpMode::Offload,
            ][usize::from(c.byte() % 4)],
        }),
        7 => AttachTarget::Tc(TcTarget {
            interface: c.string(),
            direction: if c.flag() {
                TcDirection::Ingress
            } else {
                TcDirection::Egress
            },
        }),
        8 => AttachTarget::Cgroup(c.string()),
        9 => AttachTarget::Socket(c.string()),
        _ => AttachTarget::Iterator,
    }
}

/// Makes up to 64 calls the input chooses.
fn calls(view: &mut BpfCtxView<'_>, c: &mut Choices<'_>) {
    let mut h = Handles {
        got: Vec::new(),
        live: BTreeMap::new(),
    };
    for _ in 0..64 {
        if c.0.is_empty() {
            break;
        }
        match c.byte() % 26 {
            0 => {
                let elf = match c.byte() % 8 {
                    0 => {
                        let len = c.u32() as usize;
                        c.bytes_of(len % 8192)
                    }
                    1 => {
                        // A real object cut short or with a byte changed.
                        let mut elf = objects()[usize::from(c.byte()) % OBJECTS.len()].clone();
                        let at = c.u32() as usize % elf.len();
                        if c.flag() {
                            elf.truncate(at);
                        } else {
                            elf[at] ^= c.byte() | 1;
                        }
                        elf
                    }
                    n => objects()[usize::from(n) % OBJECTS.len()].clone(),
                };
                let name = c.flag().then(|| c.name());
                let opened = if c.flag() {
                    // Kernel BTF paths the grants hold or not, files that
                    // are BTF or not.
                    let kernel_btf = Some(match c.byte() % 3 {
                        0 => "/sys/kernel/btf/vmlinux".to_string(),
                        1 => "/proc/self/exe".to_string(),
                        _ => c.string(),
                    });
                    HostBpfObject::open_with(view, elf, OpenOptions { name, kernel_btf })
                } else {
                    HostBpfObject::open(view, elf, name)
                };
                if let Some(o) = settle("open", true, opened) {
                    let name = c.name();
                    let layout = HostBpfObject::record_layout(view, borrow(o.rep()), name);
                    settle("record-layout", true, layout);
                    let name = c.name();
                    let types = HostBpfObject::map_types(view, borrow(o.rep()), name);
                    settle("map-types", true, types);
                    h.made(&o, Kind::Object);
                }
            }
            1 => {
                let (o, valid) = h.pick(c, Kind::Object);
                settle("load", valid, HostBpfObject::load(view, borrow(o)));
            }
            2 => {
                let (o, valid) = h.pick(c, Kind::Object);
                let (name, value) = (c.name(), c.bytes());
                settle(
                    "set-global",
                    valid,
                    HostBpfObject::set_global(view, borrow(o), name, value),
                );
            }
            3 => {
                let (o, valid) = h.pick(c, Kind::Object);
                let name = c.name();
                settle(
                    "get-global",
                    valid,
                    HostBpfObject::get_global(view, borrow(o), name),
                );
            }
            4 => {
                let (o, valid) = h.pick(c, Kind::Object);
                for link in settle(
                    "attach-all",
                    valid,
                    HostBpfObject::attach_all(view, borrow(o)),
                )
                .into_iter()
                .flatten()
                {
                    h.made(&link, Kind::Link);
                }
            }
            5 => {
                let (o, valid) = h.pick(c, Kind::Object);
                let name = c.name();
                if let Some(m) = settle(
                    "find-map",
                    valid,
                    HostBpfObject::find_map(view, borrow(o), name),
                ) {
                    h.made(&m, Kind::Map);
                }
            }
            6 => {
                let (o, valid) = h.pick(c, Kind::Object);
                let name = c.name();
                if let Some(p) = settle(
                    "find-program",
                    valid,
                    HostBpfObject::find_program(view, borrow(o), name),
                ) {
                    h.made(&p, Kind::Program);
                }
            }
            7 => {
                let (o, valid) = h.pick(c, Kind::Object);
                let o = borrow::<wasm_bpf_runtime::bpf::object::BpfObject>(o);
                settle_plain(
                    "object queries",
                    valid,
                    HostBpfObject::maps(view, borrow(o.rep()))
                        .and_then(|_| HostBpfObject::programs(view, borrow(o.rep())))
                        .and_then(|_| HostBpfObject::phase(view, borrow(o.rep())))
                        .and_then(|_| HostBpfObject::name(view, o)),
                );
            }
            8 => {
                let (m, valid) = h.pick(c, Kind::Map);
                // Sizes the host refuses (over 1 GiB) or small ones: a map
                // just under the cap is legal and takes the kernel seconds
                // to allocate, which says nothing about the host.
                let max = if c.flag() {
                    c.u32() | 0x8000_0000
                } else {
                    c.u32() % 65536
                };
                settle_plain("map info", valid, HostBpfMap::info(view, borrow(m)));
                settle(
                    "set-max-entries",
                    valid,
                    HostBpfMap::set_max_entries(view, borrow(m), max),
                );
            }
            9 => {
                let (m, valid) = h.pick(c, Kind::Map);
                let key = c.bytes();
                let flags = if c.flag() {
                    LookupFlags::LOCK
                } else {
                    LookupFlags::empty()
                };
                settle(
                    "lookup",
                    valid,
                    HostBpfMap::lookup(view, borrow(m), key, flags),
                );
                let key = c.bytes();
                settle(
                    "lookup-and-delete",
                    valid,
                    HostBpfMap::lookup_and_delete(view, borrow(m), key),
                );
                let key = small(c);
                settle(
                    "lookup-small",
                    valid,
                    HostBpfMap::lookup_small(view, borrow(m), key, flags),
                );
            }
            10 => {
                let (m, valid) = h.pick(c, Kind::Map);
                let (key, value, flags) = (c.bytes(), c.bytes(), update_flags(c));
                settle(
                    "update",
                    valid,
                    HostBpfMap::update(view, borrow(m), key, value, flags),
                );
                let (key, value) = (small(c), small(c));
                settle(
                    "update-small",
                    valid,
                    HostBpfMap::update_small(view, borrow(m), key, value, flags),
                );
            }
            11 => {
                let (m, valid) = h.pick(c, Kind::Map);
                let key = c.bytes();
                settle("delete", valid, HostBpfMap::delete(view, borrow(m), key));
                let key = small(c);
                settle(
                    "delete-small",
                    valid,
                    HostBpfMap::delete_small(view, borrow(m), key),
                );
                let key = c.flag().then(|| c.bytes());
                settle(
                    "next-key",
                    valid,
                    HostBpfMap::next_key(view, borrow(m), key),
                );
                settle("keys", valid, HostBpfMap::keys(view, borrow(m)));
            }
            12 => {
                let (m, valid) = h.pick(c, Kind::Map);
                if c.flag() {
                    settle(
                        "lookup-batch",
                        valid,
                        HostBpfMap::lookup_batch(view, borrow(m)),
                    );
                } else {
                    settle(
                        "lookup-and-delete-batch",
                        valid,
                        HostBpfMap::lookup_and_delete_batch(view, borrow(m)),
                    );
                }
            }
            13 => {
                let (m, valid) = h.pick(c, Kind::Map);
                let count = if c.flag() { c.u32() } else { c.u32() % 8 };
                let (keys, values, flags) = (c.bytes(), c.bytes(), update_flags(c));
                settle(
                    "update-batch",
                    valid,
                    HostBpfMap::update_batch(view, borrow(m), count, keys, values, flags),
                );
                let count = if c.flag() { c.u32() } else { c.u32() % 8 };
                let keys = c.bytes();
                settle(
                    "delete-batch",
                    valid,
                    HostBpfMap::delete_batch(view, borrow(m), count, keys),
                );
            }
            14 => {
                let (m, valid) = h.pick(c, Kind::Map);
                let (value, flags) = (c.bytes(), update_flags(c));
                settle(
                    "push",
                    valid,
                    HostBpfMap::push(view, borrow(m), value, flags),
                );
                settle("pop", valid, HostBpfMap::pop(view, borrow(m)));
                settle("peek", valid, HostBpfMap::peek(view, borrow(m)));
                let value = c.bytes();
                settle(
                    "contains",
                    valid,
                    HostBpfMap::contains(view, borrow(m), value),
                );
            }
            15 => {
                let (m, valid) = h.pick(c, Kind::Map);
                let key = c.bytes();
                if let Some(Some(inner)) = settle(
                    "inner-map",
                    valid,
                    HostBpfMap::inner_map(view, borrow(m), key),
                ) {
                    h.made(&inner, Kind::Map);
                }
            }
            16 => {
                let (p, valid) = h.pick(c, Kind::Program);
                let autoload = c.flag();
                settle_plain("program info", valid, HostProgram::info(view, borrow(p)));
                settle(
                    "set-autoload",
                    valid,
                    HostProgram::set_autoload(view, borrow(p), autoload),
                );
            }
            17 => {
                let (p, valid) = h.pick(c, Kind::Program);
                let link = if c.flag() {
                    HostProgram::attach(view, borrow(p))
                } else {
                    let target = target(c);
                    HostProgram::attach_to(view, borrow(p), target)
                };
                if let Some(link) = settle("attach", valid, link) {
                    h.made(&link, Kind::Link);
                }
            }
            18 => {
                let (l, valid) = h.pick(c, Kind::Link);
                settle_plain(
                    "link queries",
                    valid,
                    HostLink::is_attached(view, borrow(l))
                        .and_then(|_| HostLink::program_name(view, borrow(l))),
                );
                if c.flag() {
                    settle("read-iter", valid, HostLink::read_iter(view, borrow(l)));
                } else {
                    settle("detach", valid, HostLink::detach(view, borrow(l)));
                }
            }
            19 => {
                let (m, valid) = h.pick(c, Kind::Map);
                let options = BufferOptions {
                    perf_pages_per_cpu: c.flag().then(|| c.u32() % 4096),
                };
                if let Some(b) = settle(
                    "buffer open",
                    valid,
                    HostBuffer::open(view, borrow(m), options),
                ) {
                    h.made(&b, Kind::Buffer);
                }
            }
            20 => {
                let (b, valid) = h.pick(c, Kind::Buffer);
                // Never `none`: that waits for records for as long as the
                // guest runs.
                let (timeout, max) = (Some(c.u32() % 3), c.u32());
                settle_plain("buffer kind", valid, HostBuffer::kind(view, borrow(b)));
                settle(
                    "poll",
                    valid,
                    HostBuffer::poll(view, borrow(b), timeout, max),
                );
            }
            21 => {
                let level = match c.byte() % 4 {
                    0 => None,
                    1 => Some(Level::Debug),
                    2 => Some(Level::Info),
                    _ => Some(Level::Warn),
                };
                settle_plain("set-level", true, view.set_level(level));
            }
            // Drops, which a guest's resource destructors make.
            22 | 23 => {
                let kind = [
                    Kind::Object,
                    Kind::Map,
                    Kind::Program,
                    Kind::Link,
                    Kind::Buffer,
                ][usize::from(c.byte() % 5)];
                let (rep, valid) = h.pick(c, kind);
                let dropped = match kind {
                    Kind::Object => HostBpfObject::drop(view, Resource::new_own(rep)),
                    Kind::Map => HostBpfMap::drop(view, Resource::new_own(rep)),
                    Kind::Program => HostProgram::drop(view, Resource::new_own(rep)),
                    Kind::Link => HostLink::drop(view, Resource::new_own(rep)),
                    Kind::Buffer => HostBuffer::drop(view, Resource::new_own(rep)),
                };
                settle_plain("drop", valid, dropped);
                // The table removes an entry before checking its type, so
                // even a drop of the wrong type ends the resource. (A
                // component cannot make one: its handles are typed.)
                h.live.remove(&rep);
            }
            // The settings of an opened map, with any values: load checks
            // what they make (policy, size caps) as it checks declarations.
            24 => {
                let (m, valid) = h.pick(c, Kind::Map);
                let m = || borrow(m);
                let result = match c.byte() % 9 {
                    0 => HostBpfMap::set_value_size(view, m(), c.u32()),
                    1 => HostBpfMap::set_key_size(view, m(), c.u32()),
                    2 => HostBpfMap::set_map_type(view, m(), MapType::Other(c.u32() % 40)),
                    3 => HostBpfMap::set_map_flags(view, m(), c.u32()),
                    4 => HostBpfMap::set_map_extra(view, m(), u64::from(c.u32())),
                    5 => HostBpfMap::set_numa_node(view, m(), c.u32()),
                    6 => HostBpfMap::set_initial_value(view, m(), c.bytes()),
                    7 => HostBpfMap::set_autocreate(view, m(), c.flag()),
                    _ => {
                        let path = match c.byte() % 3 {
                            0 => "/sys/fs/bpf/../tmp/x".to_string(),
                            1 => format!("/sys/fs/bpf/{}", c.name()),
                            _ => c.string(),
                        };
                        HostBpfMap::set_pin_path(view, m(), path)
                    }
                };
                settle("map setting", valid, result);
                settle("initial-value", valid, HostBpfMap::initial_value(view, m()));
            }
            // The settings of an opened program; an attach target may name
            // another program handle, live or not.
            25 => {
                let (p, valid) = h.pick(c, Kind::Program);
                let result = match c.byte() % 5 {
                    0 => {
                        let function = c.flag().then(|| c.name());
                        let (other, other_valid) = h.pick(c, Kind::Program);
                        let target = c.flag().then(|| borrow(other));
                        let valid = valid && (target.is_none() || other_valid);
                        settle(
                            "set-attach-target",
                            valid,
                            HostProgram::set_attach_target(view, borrow(p), function, target),
                        );
                        Ok(())
                    }
                    1 => HostProgram::set_prog_type(view, borrow(p), ProgType::Other(c.u32() % 40)),
                    2 => HostProgram::set_expected_attach_type(
                        view,
                        borrow(p),
                        AttachType::Other(c.u32() % 64),
                    ),
                    3 => HostProgram::set_flags(view, borrow(p), c.u32()),
                    _ => HostProgram::set_log_level(view, borrow(p), c.u32() % 8),
                };
                settle("program setting", valid, result);
                settle_plain("flags", valid, HostProgram::flags(view, borrow(p)));
                settle_plain("verifier-log", valid, HostProgram::verifier_log(view, borrow(p)));
            }
            _ => unreachable!(),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let _ = objects();
    let before = bpf_fds();
    let stop = Arc::new(Stop::new().expect("eventfds"));
    let grants = Grants::new(&[], None).expect("no directories to open");
    let mut ctx = BpfCtx::new(stop, grants, Policy::default());
    let mut table = ResourceTable::new();
    calls(
        &mut BpfCtxView {
            ctx: &mut ctx,
            table: &mut table,
        },
        &mut Choices(data),
    );
    drop(table);
    assert_eq!(bpf_fds(), before, "BPF objects left behind");
});
