//! The `bpf-map` resource: one map of an object, by name.
//!
//! Before `load` a map is only a declaration (its info can be read and its
//! size changed). After `load` the resource opens its own fd to the kernel
//! map, so data operations do not touch the object again.
//!
//! [`host`] holds the interface's functions; [`elem`] the single-element
//! system calls, [`batch`] the batch ones, and [`fd_refusal`] the maps a
//! guest may not write because the kernel reads fds from them.

mod batch;
mod elem;
mod fd_refusal;
mod host;
mod small;

use std::ffi::OsStr;

use std::os::fd::{AsFd as _, AsRawFd as _};

use libbpf_rs::{AsRawLibbpf as _, MapCore as _, MapFlags, MapHandle, MapType, OpenMapMut};

use super::limits;
use super::object::{lock, not_found, with_loaded, with_opened, ObjectState, SharedObject};
use super::types::map_type;
use crate::bindings::bpf_map::{Entries, LookupFlags, MapInfo, SmallBytes, UpdateFlags};
use crate::bindings::types::ErrorCode;
use crate::{BpfError, BpfResult};
pub use batch::lookup_all;
use batch::{check_batchable, check_packed};
use elem::{
    check_len, check_type, map_flags, per_cpu_slots, read_elem, read_into, value_len, write_elem,
    Read,
};

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

impl BpfMap {
    /// Runs `f`, the `set-*` call `what`, on the map while its object is
    /// opened.
    fn configure(
        &self,
        what: &str,
        f: impl FnOnce(&mut OpenMapMut<'_>) -> Result<(), libbpf_rs::Error>,
    ) -> BpfResult<()> {
        self.configure_checked(what, |map| self.libbpf_result(what, f(map)))
    }

    fn libbpf_result(&self, what: &str, result: Result<(), libbpf_rs::Error>) -> BpfResult<()> {
        result.map_err(|e| BpfError::libbpf(&format!("{what} of map `{}`", self.name), &e, ""))
    }

    /// [`Self::configure`] for a change of what libbpf sizes a global
    /// section's host memory by (its type, its max-entries). libbpf maps
    /// a section's memory into the host when the object opens and unmaps
    /// it at close by the size these give then, so a grown section would
    /// unmap host memory past its own even if it is never loaded: refused
    /// here, before the change is made.
    fn configure_shape(
        &self,
        what: &str,
        f: impl FnOnce(&mut OpenMapMut<'_>) -> Result<(), libbpf_rs::Error>,
    ) -> BpfResult<()> {
        self.configure_checked(what, |map| {
            // SAFETY: the map belongs to an opened object, locked by
            // `configure_checked`.
            if unsafe { libbpf_sys::bpf_map__is_internal(map.as_libbpf_object().as_ptr()) } {
                return Err(super::policy::global_section_fixed(&self.name));
            }
            self.libbpf_result(what, f(map))
        })
    }

    fn configure_checked(
        &self,
        what: &str,
        f: impl FnOnce(&mut OpenMapMut<'_>) -> BpfResult<()>,
    ) -> BpfResult<()> {
        let object = self.object.as_ref().ok_or_else(|| inner_map_fixed(what))?;
        with_opened(object, what, |open| {
            let mut map = open
                .maps_mut()
                .find(|m| m.name() == OsStr::new(&self.name))
                .ok_or_else(|| not_found("map", &self.name, &[]))?;
            f(&mut map)
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
        fd_refusal::check_keys(handle)?;
        Ok(handle)
    }

    /// The map, for a lookup of `key`.
    fn lookup_target(&mut self, key: &[u8]) -> BpfResult<&MapHandle> {
        let handle = self.keyed(key)?;
        if handle.map_type() == MapType::BloomFilter {
            return Err(BpfError::new(
                ErrorCode::Unsupported,
                "a bloom filter has no keys to look up; use `contains`",
            ));
        }
        Ok(handle)
    }

    fn lookup(&mut self, key: &[u8], flags: LookupFlags, cap: usize) -> BpfResult<Option<Vec<u8>>> {
        let handle = self.lookup_target(key)?;
        read_elem(handle, Some(key), Read::Lookup(flags), cap)
    }

    /// [`lookup`](Self::lookup) into a `small-bytes`, without allocating.
    fn lookup_small(&mut self, key: &[u8], flags: LookupFlags) -> BpfResult<Option<SmallBytes>> {
        let handle = self.lookup_target(key)?;
        let len = value_len(handle);
        if len > small::MAX {
            return Err(BpfError::new(
                ErrorCode::InvalidArgument,
                format!(
                    "map `{}` has values of {len} bytes, more than lookup-small's {}; use lookup",
                    self.name,
                    small::MAX
                ),
            ));
        }
        let mut value = [0u8; small::MAX];
        let found = read_into(handle, Some(key), Read::Lookup(flags), &mut value[..len])?;
        Ok(found.then(|| small::to_wit(value, len)))
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
        fd_refusal::check_values(handle, "update-batch", values)?;
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
