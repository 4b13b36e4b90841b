//! The `bpf-map` resource: one map of an object, by name.
//!
//! Before `load` a map is only a declaration (its info can be read and its
//! size changed). After `load` the resource opens its own fd to the kernel
//! map, so data operations do not touch the object again.

use std::ffi::OsStr;
use std::os::fd::{AsFd as _, AsRawFd as _};

use libbpf_rs::{AsRawLibbpf as _, MapCore as _, MapFlags, MapHandle, MapType, OpenMapMut};
use wasmtime::component::Resource;

use super::limits::{self, Kind};
use super::object::{lock, not_found, with_loaded, with_opened, ObjectState, SharedObject};
use super::types::{map_type, raw_map_type};
use super::{libbpf_result, BpfCtxView};
use crate::bindings::bpf_map::{Entries, Host, HostBpfMap, LookupFlags, MapInfo, UpdateFlags};
use crate::bindings::types::{ErrorCode, MapType as WitMapType};
use crate::{BpfError, BpfResult};

/// The host side of a guest's `bpf-map`.
pub struct BpfMap {
    /// The object the map belongs to; `None` for an inner map opened by
    /// its kernel id, which has no object.
    object: Option<SharedObject>,
    name: String,
    /// The last info read, which is all that remains if `load` fails.
    info: MapInfo,
    /// The map's fd, opened on first use after `load`.
    handle: Option<MapHandle>,
}

/// The number of value slots of a per-CPU map, 0 for other maps.
fn per_cpu_slots(ty: MapType) -> u32 {
    if ty.is_percpu() {
        libbpf_rs::num_possible_cpus().map_or(1, |n| n as u32)
    } else {
        0
    }
}

fn info(
    name: &OsStr,
    ty: MapType,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
    flags: u32,
) -> MapInfo {
    MapInfo {
        name: name.to_string_lossy().into_owned(),
        map_type: map_type(u32::from(ty)),
        key_size,
        value_size,
        max_entries,
        map_flags: flags,
        per_cpu_slots: per_cpu_slots(ty),
    }
}

/// The length of one value as the kernel's system calls take it: one slot
/// per possible CPU, each rounded up to 8 bytes, for per-CPU maps.
fn value_len(handle: &MapHandle) -> usize {
    let size = handle.value_size() as usize;
    match per_cpu_slots(handle.map_type()) {
        0 => size,
        slots => slots as usize * size.next_multiple_of(8),
    }
}

fn unknown(name: &str, state: &ObjectState) -> BpfError {
    let known: Vec<String> = BpfMap::all(state).into_iter().map(|m| m.name).collect();
    not_found("map", name, &known)
}

/// The error for configuring an inner map, which exists already.
fn inner_map_fixed(what: &str) -> BpfError {
    BpfError::new(
        ErrorCode::WrongPhase,
        format!("{what}: an inner map already exists in the kernel; its settings are fixed"),
    )
}

fn map_flags(mode: UpdateFlags) -> MapFlags {
    let mut flags = MapFlags::ANY;
    if mode.contains(UpdateFlags::NO_EXIST) {
        flags |= MapFlags::NO_EXIST;
    }
    if mode.contains(UpdateFlags::EXIST) {
        flags |= MapFlags::EXIST;
    }
    if mode.contains(UpdateFlags::LOCK) {
        flags |= MapFlags::LOCK;
    }
    flags
}

/// Every entry of a hash or array map, read with the kernel's batch lookup
/// (and removed, with `delete`), up to `cap` bytes of keys and values.
///
/// Beyond `cap`, a lookup fails with `limit-exceeded` and changes nothing;
/// a lookup-and-delete returns the entries that fit and leaves the rest in
/// the map for the next call, so a drain loses nothing either way.
///
/// libbpf-rs 0.27's `lookup_batch` iterator ends at the first batch that
/// comes back short, which a hash map's batches do well before its end
/// (the kernel returns whole buckets), so this drives
/// `bpf_map_lookup_batch` itself.
pub fn lookup_all(map: &MapHandle, name: &str, delete: bool, cap: usize) -> BpfResult<Entries> {
    let (key_size, value_size) = (map.key_size() as usize, value_len(map));
    let batch = if delete {
        libbpf_sys::bpf_map_lookup_and_delete_batch
    } else {
        libbpf_sys::bpf_map_lookup_batch
    };
    let what = if delete {
        "lookup-and-delete-batch"
    } else {
        "lookup-batch"
    };
    let entry = (key_size + value_size).max(1);
    let fits = cap / entry;
    let too_big = || {
        limits::result_too_big(
            &format!("the entries of map `{name}`"),
            cap,
            "walk it with next-key and lookup, or drain it with lookup-and-delete-batch, \
             which returns it in parts",
        )
    };
    // Entries per system call: at most 4096 or 4 MiB, and doubled when a
    // hash map's bucket does not fit (the kernel returns whole buckets).
    let mut per_call = (map.max_entries() as usize)
        .min(4096)
        .min((4 << 20) / entry)
        .max(1);
    // The cursor between calls: a bucket index for hash maps, a key for
    // arrays.
    let mut cursor = vec![0u8; key_size.max(4)];
    let mut next = cursor.clone();
    let opts = libbpf_sys::bpf_map_batch_opts {
        sz: size_of::<libbpf_sys::bpf_map_batch_opts>() as _,
        ..Default::default()
    };
    let (mut keys, mut values, mut total) = (Vec::new(), Vec::new(), 0usize);
    let mut first = true;
    loop {
        let want = per_call.min(fits - total);
        if want == 0 {
            // Full, and the kernel has not said that this was the end.
            if delete && total > 0 {
                break;
            }
            return Err(too_big());
        }
        keys.resize((total + want) * key_size, 0);
        values.resize((total + want) * value_size, 0);
        let mut count = want as u32;
        let in_batch = if first {
            std::ptr::null_mut()
        } else {
            cursor.as_mut_ptr().cast()
        };
        // SAFETY: past `total` entries, `keys` and `values` have room for
        // `want` keys and values, and the cursors for this map's cursor
        // size: what the kernel writes for `count = want`.
        let ret = unsafe {
            batch(
                map.as_fd().as_raw_fd(),
                in_batch,
                next.as_mut_ptr().cast(),
                keys[total * key_size..].as_mut_ptr().cast(),
                values[total * value_size..].as_mut_ptr().cast(),
                &mut count,
                &opts,
            )
        };
        match ret {
            0 => total += (count as usize).min(want),
            // The last batch: `count` is still right.
            e if e == -libc::ENOENT => {
                total += (count as usize).min(want);
                break;
            }
            // A bucket bigger than `want`; nothing was read or removed.
            e if e == -libc::ENOSPC && want == per_call => {
                per_call *= 2;
                continue;
            }
            e if e == -libc::ENOSPC && delete && total > 0 => break,
            e if e == -libc::ENOSPC => return Err(too_big()),
            e => return Err(BpfError::os(what, -e)),
        }
        cursor.copy_from_slice(&next);
        first = false;
    }
    keys.truncate(total * key_size);
    values.truncate(total * value_size);
    Ok(Entries {
        count: total as u32,
        keys,
        values,
    })
}

/// The kernel's batch operations exist for hash and array maps; arrays
/// cannot delete.
fn check_batchable(handle: &MapHandle, delete: bool) -> BpfResult<()> {
    match handle.map_type() {
        MapType::Hash | MapType::LruHash | MapType::PercpuHash | MapType::LruPercpuHash => Ok(()),
        MapType::Array | MapType::PercpuArray if !delete => Ok(()),
        other => Err(BpfError::new(
            ErrorCode::Unsupported,
            format!(
                "this operation needs a hash{} map, not a {other:?} map",
                if delete { "" } else { " or array" }
            ),
        )),
    }
}

/// Checks that `handle` is a map of one of `types`, for `what`.
fn check_type(handle: &MapHandle, what: &str, types: &[MapType]) -> BpfResult<()> {
    let ty = handle.map_type();
    if types.contains(&ty) {
        return Ok(());
    }
    Err(BpfError::new(
        ErrorCode::Unsupported,
        format!("{what} needs a map of type {types:?}, not a {ty:?} map"),
    ))
}

/// What a single-element read does besides reading.
#[derive(Clone, Copy)]
enum Read {
    Lookup(LookupFlags),
    AndDelete,
}

/// Reads one value (`key` is `None` for queues and stacks): `None` if
/// there is none.
/// Reads one value of `handle` (at `key`, or the next of a queue or
/// stack), if it is at most `cap` bytes.
fn read_elem(
    handle: &MapHandle,
    key: Option<&[u8]>,
    read: Read,
    cap: usize,
) -> BpfResult<Option<Vec<u8>>> {
    let len = value_len(handle);
    if len > cap {
        return Err(limits::result_too_big(
            &format!("values of {len} bytes (every CPU's)"),
            cap,
            "raise --max-memory",
        ));
    }
    let mut value = vec![0u8; len];
    let fd = handle.as_fd().as_raw_fd();
    let key = key.map_or(std::ptr::null(), |k| k.as_ptr().cast());
    // SAFETY: `key` is null or the map's key size (checked by callers), and
    // `value` has room for one value as the kernel writes it.
    let ret = unsafe {
        match read {
            Read::Lookup(flags) => libbpf_sys::bpf_map_lookup_elem_flags(
                fd,
                key,
                value.as_mut_ptr().cast(),
                if flags.contains(LookupFlags::LOCK) {
                    libbpf_sys::BPF_F_LOCK.into()
                } else {
                    0
                },
            ),
            Read::AndDelete => {
                libbpf_sys::bpf_map_lookup_and_delete_elem(fd, key, value.as_mut_ptr().cast())
            }
        }
    };
    match ret {
        0 => Ok(Some(value)),
        e if e == -libc::ENOENT => Ok(None),
        e => {
            let what = match read {
                Read::Lookup(_) => "lookup",
                Read::AndDelete => "lookup-and-delete",
            };
            Err(BpfError::os(what, -e))
        }
    }
}

/// The error for a map whose keys or values the kernel reads as file
/// descriptors of the calling process, here the host: a number from the
/// guest would name whatever the host has open under it (another map, a
/// program, a socket, a perf event), not something the guest holds.
fn fd_refused(handle: &MapHandle, what: &str) -> BpfError {
    BpfError::new(
        ErrorCode::Unsupported,
        format!(
            "{what} on map `{}`: a {:?} map's {} file descriptors, which a guest cannot \
             pass; fill it from the BPF side or with the object's initial values",
            handle.name().to_string_lossy(),
            handle.map_type(),
            if is_fd_keyed(handle.map_type()) {
                "keys are"
            } else {
                "values are"
            }
        ),
    )
}

/// Local storage maps, keyed by a socket, inode, task or cgroup fd.
fn is_fd_keyed(ty: MapType) -> bool {
    matches!(
        ty,
        MapType::SkStorage | MapType::InodeStorage | MapType::TaskStorage | MapType::CGrpStorage
    )
}

fn check_fd_keys(handle: &MapHandle) -> BpfResult<()> {
    if is_fd_keyed(handle.map_type()) {
        return Err(fd_refused(handle, "a keyed operation"));
    }
    Ok(())
}

/// Checks that the `values` a guest writes hold no file descriptor: maps
/// of programs, maps, sockets, cgroups, perf events and struct_ops are
/// refused whole; device and CPU maps only when a value names a program
/// (their optional second field, used when greater than 0).
fn check_fd_values(handle: &MapHandle, what: &str, values: &[u8]) -> BpfResult<()> {
    let whole = matches!(
        handle.map_type(),
        MapType::ProgArray
            | MapType::ArrayOfMaps
            | MapType::HashOfMaps
            | MapType::Sockmap
            | MapType::Sockhash
            | MapType::CgroupArray
            | MapType::Xskmap
            | MapType::PerfEventArray
            | MapType::ReuseportSockarray
            | MapType::StructOps
    );
    if whole {
        return Err(fd_refused(handle, what));
    }
    let size = value_len(handle);
    if matches!(
        handle.map_type(),
        MapType::Devmap | MapType::DevmapHash | MapType::Cpumap
    ) && size >= 8
    {
        let names_a_program = values
            .chunks_exact(size)
            .any(|v| i32::from_ne_bytes([v[4], v[5], v[6], v[7]]) > 0);
        if names_a_program {
            return Err(BpfError::new(
                ErrorCode::Unsupported,
                format!(
                    "{what} on map `{}`: a value's program fd (its second field) must be 0; \
                     a guest cannot pass file descriptors",
                    handle.name().to_string_lossy()
                ),
            ));
        }
    }
    Ok(())
}

/// Writes one value (`key` is `None` for queues, stacks and bloom filters).
fn write_elem(
    handle: &MapHandle,
    what: &str,
    key: Option<&[u8]>,
    value: &[u8],
    mode: UpdateFlags,
) -> BpfResult<()> {
    check_len("value", value.len(), value_len(handle))?;
    check_fd_values(handle, what, value)?;
    let key = key.map_or(std::ptr::null(), |k| k.as_ptr().cast());
    // SAFETY: `key` is null or the map's key size (checked by callers), and
    // `value` is one value as the kernel reads it.
    let ret = unsafe {
        libbpf_sys::bpf_map_update_elem(
            handle.as_fd().as_raw_fd(),
            key,
            value.as_ptr().cast(),
            map_flags(mode).bits(),
        )
    };
    match ret {
        0 => Ok(()),
        e => Err(BpfError::os(what, -e)),
    }
}

/// Checks that `len` bytes are `count` packed elements of `size` bytes.
fn check_packed(what: &str, count: u32, len: usize, size: usize) -> BpfResult<()> {
    if len as u64 == u64::from(count) * size as u64 {
        return Ok(());
    }
    Err(BpfError::new(
        ErrorCode::InvalidArgument,
        format!(
            "{count} {what} of {size} bytes take {} bytes, not {len}",
            u64::from(count) * size as u64
        ),
    ))
}

fn check_len(what: &str, len: usize, want: usize) -> BpfResult<()> {
    if len == want {
        return Ok(());
    }
    Err(BpfError::new(
        ErrorCode::InvalidArgument,
        format!("{what} is {len} bytes, but this map's {what}s are {want} bytes"),
    ))
}

impl BpfMap {
    /// Runs `f`, the `set-*` call `what`, on the map while its object is
    /// opened.
    fn configure(
        &self,
        what: &str,
        f: impl FnOnce(&mut OpenMapMut<'_>) -> Result<(), libbpf_rs::Error>,
    ) -> BpfResult<()> {
        let object = self.object.as_ref().ok_or_else(|| inner_map_fixed(what))?;
        with_opened(object, what, |open| {
            let mut map = open
                .maps_mut()
                .find(|m| m.name() == OsStr::new(&self.name))
                .ok_or_else(|| not_found("map", &self.name, &[]))?;
            f(&mut map)
                .map_err(|e| BpfError::libbpf(&format!("{what} of map `{}`", self.name), &e, ""))
        })
    }

    /// Runs `f` on the contents a section of globals starts with.
    fn with_initial_value<R>(&self, f: impl FnOnce(&[u8]) -> BpfResult<R>) -> BpfResult<R> {
        let object = self
            .object
            .as_ref()
            .ok_or_else(|| inner_map_fixed("initial-value"))?;
        with_opened(object, "initial-value", |open| {
            let map = open
                .maps()
                .find(|m| m.name() == OsStr::new(&self.name))
                .ok_or_else(|| not_found("map", &self.name, &[]))?;
            let value = map.initial_value().ok_or_else(|| {
                BpfError::with_errno(
                    ErrorCode::InvalidArgument,
                    libc::EINVAL,
                    format!(
                        "map `{}` has no initial value: only sections of globals \
                         (.data, .rodata, .bss) have one; set other maps' entries \
                         with update after load",
                        self.name
                    ),
                )
            })?;
            f(value)
        })
    }

    /// The map's initial value (a section of globals), at most `cap`
    /// bytes.
    fn initial_value(&self, cap: usize) -> BpfResult<Vec<u8>> {
        self.with_initial_value(|value| {
            if value.len() > cap {
                return Err(limits::result_too_big(
                    &format!(
                        "the {} bytes of map `{}`'s initial value",
                        value.len(),
                        self.name
                    ),
                    cap,
                    "read its globals one by one (get-global), or raise --max-memory",
                ));
            }
            Ok(value.to_vec())
        })
    }

    /// The object the map belongs to, if it has one.
    pub(crate) fn object(&self) -> Option<&SharedObject> {
        self.object.as_ref()
    }

    /// The map called `name` of `object`.
    pub(crate) fn find(object: &SharedObject, name: String) -> BpfResult<Self> {
        let state = lock(object);
        let info = Self::info_of(&state, &name)?;
        drop(state);
        Ok(Self {
            object: Some(object.clone()),
            name,
            info,
            handle: None,
        })
    }

    /// The map with kernel id `id`, as an inner map of a map of maps.
    fn by_id(id: u32) -> BpfResult<Self> {
        let handle = MapHandle::from_map_id(id)
            .map_err(|e| BpfError::libbpf(&format!("opening inner map {id}"), &e, ""))?;
        let flags = handle.info().map_or(0, |i| i.info.map_flags);
        let name = handle.name().to_string_lossy().into_owned();
        let info = info(
            handle.name(),
            handle.map_type(),
            handle.key_size(),
            handle.value_size(),
            handle.max_entries(),
            flags,
        );
        Ok(Self {
            object: None,
            name,
            info,
            handle: Some(handle),
        })
    }

    /// Every map of an object.
    pub(crate) fn all(state: &ObjectState) -> Vec<MapInfo> {
        match state {
            ObjectState::Opened(open) => open
                .maps()
                .map(|m| {
                    info(
                        m.name(),
                        m.map_type(),
                        m.key_size(),
                        m.value_size(),
                        m.max_entries(),
                        m.map_flags(),
                    )
                })
                .collect(),
            ObjectState::Loaded(obj) => obj
                .maps()
                .map(|m| {
                    // SAFETY: the pointer comes from a live map of a loaded
                    // object.
                    let flags = unsafe {
                        libbpf_rs::libbpf_sys::bpf_map__map_flags(m.as_libbpf_object().as_ptr())
                    };
                    info(
                        m.name(),
                        m.map_type(),
                        m.key_size(),
                        m.value_size(),
                        m.max_entries(),
                        flags,
                    )
                })
                .collect(),
            ObjectState::Failed => Vec::new(),
        }
    }

    fn info_of(state: &ObjectState, name: &str) -> BpfResult<MapInfo> {
        Self::all(state)
            .into_iter()
            .find(|m| m.name == name)
            .ok_or_else(|| unknown(name, state))
    }

    /// The map's own fd; opened on first use, which needs a loaded object.
    pub(crate) fn handle(&mut self) -> BpfResult<&MapHandle> {
        let handle = match self.handle.take() {
            Some(handle) => handle,
            None => self.open_handle()?,
        };
        Ok(self.handle.insert(handle))
    }

    fn open_handle(&self) -> BpfResult<MapHandle> {
        let what = format!("using map `{}`", self.name);
        let Some(object) = &self.object else {
            return Err(not_found("map", &self.name, &[]));
        };
        with_loaded(object, &what, |obj| {
            let map = obj
                .maps()
                .find(|m| m.name() == OsStr::new(&self.name))
                .ok_or_else(|| not_found("map", &self.name, &[]))?;
            if !map.autocreate() {
                return Err(BpfError::with_errno(
                    ErrorCode::NotFound,
                    libc::ENOENT,
                    format!("{what}: it was not created (its autocreate was off at load)"),
                ));
            }
            MapHandle::try_from(&map).map_err(|e| BpfError::libbpf(&what, &e, ""))
        })
    }

    /// The map's fd, checking that `key` has the map's key size and is
    /// not a file descriptor.
    fn keyed(&mut self, key: &[u8]) -> BpfResult<&MapHandle> {
        let handle = self.handle()?;
        check_len("key", key.len(), handle.key_size() as usize)?;
        check_fd_keys(handle)?;
        Ok(handle)
    }

    fn lookup(&mut self, key: &[u8], flags: LookupFlags, cap: usize) -> BpfResult<Option<Vec<u8>>> {
        let handle = self.keyed(key)?;
        if handle.map_type() == MapType::BloomFilter {
            return Err(BpfError::new(
                ErrorCode::Unsupported,
                "a bloom filter has no keys to look up; use `contains`",
            ));
        }
        read_elem(handle, Some(key), Read::Lookup(flags), cap)
    }

    fn lookup_and_delete(&mut self, key: &[u8], cap: usize) -> BpfResult<Option<Vec<u8>>> {
        let handle = self.keyed(key)?;
        read_elem(handle, Some(key), Read::AndDelete, cap)
    }

    fn update(&mut self, key: &[u8], value: &[u8], mode: UpdateFlags) -> BpfResult<()> {
        let handle = self.keyed(key)?;
        write_elem(handle, "update", Some(key), value, mode)
    }

    fn push(&mut self, value: &[u8], mode: UpdateFlags) -> BpfResult<()> {
        let handle = self.handle()?;
        check_type(
            handle,
            "push",
            &[MapType::Queue, MapType::Stack, MapType::BloomFilter],
        )?;
        write_elem(handle, "push", None, value, mode)
    }

    fn pop_or_peek(&mut self, read: Read, cap: usize) -> BpfResult<Option<Vec<u8>>> {
        let handle = self.handle()?;
        let what = match read {
            Read::Lookup(_) => "peek",
            Read::AndDelete => "pop",
        };
        check_type(handle, what, &[MapType::Queue, MapType::Stack])?;
        read_elem(handle, None, read, cap)
    }

    fn contains(&mut self, value: &[u8]) -> BpfResult<bool> {
        let handle = self.handle()?;
        check_type(handle, "contains", &[MapType::BloomFilter])?;
        check_len("value", value.len(), value_len(handle))?;
        handle
            .lookup_bloom_filter(value)
            .map_err(|e| BpfError::libbpf("contains", &e, ""))
    }

    fn inner_map(&mut self, key: &[u8]) -> BpfResult<Option<BpfMap>> {
        let handle = self.keyed(key)?;
        check_type(
            handle,
            "inner-map",
            &[MapType::ArrayOfMaps, MapType::HashOfMaps],
        )?;
        let lookup = Read::Lookup(LookupFlags::empty());
        let Some(id) = read_elem(handle, Some(key), lookup, size_of::<u32>())? else {
            return Ok(None);
        };
        // The kernel reads a map of maps' values as 4-byte map ids.
        let id: [u8; 4] = id.as_slice().try_into().map_err(|_| {
            BpfError::new(
                ErrorCode::InvalidArgument,
                format!(
                    "a map of maps' value is a 4-byte id, not {} bytes",
                    id.len()
                ),
            )
        })?;
        BpfMap::by_id(u32::from_ne_bytes(id)).map(Some)
    }

    fn lookup_batch(&mut self, delete: bool, cap: usize) -> BpfResult<Entries> {
        let name = self.name.clone();
        let handle = self.handle()?;
        check_batchable(handle, delete)?;
        lookup_all(handle, &name, delete, cap)
    }

    fn keys(&mut self, cap: usize) -> BpfResult<Vec<Vec<u8>>> {
        let name = self.name.clone();
        let handle = self.handle()?;
        // In the guest, each key is its bytes and a (pointer, length) pair.
        let per_key = handle.key_size() as usize + 8;
        let mut keys = Vec::new();
        for key in handle.keys() {
            if (keys.len() + 1) * per_key > cap {
                return Err(limits::result_too_big(
                    &format!("the keys of map `{name}`"),
                    cap,
                    "walk them with next-key",
                ));
            }
            keys.push(key);
        }
        Ok(keys)
    }

    fn update_batch(
        &mut self,
        count: u32,
        keys: &[u8],
        values: &[u8],
        mode: UpdateFlags,
    ) -> BpfResult<()> {
        let handle = self.handle()?;
        check_batchable(handle, false)?;
        check_packed("keys", count, keys.len(), handle.key_size() as usize)?;
        check_packed("values", count, values.len(), value_len(handle))?;
        check_fd_values(handle, "update-batch", values)?;
        if count == 0 {
            return Ok(());
        }
        handle
            .update_batch(keys, values, count, map_flags(mode), MapFlags::ANY)
            .map_err(|e| BpfError::libbpf("update-batch", &e, ""))
    }

    fn delete_batch(&mut self, count: u32, keys: &[u8]) -> BpfResult<()> {
        let handle = self.handle()?;
        check_batchable(handle, true)?;
        check_packed("keys", count, keys.len(), handle.key_size() as usize)?;
        if count == 0 {
            return Ok(());
        }
        handle
            .delete_batch(keys, count, MapFlags::ANY, MapFlags::ANY)
            .map_err(|e| BpfError::libbpf("delete-batch", &e, ""))
    }

    fn delete(&mut self, key: &[u8]) -> BpfResult<()> {
        let handle = self.keyed(key)?;
        handle
            .delete(key)
            .map_err(|e| BpfError::libbpf("delete", &e, ""))
    }

    fn next_key(&mut self, key: Option<&[u8]>) -> BpfResult<Option<Vec<u8>>> {
        let handle = self.handle()?;
        let key_size = handle.key_size();
        if let Some(key) = key {
            check_len("key", key.len(), key_size as usize)?;
        }
        let mut next = vec![0u8; key_size as usize];
        let key_ptr = key.map_or(std::ptr::null(), |k| k.as_ptr().cast());
        // SAFETY: `key` (if any) and `next` are exactly `key_size` bytes,
        // the size the kernel reads and writes for this map.
        let ret = unsafe {
            libbpf_rs::libbpf_sys::bpf_map_get_next_key(
                handle.as_fd().as_raw_fd(),
                key_ptr,
                next.as_mut_ptr().cast(),
            )
        };
        match ret {
            0 => Ok(Some(next)),
            e if e == -libc::ENOENT => Ok(None),
            e => Err(BpfError::os("next-key", -e)),
        }
    }
}

impl HostBpfMap for BpfCtxView<'_> {
    fn info(&mut self, this: Resource<BpfMap>) -> wasmtime::Result<MapInfo> {
        let map = self.table.get_mut(&this)?;
        if let Some(object) = &map.object {
            if let Ok(info) = BpfMap::info_of(&lock(object), &map.name) {
                map.info = info;
            }
        }
        Ok(map.info.clone())
    }

    fn set_max_entries(&mut self, this: Resource<BpfMap>, max_entries: u32) -> BpfResult<()> {
        self.table
            .get(&this)?
            .configure("set-max-entries", |m| m.set_max_entries(max_entries))
    }

    fn set_value_size(&mut self, this: Resource<BpfMap>, size: u32) -> BpfResult<()> {
        self.table
            .get(&this)?
            .configure("set-value-size", |m| m.set_value_size(size))
    }

    fn set_key_size(&mut self, this: Resource<BpfMap>, size: u32) -> BpfResult<()> {
        self.table
            .get(&this)?
            .configure("set-key-size", |m| m.set_key_size(size))
    }

    fn set_map_type(&mut self, this: Resource<BpfMap>, map_type: WitMapType) -> BpfResult<()> {
        let raw = raw_map_type(map_type);
        self.table.get(&this)?.configure("set-map-type", |m| {
            // SAFETY: the map belongs to an opened object, locked by
            // `configure`.
            let ret = unsafe { libbpf_sys::bpf_map__set_type(m.as_libbpf_object().as_ptr(), raw) };
            libbpf_result(ret)
        })
    }

    fn set_map_flags(&mut self, this: Resource<BpfMap>, flags: u32) -> BpfResult<()> {
        self.table
            .get(&this)?
            .configure("set-map-flags", |m| m.set_map_flags(flags))
    }

    fn set_map_extra(&mut self, this: Resource<BpfMap>, extra: u64) -> BpfResult<()> {
        self.table
            .get(&this)?
            .configure("set-map-extra", |m| m.set_map_extra(extra))
    }

    fn set_numa_node(&mut self, this: Resource<BpfMap>, node: u32) -> BpfResult<()> {
        self.table
            .get(&this)?
            .configure("set-numa-node", |m| m.set_numa_node(node))
    }

    fn set_initial_value(&mut self, this: Resource<BpfMap>, value: Vec<u8>) -> BpfResult<()> {
        let map = self.table.get(&this)?;
        let size = map.with_initial_value(|initial| Ok(initial.len()))?;
        check_len("initial value", value.len(), size)?;
        map.configure("set-initial-value", |m| m.set_initial_value(&value))
    }

    fn initial_value(&mut self, this: Resource<BpfMap>) -> BpfResult<Vec<u8>> {
        let cap = self.ctx.result_bytes;
        self.table.get(&this)?.initial_value(cap)
    }

    fn set_autocreate(&mut self, this: Resource<BpfMap>, autocreate: bool) -> BpfResult<()> {
        self.table
            .get(&this)?
            .configure("set-autocreate", |m| m.set_autocreate(autocreate))
    }

    fn set_pin_path(&mut self, this: Resource<BpfMap>, path: String) -> BpfResult<()> {
        // Where it may pin is checked at `load`, with every other pin.
        self.table
            .get(&this)?
            .configure("set-pin-path", |m| m.set_pin_path(&path))
    }

    fn lookup(
        &mut self,
        this: Resource<BpfMap>,
        key: Vec<u8>,
        flags: LookupFlags,
    ) -> BpfResult<Option<Vec<u8>>> {
        let cap = self.ctx.result_bytes;
        self.table.get_mut(&this)?.lookup(&key, flags, cap)
    }

    fn lookup_and_delete(
        &mut self,
        this: Resource<BpfMap>,
        key: Vec<u8>,
    ) -> BpfResult<Option<Vec<u8>>> {
        let cap = self.ctx.result_bytes;
        self.table.get_mut(&this)?.lookup_and_delete(&key, cap)
    }

    fn update(
        &mut self,
        this: Resource<BpfMap>,
        key: Vec<u8>,
        value: Vec<u8>,
        mode: UpdateFlags,
    ) -> BpfResult<()> {
        self.table.get_mut(&this)?.update(&key, &value, mode)
    }

    fn update_cgroup(
        &mut self,
        this: Resource<BpfMap>,
        key: Vec<u8>,
        path: String,
        mode: UpdateFlags,
    ) -> BpfResult<()> {
        let map = self.table.get_mut(&this)?;
        let handle = map.keyed(&key)?;
        check_type(handle, "update-cgroup", &[MapType::CgroupArray])?;
        let dir = super::attach::open_cgroup(&self.ctx.grants, &path)?;
        // The one fd-valued write a guest may make: the fd is the host's,
        // of a directory its grants hold, and the map only takes cgroups.
        let fd = dir.as_raw_fd();
        // SAFETY: `key` has the map's key size (checked) and `fd` is the
        // map's 4-byte value; the kernel takes its own cgroup reference.
        let ret = unsafe {
            libbpf_sys::bpf_map_update_elem(
                handle.as_fd().as_raw_fd(),
                key.as_ptr().cast(),
                (&fd as *const i32).cast(),
                map_flags(mode).bits(),
            )
        };
        if ret < 0 {
            return Err(BpfError::os(
                &format!(
                    "storing cgroup `{path}` in map `{}`",
                    handle.name().to_string_lossy()
                ),
                -ret,
            ));
        }
        Ok(())
    }

    fn delete(&mut self, this: Resource<BpfMap>, key: Vec<u8>) -> BpfResult<()> {
        self.table.get_mut(&this)?.delete(&key)
    }

    fn next_key(
        &mut self,
        this: Resource<BpfMap>,
        key: Option<Vec<u8>>,
    ) -> BpfResult<Option<Vec<u8>>> {
        self.table.get_mut(&this)?.next_key(key.as_deref())
    }

    fn keys(&mut self, this: Resource<BpfMap>) -> BpfResult<Vec<Vec<u8>>> {
        let cap = self.ctx.result_bytes;
        self.table.get_mut(&this)?.keys(cap)
    }

    fn lookup_batch(&mut self, this: Resource<BpfMap>) -> BpfResult<Entries> {
        let cap = self.ctx.result_bytes;
        self.table.get_mut(&this)?.lookup_batch(false, cap)
    }

    fn lookup_and_delete_batch(&mut self, this: Resource<BpfMap>) -> BpfResult<Entries> {
        let cap = self.ctx.result_bytes;
        self.table.get_mut(&this)?.lookup_batch(true, cap)
    }

    fn update_batch(
        &mut self,
        this: Resource<BpfMap>,
        count: u32,
        keys: Vec<u8>,
        values: Vec<u8>,
        mode: UpdateFlags,
    ) -> BpfResult<()> {
        self.table
            .get_mut(&this)?
            .update_batch(count, &keys, &values, mode)
    }

    fn delete_batch(&mut self, this: Resource<BpfMap>, count: u32, keys: Vec<u8>) -> BpfResult<()> {
        self.table.get_mut(&this)?.delete_batch(count, &keys)
    }

    fn push(&mut self, this: Resource<BpfMap>, value: Vec<u8>, mode: UpdateFlags) -> BpfResult<()> {
        self.table.get_mut(&this)?.push(&value, mode)
    }

    fn pop(&mut self, this: Resource<BpfMap>) -> BpfResult<Option<Vec<u8>>> {
        let cap = self.ctx.result_bytes;
        self.table.get_mut(&this)?.pop_or_peek(Read::AndDelete, cap)
    }

    fn peek(&mut self, this: Resource<BpfMap>) -> BpfResult<Option<Vec<u8>>> {
        let cap = self.ctx.result_bytes;
        self.table
            .get_mut(&this)?
            .pop_or_peek(Read::Lookup(LookupFlags::empty()), cap)
    }

    fn contains(&mut self, this: Resource<BpfMap>, value: Vec<u8>) -> BpfResult<bool> {
        self.table.get_mut(&this)?.contains(&value)
    }

    fn inner_map(
        &mut self,
        this: Resource<BpfMap>,
        key: Vec<u8>,
    ) -> BpfResult<Option<Resource<BpfMap>>> {
        self.ctx.limits.check(Kind::Map, 1)?;
        match self.table.get_mut(&this)?.inner_map(&key)? {
            Some(inner) => self.push_counted(Kind::Map, inner).map(Some),
            None => Ok(None),
        }
    }

    fn drop(&mut self, this: Resource<BpfMap>) -> wasmtime::Result<()> {
        self.delete_counted(Kind::Map, this)
    }
}

impl Host for BpfCtxView<'_> {}
