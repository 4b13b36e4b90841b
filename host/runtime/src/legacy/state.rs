//! What a legacy module holds, by the integer handles of the original ABI
//! (object handles, map "fds"), over resources of the WIT host functions.
//!
//! Results follow the original runtime: 0 or a negative Linux errno, an
//! object handle of 0 when loading failed. A guest-visible failure is
//! also logged, since a legacy module gets nothing but the number.

use std::collections::BTreeMap;

use wasmtime::component::Resource;
use wasmtime::Result;

use crate::bindings::bpf_map::{HostBpfMap, LookupFlags, UpdateFlags};
use crate::bindings::buffer::{BufferOptions, HostBuffer};
use crate::bindings::link::HostLink;
use crate::bindings::object::HostBpfObject;
use crate::bindings::program::{
    AttachTarget, HostProgram, TcDirection, TcTarget, XdpMode, XdpTarget,
};
use crate::bindings::types::ProgType;
use crate::bpf::batch;
use crate::bpf::buffer::BpfBuffer;
use crate::bpf::link::BpfLink;
use crate::bpf::map::BpfMap;
use crate::bpf::object::BpfObject;
use crate::error::errno_of_error;
use crate::{BpfCtxView, BpfError, BpfResult};

/// `bpf(2)` map commands, as the original `wasm_bpf_map_operate` takes them.
pub const BPF_MAP_LOOKUP_ELEM: i32 = 1;
pub const BPF_MAP_UPDATE_ELEM: i32 = 2;
pub const BPF_MAP_DELETE_ELEM: i32 = 3;
pub const BPF_MAP_GET_NEXT_KEY: i32 = 4;

/// The original runtime handed out kernel fds; these only need to be
/// distinct and non-negative.
const FIRST_FD: i32 = 3;

#[derive(Default)]
pub struct Legacy {
    objects: BTreeMap<u64, Object>,
    maps: BTreeMap<i32, Map>,
    next_object: u64,
    next_fd: i32,
    /// Records cut to the module's buffer so far.
    pub truncated: u64,
}

struct Object {
    object: Resource<BpfObject>,
    links: Vec<Resource<BpfLink>>,
}

struct Map {
    object: u64,
    name: String,
    map: Resource<BpfMap>,
    key_size: usize,
    /// Bytes of a value as lookups return it (all slots of a per-CPU map).
    value_size: usize,
    buffer: Option<Buffer>,
}

/// A ring or perf buffer over a map, with what is left of its last batch.
struct Buffer {
    buffer: Resource<BpfBuffer>,
    data: Vec<u8>,
    offset: usize,
    left: u32,
}

fn borrow<T: 'static>(resource: &Resource<T>) -> Resource<T> {
    Resource::new_borrow(resource.rep())
}

/// A guest-visible failure as `-errno` (logged); a trap stays a trap.
fn failed(what: &str, err: BpfError) -> Result<i32> {
    match err {
        // The run's end, which the module answers as the original tools
        // do SIGINT: poll's -EINTR ends their loop.
        BpfError::Guest(e) if e.code == crate::bindings::types::ErrorCode::Stopping => {
            tracing::debug!("{what}: {}", e.message);
            Ok(-errno_of_error(&e))
        }
        BpfError::Guest(e) => {
            tracing::warn!("{what}: {}", e.message);
            Ok(-errno_of_error(&e))
        }
        BpfError::Trap(trap) => Err(trap),
    }
}

/// `Ok(Ok(value))`, or `Ok(Err(-errno))` for a guest-visible failure.
fn check<T>(what: &str, result: BpfResult<T>) -> Result<Result<T, i32>> {
    match result {
        Ok(value) => Ok(Ok(value)),
        Err(e) => failed(what, e).map(Err),
    }
}

impl Legacy {
    /// Opens and loads an object; its handle, or 0.
    pub fn load(&mut self, view: &mut BpfCtxView<'_>, elf: Vec<u8>) -> Result<i64> {
        let object = match check("loading a BPF object", HostBpfObject::open(view, elf, None))? {
            Ok(object) => object,
            Err(_) => return Ok(0),
        };
        if let Err(e) = HostBpfObject::load(view, borrow(&object)) {
            HostBpfObject::drop(view, object)?;
            return failed("loading a BPF object", e).map(|_| 0);
        }
        self.next_object += 1;
        self.objects.insert(
            self.next_object,
            Object {
                object,
                links: Vec::new(),
            },
        );
        Ok(self.next_object as i64)
    }

    /// Detaches and frees an object and everything found through it.
    pub fn close(&mut self, view: &mut BpfCtxView<'_>, handle: u64) -> Result<i32> {
        let Some(object) = self.objects.remove(&handle) else {
            return Ok(-libc::EINVAL);
        };
        let fds: Vec<i32> = self
            .maps
            .iter()
            .filter(|(_, m)| m.object == handle)
            .map(|(fd, _)| *fd)
            .collect();
        for fd in fds {
            if let Some(map) = self.maps.remove(&fd) {
                if let Some(buffer) = map.buffer {
                    HostBuffer::drop(view, buffer.buffer)?;
                }
                HostBpfMap::drop(view, map.map)?;
            }
        }
        for link in object.links {
            HostLink::drop(view, link)?;
        }
        HostBpfObject::drop(view, object.object)?;
        Ok(0)
    }

    /// Attaches program `name`: where its section says, or for network and
    /// cgroup programs to the interface or cgroup `target` names.
    pub fn attach(
        &mut self,
        view: &mut BpfCtxView<'_>,
        handle: u64,
        name: &str,
        target: Option<&str>,
    ) -> Result<i32> {
        let Some(object) = self.objects.get_mut(&handle) else {
            return Ok(-libc::EINVAL);
        };
        let what = format!("attaching program {name}");
        let program = match check(
            &what,
            view.find_program(borrow(&object.object), name.into()),
        )? {
            Ok(program) => program,
            Err(errno) => return Ok(errno),
        };
        let link = match target {
            None => HostProgram::attach(view, borrow(&program)),
            Some(target) => {
                let info = HostProgram::info(view, borrow(&program))?;
                match target_for(&info.prog_type, target) {
                    Some(target) => view.attach_to(borrow(&program), target),
                    None => Err(BpfError::new(
                        crate::bindings::types::ErrorCode::Unsupported,
                        format!(
                            "an attach target ({target:?}) is only understood for XDP, tc, \
                             socket filter and cgroup programs"
                        ),
                    )),
                }
            }
        };
        HostProgram::drop(view, program)?;
        match check(&what, link)? {
            Ok(link) => {
                object.links.push(link);
                Ok(0)
            }
            Err(errno) => Ok(errno),
        }
    }

    /// The fd of map `name` of an object (the same one each time).
    pub fn map_fd(&mut self, view: &mut BpfCtxView<'_>, handle: u64, name: &str) -> Result<i32> {
        if let Some((fd, _)) = self
            .maps
            .iter()
            .find(|(_, m)| m.object == handle && m.name == name)
        {
            return Ok(*fd);
        }
        let Some(object) = self.objects.get(&handle) else {
            return Ok(-libc::EINVAL);
        };
        let what = format!("finding map {name}");
        let map = match check(&what, view.find_map(borrow(&object.object), name.into()))? {
            Ok(map) => map,
            Err(errno) => return Ok(errno),
        };
        let info = HostBpfMap::info(view, borrow(&map))?;
        let value_size = match info.per_cpu_slots {
            0 => info.value_size as usize,
            slots => (info.value_size as usize).next_multiple_of(8) * slots as usize,
        };
        self.next_fd = self.next_fd.max(FIRST_FD - 1) + 1;
        self.maps.insert(
            self.next_fd,
            Map {
                object: handle,
                name: name.into(),
                map,
                key_size: info.key_size as usize,
                value_size,
                buffer: None,
            },
        );
        Ok(self.next_fd)
    }

    /// Key and value sizes of the map behind `fd`.
    pub fn sizes(&self, fd: i32) -> Option<(usize, usize)> {
        self.maps.get(&fd).map(|m| (m.key_size, m.value_size))
    }

    /// One map command on `fd` with the key (and value) already read from
    /// the module; the bytes to write back (a value or the next key).
    pub fn operate(
        &mut self,
        view: &mut BpfCtxView<'_>,
        fd: i32,
        cmd: i32,
        key: Option<Vec<u8>>,
        value: Vec<u8>,
        flags: u64,
    ) -> Result<Result<Option<Vec<u8>>, i32>> {
        let Some(map) = self.maps.get(&fd) else {
            return Ok(Err(-libc::EBADF));
        };
        let this = borrow(&map.map);
        let what = format!("map {} command {cmd}", map.name);
        let not_found = |found: Option<Vec<u8>>| found.map(Some).ok_or(-libc::ENOENT);
        Ok(match cmd {
            BPF_MAP_LOOKUP_ELEM => {
                let options = if flags & u64::from(libbpf_sys::BPF_F_LOCK) != 0 {
                    LookupFlags::LOCK
                } else {
                    LookupFlags::empty()
                };
                let key = key.unwrap_or_default();
                check(&what, view.lookup(this, key, options))?.and_then(not_found)
            }
            BPF_MAP_UPDATE_ELEM => {
                let key = key.unwrap_or_default();
                check(&what, view.update(this, key, value, update_flags(flags)))?.map(|()| None)
            }
            BPF_MAP_DELETE_ELEM => {
                let key = key.unwrap_or_default();
                check(&what, HostBpfMap::delete(view, this, key))?.map(|()| None)
            }
            BPF_MAP_GET_NEXT_KEY => check(&what, view.next_key(this, key))?.and_then(not_found),
            _ => Err(-libc::EINVAL),
        })
    }

    /// The next record of the ring or perf buffer map `fd` (opening the
    /// buffer on first use), waiting up to `timeout_ms` (negative: as long
    /// as it takes) when none is queued; `None` when the wait timed out.
    pub fn next_record(
        &mut self,
        view: &mut BpfCtxView<'_>,
        fd: i32,
        timeout_ms: i32,
    ) -> Result<Result<Option<Vec<u8>>, i32>> {
        let Some(map) = self.maps.get_mut(&fd) else {
            return Ok(Err(-libc::EBADF));
        };
        if map.buffer.is_none() {
            let options = BufferOptions {
                perf_pages_per_cpu: None,
            };
            let what = format!("opening a buffer on map {}", map.name);
            match check(&what, HostBuffer::open(view, borrow(&map.map), options))? {
                Ok(buffer) => {
                    map.buffer = Some(Buffer {
                        buffer,
                        data: Vec::new(),
                        offset: 0,
                        left: 0,
                    })
                }
                Err(errno) => return Ok(Err(errno)),
            }
        }
        let Some(buffer) = map.buffer.as_mut() else {
            return Ok(Err(-libc::EBADF));
        };
        if buffer.left == 0 {
            let timeout = u32::try_from(timeout_ms).ok();
            let what = format!("polling map {}", map.name);
            let batch = match check(
                &what,
                HostBuffer::poll(view, borrow(&buffer.buffer), timeout, 0),
            )? {
                Ok(batch) => batch,
                Err(errno) => return Ok(Err(errno)),
            };
            if batch.lost > 0 {
                tracing::warn!(
                    "map {}: the kernel dropped {} samples",
                    map.name,
                    batch.lost
                );
            }
            buffer.data = batch.data;
            buffer.offset = 0;
            buffer.left = batch.count;
            if buffer.left == 0 {
                return Ok(Ok(None));
            }
        }
        let Some((record, _cpu, next)) = batch::record(&buffer.data, buffer.offset) else {
            // The host wrote the batch; a short one would be its own bug.
            buffer.left = 0;
            return Ok(Ok(None));
        };
        let record = record.to_vec();
        buffer.offset = next;
        buffer.left -= 1;
        Ok(Ok(Some(record)))
    }
}

/// `BPF_ANY`/`BPF_NOEXIST`/`BPF_EXIST` and `BPF_F_LOCK` as update flags.
fn update_flags(flags: u64) -> UpdateFlags {
    let mut mode = UpdateFlags::empty();
    match flags & 3 {
        1 => mode |= UpdateFlags::NO_EXIST,
        2 => mode |= UpdateFlags::EXIST,
        _ => {}
    }
    if flags & u64::from(libbpf_sys::BPF_F_LOCK) != 0 {
        mode |= UpdateFlags::LOCK;
    }
    mode
}

/// What a target string names for a program of this type.
fn target_for(prog_type: &ProgType, target: &str) -> Option<AttachTarget> {
    Some(match prog_type {
        ProgType::Xdp => AttachTarget::Xdp(XdpTarget {
            interface: target.into(),
            mode: XdpMode::Default,
        }),
        ProgType::SchedCls => AttachTarget::Tc(TcTarget {
            interface: target.into(),
            direction: TcDirection::Ingress,
        }),
        ProgType::SocketFilter => AttachTarget::Socket(target.into()),
        ProgType::CgroupSkb
        | ProgType::CgroupSock
        | ProgType::CgroupSockAddr
        | ProgType::CgroupSockopt
        | ProgType::CgroupSysctl
        | ProgType::CgroupDevice
        | ProgType::SockOps => AttachTarget::Cgroup(target.into()),
        _ => return None,
    })
}
