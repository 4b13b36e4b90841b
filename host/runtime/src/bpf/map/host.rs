//! The `bpf-map` interface's host functions: the guest's calls, checked
//! and handed to the map's domain code.

use std::os::fd::{AsFd as _, AsRawFd as _};

use libbpf_rs::{AsRawLibbpf as _, MapCore as _, MapType};
use wasmtime::component::Resource;

use super::elem::{check_len, check_type, map_flags, Read};
use super::small::Small;
use super::BpfMap;
use crate::bindings::bpf_map::{
    Entries, Host, HostBpfMap, LookupFlags, MapInfo, SmallBytes, UpdateFlags,
};
use crate::bindings::types::MapType as WitMapType;
use crate::bpf::limits::Held;
use crate::bpf::object::lock;
use crate::bpf::types::raw_map_type;
use crate::bpf::{attach, libbpf_result, BpfCtxView};
use crate::{BpfError, BpfResult};

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
            .configure_shape("set-max-entries", |m| m.set_max_entries(max_entries))
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
        self.table.get(&this)?.configure_shape("set-map-type", |m| {
            // SAFETY: the map belongs to an opened object, locked by
            // `configure_shape`.
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
        let dir = attach::open_cgroup(&self.ctx.grants, &path)?;
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

    fn lookup_small(
        &mut self,
        this: Resource<BpfMap>,
        key: SmallBytes,
        flags: LookupFlags,
    ) -> BpfResult<Option<SmallBytes>> {
        let key = Small::from_wit(&key, "key")?;
        self.table
            .get_mut(&this)?
            .lookup_small(key.as_slice(), flags)
    }

    fn update_small(
        &mut self,
        this: Resource<BpfMap>,
        key: SmallBytes,
        value: SmallBytes,
        mode: UpdateFlags,
    ) -> BpfResult<()> {
        let key = Small::from_wit(&key, "key")?;
        let value = Small::from_wit(&value, "value")?;
        self.table
            .get_mut(&this)?
            .update(key.as_slice(), value.as_slice(), mode)
    }

    fn delete_small(&mut self, this: Resource<BpfMap>, key: SmallBytes) -> BpfResult<()> {
        let key = Small::from_wit(&key, "key")?;
        self.table.get_mut(&this)?.delete(key.as_slice())
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
        self.ctx.limits.check(Held::Map, 1)?;
        match self.table.get_mut(&this)?.inner_map(&key)? {
            Some(inner) => self.push_counted(Held::Map, inner).map(Some),
            None => Ok(None),
        }
    }

    fn drop(&mut self, this: Resource<BpfMap>) -> wasmtime::Result<()> {
        self.delete_counted(Held::Map, this)
    }
}

impl Host for BpfCtxView<'_> {}
