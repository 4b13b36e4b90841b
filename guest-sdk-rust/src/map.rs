//! Maps with typed keys and values.

use bytemuck::Pod;

use crate::bindings::bpf_map::BpfMap;
use crate::{Error, MapInfo, Result, UpdateFlags};

/// One map of an object. Keys and values are any [`Pod`] type of the map's
/// key and value size (generated types, integers, byte arrays); the
/// `*_bytes` methods take raw bytes.
pub struct Map {
    inner: BpfMap,
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

impl Map {
    pub(crate) fn new(inner: BpfMap) -> Self {
        Self { inner }
    }

    /// The map's name, type and sizes.
    pub fn info(&self) -> MapInfo {
        self.inner.info()
    }

    /// The value under `key`, or `None`.
    pub fn lookup<K: Pod, V: Pod>(&self, key: &K) -> Result<Option<V>> {
        self.lookup_bytes(bytemuck::bytes_of(key))?
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

    /// Every key in the map.
    pub fn keys<K: Pod>(&self) -> Result<Vec<K>> {
        self.keys_bytes()?
            .iter()
            .map(|k| decode("key", k))
            .collect()
    }

    /// Every entry, read with the kernel's batch lookup (hash and array
    /// maps).
    pub fn lookup_batch<K: Pod, V: Pod>(&self) -> Result<Vec<(K, V)>> {
        let entries = self.inner.lookup_batch()?;
        let (ks, vs) = (size_of::<K>(), size_of::<V>());
        if entries.keys.len() != ks * entries.count as usize
            || entries.values.len() != vs * entries.count as usize
        {
            let info = self.info();
            return Err(Error::invalid(format!(
                "the map's keys and values are {} and {} bytes, but the types read are {ks} and {vs} bytes",
                info.key_size, info.value_size
            )));
        }
        Ok(entries
            .keys
            .chunks_exact(ks.max(1))
            .zip(entries.values.chunks_exact(vs.max(1)))
            .map(|(k, v)| {
                (
                    bytemuck::pod_read_unaligned(k),
                    bytemuck::pod_read_unaligned(v),
                )
            })
            .collect())
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
        Ok(self.inner.lookup(key)?)
    }

    /// [`update`](Self::update) with raw bytes.
    pub fn update_bytes(&self, key: &[u8], value: &[u8], flags: UpdateFlags) -> Result<()> {
        Ok(self.inner.update(key, value, flags)?)
    }

    /// [`delete`](Self::delete) with raw bytes.
    pub fn delete_bytes(&self, key: &[u8]) -> Result<()> {
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
