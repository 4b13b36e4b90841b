//! The `bpf-map` resource: one map of an object, by name.
//!
//! Before `load` a map is only a declaration (its info can be read and its
//! size changed). After `load` the resource opens its own fd to the kernel
//! map, so data operations do not touch the object again.

use std::ffi::OsStr;
use std::os::fd::{AsFd as _, AsRawFd as _};

use libbpf_rs::{AsRawLibbpf as _, MapCore as _, MapFlags, MapHandle, MapType};
use wasmtime::component::Resource;

use super::object::{lock, not_found, with_loaded, with_opened, ObjectState, SharedObject};
use super::types::map_type;
use super::BpfCtxView;
use crate::bindings::bpf_map::{Entries, Host, HostBpfMap, MapInfo, UpdateFlags};
use crate::bindings::types::ErrorCode;
use crate::{BpfError, BpfResult};

/// The host side of a guest's `bpf-map`.
pub struct BpfMap {
    object: SharedObject,
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
    }
}

fn unknown(name: &str, state: &ObjectState) -> BpfError {
    let known: Vec<String> = BpfMap::all(state).into_iter().map(|m| m.name).collect();
    not_found("map", name, &known)
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

/// Every entry of a hash or array map, read with the kernel's batch lookup:
/// the number of entries, then their keys and values, packed.
///
/// libbpf-rs 0.27's `lookup_batch` iterator ends at the first batch that
/// comes back short, which a hash map's batches do well before its end
/// (the kernel returns whole buckets), so this drives
/// `bpf_map_lookup_batch` itself.
pub fn lookup_all(map: &MapHandle) -> std::io::Result<(u32, Vec<u8>, Vec<u8>)> {
    let (key_size, value_size) = (map.key_size() as usize, map.value_size() as usize);
    // Per system call; a hash map's batch must hold its fullest bucket.
    let per_call = map.max_entries().clamp(1, 4096);
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
        keys.resize((total + per_call as usize) * key_size, 0);
        values.resize((total + per_call as usize) * value_size, 0);
        let mut count = per_call;
        let in_batch = if first {
            std::ptr::null_mut()
        } else {
            cursor.as_mut_ptr().cast()
        };
        // SAFETY: past `total` entries, `keys` and `values` have room for
        // `per_call` keys and values, and the cursors for this map's
        // cursor size: what the kernel writes for `count = per_call`.
        let ret = unsafe {
            libbpf_sys::bpf_map_lookup_batch(
                map.as_fd().as_raw_fd(),
                in_batch,
                next.as_mut_ptr().cast(),
                keys[total * key_size..].as_mut_ptr().cast(),
                values[total * value_size..].as_mut_ptr().cast(),
                &mut count,
                &opts,
            )
        };
        total += count.min(per_call) as usize;
        match ret {
            0 => {}
            // The last batch: `count` is still right.
            e if e == -libc::ENOENT => break,
            e => return Err(std::io::Error::from_raw_os_error(-e)),
        }
        cursor.copy_from_slice(&next);
        first = false;
    }
    keys.truncate(total * key_size);
    values.truncate(total * value_size);
    Ok((total as u32, keys, values))
}

/// The kernel's batch operations exist for hash and array maps.
fn check_batchable(handle: &MapHandle) -> BpfResult<()> {
    match handle.map_type() {
        MapType::Hash | MapType::LruHash | MapType::Array => Ok(()),
        other => Err(BpfError::new(
            ErrorCode::Unsupported,
            format!("batch operations need a hash or array map, not a {other:?} map"),
        )),
    }
}

/// Checks that `len` bytes are `count` packed elements of `size` bytes.
fn check_packed(what: &str, count: u32, len: usize, size: u32) -> BpfResult<()> {
    if len as u64 == u64::from(count) * u64::from(size) {
        return Ok(());
    }
    Err(BpfError::new(
        ErrorCode::InvalidArgument,
        format!(
            "{count} {what} of {size} bytes take {} bytes, not {len}",
            u64::from(count) * u64::from(size)
        ),
    ))
}

fn check_len(what: &str, len: usize, want: u32) -> BpfResult<()> {
    if len == want as usize {
        return Ok(());
    }
    Err(BpfError::new(
        ErrorCode::InvalidArgument,
        format!("{what} is {len} bytes, but this map's {what}s are {want} bytes"),
    ))
}

impl BpfMap {
    /// The map called `name` of `object`.
    pub(crate) fn find(object: &SharedObject, name: String) -> BpfResult<Self> {
        let state = lock(object);
        let info = Self::info_of(&state, &name)?;
        drop(state);
        Ok(Self {
            object: object.clone(),
            name,
            info,
            handle: None,
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
        with_loaded(&self.object, &what, |obj| {
            let map = obj
                .maps()
                .find(|m| m.name() == OsStr::new(&self.name))
                .ok_or_else(|| not_found("map", &self.name, &[]))?;
            MapHandle::try_from(&map).map_err(|e| BpfError::libbpf(&what, &e, ""))
        })
    }

    fn lookup(&mut self, key: &[u8]) -> BpfResult<Option<Vec<u8>>> {
        let handle = self.handle()?;
        check_len("key", key.len(), handle.key_size())?;
        handle
            .lookup(key, MapFlags::ANY)
            .map_err(|e| BpfError::libbpf("lookup", &e, ""))
    }

    fn update(&mut self, key: &[u8], value: &[u8], mode: UpdateFlags) -> BpfResult<()> {
        let handle = self.handle()?;
        check_len("key", key.len(), handle.key_size())?;
        check_len("value", value.len(), handle.value_size())?;
        handle
            .update(key, value, map_flags(mode))
            .map_err(|e| BpfError::libbpf("update", &e, ""))
    }

    fn lookup_batch(&mut self) -> BpfResult<Entries> {
        let handle = self.handle()?;
        check_batchable(handle)?;
        let (count, keys, values) = lookup_all(handle).map_err(|e| {
            BpfError::with_errno(
                ErrorCode::Other,
                e.raw_os_error().unwrap_or(0),
                format!("lookup-batch: {e}"),
            )
        })?;
        Ok(Entries {
            count,
            keys,
            values,
        })
    }

    fn update_batch(
        &mut self,
        count: u32,
        keys: &[u8],
        values: &[u8],
        mode: UpdateFlags,
    ) -> BpfResult<()> {
        let handle = self.handle()?;
        check_batchable(handle)?;
        check_packed("keys", count, keys.len(), handle.key_size())?;
        check_packed("values", count, values.len(), handle.value_size())?;
        if count == 0 {
            return Ok(());
        }
        handle
            .update_batch(keys, values, count, map_flags(mode), MapFlags::ANY)
            .map_err(|e| BpfError::libbpf("update-batch", &e, ""))
    }

    fn delete_batch(&mut self, count: u32, keys: &[u8]) -> BpfResult<()> {
        let handle = self.handle()?;
        check_batchable(handle)?;
        check_packed("keys", count, keys.len(), handle.key_size())?;
        if count == 0 {
            return Ok(());
        }
        handle
            .delete_batch(keys, count, MapFlags::ANY, MapFlags::ANY)
            .map_err(|e| BpfError::libbpf("delete-batch", &e, ""))
    }

    fn delete(&mut self, key: &[u8]) -> BpfResult<()> {
        let handle = self.handle()?;
        check_len("key", key.len(), handle.key_size())?;
        handle
            .delete(key)
            .map_err(|e| BpfError::libbpf("delete", &e, ""))
    }

    fn next_key(&mut self, key: Option<&[u8]>) -> BpfResult<Option<Vec<u8>>> {
        let handle = self.handle()?;
        let key_size = handle.key_size();
        if let Some(key) = key {
            check_len("key", key.len(), key_size)?;
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
            e => Err(BpfError::libbpf(
                "next-key",
                &libbpf_rs::Error::from_raw_os_error(-e),
                "",
            )),
        }
    }
}

impl HostBpfMap for BpfCtxView<'_> {
    fn info(&mut self, this: Resource<BpfMap>) -> wasmtime::Result<MapInfo> {
        let map = self.table.get_mut(&this)?;
        if let Ok(info) = BpfMap::info_of(&lock(&map.object), &map.name) {
            map.info = info;
        }
        Ok(map.info.clone())
    }

    fn set_max_entries(&mut self, this: Resource<BpfMap>, max_entries: u32) -> BpfResult<()> {
        let map = self.table.get(&this)?;
        with_opened(&map.object, "set-max-entries", |open| {
            open.maps_mut()
                .find(|m| m.name() == OsStr::new(&map.name))
                .ok_or_else(|| not_found("map", &map.name, &[]))?
                .set_max_entries(max_entries)
                .map_err(|e| BpfError::libbpf("set-max-entries", &e, ""))
        })
    }

    fn lookup(&mut self, this: Resource<BpfMap>, key: Vec<u8>) -> BpfResult<Option<Vec<u8>>> {
        self.table.get_mut(&this)?.lookup(&key)
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
        Ok(self.table.get_mut(&this)?.handle()?.keys().collect())
    }

    fn lookup_batch(&mut self, this: Resource<BpfMap>) -> BpfResult<Entries> {
        self.table.get_mut(&this)?.lookup_batch()
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

    fn drop(&mut self, this: Resource<BpfMap>) -> wasmtime::Result<()> {
        self.table.delete(this)?;
        Ok(())
    }
}

impl Host for BpfCtxView<'_> {}
