//! Maps with typed keys and values.

use bytemuck::Pod;

use crate::bindings::bpf_map::{BpfMap, LookupFlags, SmallBytes};
use crate::{Error, ErrorCode, MapInfo, MapType, Result, UpdateFlags};

/// One map of an object. Keys and values are any [`Pod`] type of the map's
/// key and value size (generated types, integers, byte arrays); the
/// `*_bytes` methods take raw bytes.
pub struct Map {
    inner: BpfMap,
}

/// Typed entries of a packed `entries` record.
fn unpack<K: Pod, V: Pod>(entries: crate::bindings::bpf_map::Entries) -> Result<Vec<(K, V)>> {
    let typed = split(&entries, size_of::<K>(), size_of::<V>())?
        .map(|(k, v)| {
            (
                bytemuck::pod_read_unaligned(k),
                bytemuck::pod_read_unaligned(v),
            )
        })
        .collect();
    Ok(typed)
}

/// The keys and values of a packed `entries` record, of `ks` and `vs`
/// bytes each.
fn split(
    entries: &crate::bindings::bpf_map::Entries,
    ks: usize,
    vs: usize,
) -> Result<impl Iterator<Item = (&[u8], &[u8])>> {
    if entries.keys.len() != ks * entries.count as usize
        || entries.values.len() != vs * entries.count as usize
    {
        return Err(Error::invalid(format!(
            "{} entries take {} key and {} value bytes, but the types read are {ks} and {vs} bytes",
            entries.count,
            entries.keys.len(),
            entries.values.len()
        )));
    }
    Ok(entries
        .keys
        .chunks_exact(ks.max(1))
        .zip(entries.values.chunks_exact(vs.max(1))))
}

/// A per-CPU value's slots, one `V` per CPU (each slot is `V` rounded up
/// to 8 bytes).
fn per_cpu<V: Pod>(bytes: &[u8]) -> Result<Vec<V>> {
    let stride = size_of::<V>().next_multiple_of(8);
    if stride == 0 || !bytes.len().is_multiple_of(stride) {
        return Err(Error::invalid(format!(
            "{} bytes of per-CPU values are not slots of {stride} bytes",
            bytes.len()
        )));
    }
    Ok(bytes
        .chunks_exact(stride)
        .map(|slot| bytemuck::pod_read_unaligned(&slot[..size_of::<V>()]))
        .collect())
}

fn decode<T: Pod>(what: &str, bytes: &[u8]) -> Result<T> {
    bytemuck::try_pod_read_unaligned(bytes).map_err(|_| {
        Error::invalid(format!(
            "the map's {what}s are {} bytes, but the type read is {} bytes",
            bytes.len(),
            size_of::<T>()
        ))
    })
}

/// The most bytes of a key or value the host's `*-small` calls carry:
/// keys and values that fit go in words, allocating nothing.
const SMALL: usize = 32;

/// `bytes`, at most [`SMALL`] of them, as a `small-bytes`.
fn small(bytes: &[u8]) -> SmallBytes {
    let mut words = [0u64; 4];
    bytemuck::cast_slice_mut::<u64, u8>(&mut words)[..bytes.len()].copy_from_slice(bytes);
    let [w0, w1, w2, w3] = words;
    SmallBytes {
        len: bytes.len() as u8,
        w0,
        w1,
        w2,
        w3,
    }
}

/// A value the host returned as `small-bytes`, as a `V`.
fn from_small<V: Pod>(value: &SmallBytes) -> Result<V> {
    let words = [value.w0, value.w1, value.w2, value.w3];
    let len = usize::from(value.len).min(SMALL);
    decode("value", &bytemuck::cast_slice::<u64, u8>(&words)[..len])
}

impl Map {
    pub(crate) fn new(inner: BpfMap) -> Self {
        Self { inner }
    }

    /// The map's name, type and sizes.
    pub fn info(&self) -> MapInfo {
        self.inner.info()
    }

    /// Changes the number of entries the map is created with (before
    /// `load`).
    pub fn set_max_entries(&self, max_entries: u32) -> Result<()> {
        Ok(self.inner.set_max_entries(max_entries)?)
    }

    /// Changes the size of a value, e.g. a stack map's for the depth asked
    /// for (`bpf_map__set_value_size`; before `load`).
    pub fn set_value_size(&self, size: u32) -> Result<()> {
        Ok(self.inner.set_value_size(size)?)
    }

    /// Changes the size of a key (before `load`).
    pub fn set_key_size(&self, size: u32) -> Result<()> {
        Ok(self.inner.set_key_size(size)?)
    }

    /// Changes the map's type (before `load`).
    pub fn set_map_type(&self, map_type: MapType) -> Result<()> {
        Ok(self.inner.set_map_type(map_type)?)
    }

    /// Replaces the `BPF_F_*` creation flags (before `load`).
    pub fn set_map_flags(&self, flags: u32) -> Result<()> {
        Ok(self.inner.set_map_flags(flags)?)
    }

    /// Sets `map_extra` (a bloom filter's hash count; before `load`).
    pub fn set_map_extra(&self, extra: u64) -> Result<()> {
        Ok(self.inner.set_map_extra(extra)?)
    }

    /// The NUMA node to create the map on, with `BPF_F_NUMA_NODE` (before
    /// `load`).
    pub fn set_numa_node(&self, node: u32) -> Result<()> {
        Ok(self.inner.set_numa_node(node)?)
    }

    /// Sets a whole section of globals (`.data`, `.rodata`, `.bss`) at once
    /// (before `load`).
    pub fn set_initial_value(&self, value: &[u8]) -> Result<()> {
        Ok(self.inner.set_initial_value(value)?)
    }

    /// The contents a section of globals starts with (before `load`).
    pub fn initial_value(&self) -> Result<Vec<u8>> {
        Ok(self.inner.initial_value()?)
    }

    /// Whether `load` creates the map (before `load`).
    pub fn set_autocreate(&self, autocreate: bool) -> Result<()> {
        Ok(self.inner.set_autocreate(autocreate)?)
    }

    /// Pins the map at `path`, or reuses the map pinned there, at `load`;
    /// the path must be under `wasm-bpf run --allow-pin DIR`.
    pub fn set_pin_path(&self, path: &str) -> Result<()> {
        Ok(self.inner.set_pin_path(path)?)
    }

    /// The value under `key`, or `None`.
    pub fn lookup<K: Pod, V: Pod>(&self, key: &K) -> Result<Option<V>> {
        let key = bytemuck::bytes_of(key);
        if key.len() <= SMALL && size_of::<V>() <= SMALL {
            match self.inner.lookup_small(small(key), LookupFlags::empty()) {
                Ok(value) => return value.map(|v| from_small(&v)).transpose(),
                // The map's values may be larger than `V` (a wrong type)
                // and than a small-bytes: the list call says what is
                // wrong as it does for any map.
                Err(e) if e.code != ErrorCode::InvalidArgument => return Err(e.into()),
                Err(_) => {}
            }
        }
        self.lookup_bytes(key)?
            .map(|v| decode("value", &v))
            .transpose()
    }

    /// Stores `value` under `key` ([`UpdateFlags::empty()`] creates or
    /// replaces).
    pub fn update<K: Pod, V: Pod>(&self, key: &K, value: &V, flags: UpdateFlags) -> Result<()> {
        self.update_bytes(bytemuck::bytes_of(key), bytemuck::bytes_of(value), flags)
    }

    /// Removes `key`; an error with code `NotFound` if it is absent.
    pub fn delete<K: Pod>(&self, key: &K) -> Result<()> {
        self.delete_bytes(bytemuck::bytes_of(key))
    }

    /// The key after `key` (the first key for `None`), or `None` at the end.
    pub fn next_key<K: Pod>(&self, key: Option<&K>) -> Result<Option<K>> {
        self.next_key_bytes(key.map(bytemuck::bytes_of))?
            .map(|k| decode("key", &k))
            .transpose()
    }

    /// Every key in the map; `limit-exceeded` when they take more than a
    /// quarter of the guest's `--max-memory` (walk with `next_key` then).
    pub fn keys<K: Pod>(&self) -> Result<Vec<K>> {
        self.keys_bytes()?
            .iter()
            .map(|k| decode("key", k))
            .collect()
    }

    /// Every entry, read with the kernel's batch lookup (hash and array
    /// maps); `limit-exceeded` when they take more than a quarter of the
    /// guest's `--max-memory`.
    pub fn lookup_batch<K: Pod, V: Pod>(&self) -> Result<Vec<(K, V)>> {
        unpack(self.inner.lookup_batch()?)
    }

    /// Every entry, read and removed in one pass (hash maps): drains a map
    /// the kernel keeps filling without losing updates in between. At most
    /// a quarter of the guest's `--max-memory` comes back per call, the
    /// rest stays in the map: call again until it returns nothing.
    pub fn lookup_and_delete_batch<K: Pod, V: Pod>(&self) -> Result<Vec<(K, V)>> {
        unpack(self.inner.lookup_and_delete_batch()?)
    }

    /// [`Self::lookup_and_delete_batch`] for a map whose key and value
    /// types are known only at run time: each entry's key and value as
    /// bytes.
    pub fn lookup_and_delete_batch_bytes(&self) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let entries = self.inner.lookup_and_delete_batch()?;
        let count = (entries.count as usize).max(1);
        let (ks, vs) = (entries.keys.len() / count, entries.values.len() / count);
        let pairs = split(&entries, ks, vs)?
            .map(|(k, v)| (k.to_vec(), v.to_vec()))
            .collect();
        Ok(pairs)
    }

    /// Reads and removes the value under `key` in one step (hash maps).
    pub fn lookup_and_delete<K: Pod, V: Pod>(&self, key: &K) -> Result<Option<V>> {
        self.inner
            .lookup_and_delete(bytemuck::bytes_of(key))?
            .map(|v| decode("value", &v))
            .transpose()
    }

    /// The value under `key` read under its `bpf_spin_lock` (`BPF_F_LOCK`).
    pub fn lookup_locked<K: Pod, V: Pod>(&self, key: &K) -> Result<Option<V>> {
        self.inner
            .lookup(bytemuck::bytes_of(key), LookupFlags::LOCK)?
            .map(|v| decode("value", &v))
            .transpose()
    }

    /// A per-CPU map's values under `key`, one per possible CPU.
    pub fn lookup_per_cpu<K: Pod, V: Pod>(&self, key: &K) -> Result<Option<Vec<V>>> {
        self.lookup_bytes(bytemuck::bytes_of(key))?
            .map(|v| per_cpu(&v))
            .transpose()
    }

    /// Stores one value per possible CPU under `key` in a per-CPU map.
    pub fn update_per_cpu<K: Pod, V: Pod>(
        &self,
        key: &K,
        values: &[V],
        flags: UpdateFlags,
    ) -> Result<()> {
        let stride = size_of::<V>().next_multiple_of(8);
        let mut bytes = vec![0u8; stride * values.len()];
        for (slot, value) in bytes.chunks_exact_mut(stride.max(1)).zip(values) {
            slot[..size_of::<V>()].copy_from_slice(bytemuck::bytes_of(value));
        }
        self.update_bytes(bytemuck::bytes_of(key), &bytes, flags)
    }

    /// Adds `value` to a queue, stack or bloom filter;
    /// [`UpdateFlags::EXIST`] makes a full queue or stack drop its oldest.
    pub fn push<V: Pod>(&self, value: &V, flags: UpdateFlags) -> Result<()> {
        Ok(self.inner.push(bytemuck::bytes_of(value), flags)?)
    }

    /// Takes the next value out of a queue or stack.
    pub fn pop<V: Pod>(&self) -> Result<Option<V>> {
        self.inner.pop()?.map(|v| decode("value", &v)).transpose()
    }

    /// The value [`pop`](Self::pop) would return, left in place.
    pub fn peek<V: Pod>(&self) -> Result<Option<V>> {
        self.inner.peek()?.map(|v| decode("value", &v)).transpose()
    }

    /// Whether a bloom filter may hold `value` (`false` is certain).
    pub fn contains<V: Pod>(&self, value: &V) -> Result<bool> {
        Ok(self.inner.contains(bytemuck::bytes_of(value))?)
    }

    /// The inner map under `key` of an array- or hash-of-maps.
    pub fn inner_map<K: Pod>(&self, key: &K) -> Result<Option<Map>> {
        Ok(self.inner.inner_map(bytemuck::bytes_of(key))?.map(Map::new))
    }

    /// The instruction pointers of stack `id` in a stack-trace map, from
    /// the innermost frame out.
    pub fn stack(&self, id: u32) -> Result<Option<Vec<u64>>> {
        let Some(bytes) = self.lookup_bytes(bytemuck::bytes_of(&id))? else {
            return Ok(None);
        };
        Ok(Some(
            bytes
                .chunks_exact(8)
                .map(|ip| u64::from_ne_bytes(ip.try_into().expect("8-byte chunks")))
                .take_while(|&ip| ip != 0)
                .collect(),
        ))
    }

    /// Stores `keys[i]` → `values[i]` for every `i` in one system call.
    pub fn update_batch<K: Pod, V: Pod>(
        &self,
        keys: &[K],
        values: &[V],
        flags: UpdateFlags,
    ) -> Result<()> {
        if keys.len() != values.len() {
            return Err(Error::invalid(format!(
                "{} keys but {} values",
                keys.len(),
                values.len()
            )));
        }
        let count = u32::try_from(keys.len()).map_err(|_| Error::invalid("too many entries"))?;
        Ok(self.inner.update_batch(
            count,
            bytemuck::cast_slice(keys),
            bytemuck::cast_slice(values),
            flags,
        )?)
    }

    /// Removes every key of `keys` in one system call.
    pub fn delete_batch<K: Pod>(&self, keys: &[K]) -> Result<()> {
        let count = u32::try_from(keys.len()).map_err(|_| Error::invalid("too many keys"))?;
        Ok(self.inner.delete_batch(count, bytemuck::cast_slice(keys))?)
    }

    /// [`lookup`](Self::lookup) with raw bytes.
    pub fn lookup_bytes(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.inner.lookup(key, LookupFlags::empty())?)
    }

    /// [`update`](Self::update) with raw bytes.
    pub fn update_bytes(&self, key: &[u8], value: &[u8], flags: UpdateFlags) -> Result<()> {
        if key.len() <= SMALL && value.len() <= SMALL {
            return Ok(self.inner.update_small(small(key), small(value), flags)?);
        }
        Ok(self.inner.update(key, value, flags)?)
    }

    /// [`delete`](Self::delete) with raw bytes.
    pub fn delete_bytes(&self, key: &[u8]) -> Result<()> {
        if key.len() <= SMALL {
            return Ok(self.inner.delete_small(small(key))?);
        }
        Ok(self.inner.delete(key)?)
    }

    /// [`next_key`](Self::next_key) with raw bytes.
    pub fn next_key_bytes(&self, key: Option<&[u8]>) -> Result<Option<Vec<u8>>> {
        Ok(self.inner.next_key(key)?)
    }

    /// [`keys`](Self::keys) with raw bytes.
    pub fn keys_bytes(&self) -> Result<Vec<Vec<u8>>> {
        Ok(self.inner.keys()?)
    }

    /// The raw resource, for calls the wrapper does not cover.
    pub fn as_raw(&self) -> &BpfMap {
        &self.inner
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_bytes_carry_keys_and_values_in_native_order() {
        let key = small(&0x0102_0304u32.to_ne_bytes());
        assert_eq!((key.len, key.w0, key.w1), (4, 0x0102_0304, 0));
        let words: Vec<u8> = [7u64, 8, 9, 10]
            .iter()
            .flat_map(|w| w.to_ne_bytes())
            .collect();
        let value = small(&words);
        assert_eq!((value.len, value.w0, value.w3), (32, 7, 10));
        assert_eq!(from_small::<[u64; 4]>(&value).unwrap(), [7, 8, 9, 10]);
        let err = from_small::<u32>(&value).unwrap_err();
        assert!(
            err.message
                .contains("values are 32 bytes, but the type read is 4"),
            "{}",
            err.message
        );
    }
}
