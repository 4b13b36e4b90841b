//! Maps bound to their key and value types, as the type generator emits
//! them (`maps::hists(&obj)?`).

use std::marker::PhantomData;

use bytemuck::Pod;

use crate::{Error, Map, MapInfo, Result, UpdateFlags};

/// A [`Map`] whose keys are `K` and values `V`, checked against the map's
/// sizes once, when it is opened. Queues, stacks and bloom filters have no
/// key: `K` is `()`.
pub struct TypedMap<K, V> {
    map: Map,
    types: PhantomData<fn(K) -> V>,
}

impl<K: Pod, V: Pod> TypedMap<K, V> {
    /// Binds `map` to `K` and `V`, which must have the map's key and value
    /// sizes.
    pub fn new(map: Map) -> Result<Self> {
        let info = map.info();
        if info.key_size as usize != size_of::<K>() || info.value_size as usize != size_of::<V>() {
            return Err(Error::invalid(format!(
                "map `{}` has {}-byte keys and {}-byte values, not {} and {}",
                info.name,
                info.key_size,
                info.value_size,
                size_of::<K>(),
                size_of::<V>()
            )));
        }
        Ok(Self {
            map,
            types: PhantomData,
        })
    }

    /// The map's name, type and sizes.
    pub fn info(&self) -> MapInfo {
        self.map.info()
    }

    /// The value under `key`, or `None`.
    pub fn lookup(&self, key: &K) -> Result<Option<V>> {
        self.map.lookup(key)
    }

    /// Stores `value` under `key`.
    pub fn update(&self, key: &K, value: &V, flags: UpdateFlags) -> Result<()> {
        self.map.update(key, value, flags)
    }

    /// Removes `key`.
    pub fn delete(&self, key: &K) -> Result<()> {
        self.map.delete(key)
    }

    /// Every key in the map.
    pub fn keys(&self) -> Result<Vec<K>> {
        self.map.keys()
    }

    /// Every entry, with the kernel's batch lookup.
    pub fn entries(&self) -> Result<Vec<(K, V)>> {
        self.map.lookup_batch()
    }

    /// Every entry, read and removed in one pass (hash maps).
    pub fn drain(&self) -> Result<Vec<(K, V)>> {
        self.map.lookup_and_delete_batch()
    }

    /// Reads and removes the value under `key`.
    pub fn lookup_and_delete(&self, key: &K) -> Result<Option<V>> {
        self.map.lookup_and_delete(key)
    }

    /// A per-CPU map's values under `key`, one per possible CPU.
    pub fn lookup_per_cpu(&self, key: &K) -> Result<Option<Vec<V>>> {
        self.map.lookup_per_cpu(key)
    }

    /// Adds `value` to a queue, stack or bloom filter.
    pub fn push(&self, value: &V, flags: UpdateFlags) -> Result<()> {
        self.map.push(value, flags)
    }

    /// Takes the next value out of a queue or stack.
    pub fn pop(&self) -> Result<Option<V>> {
        self.map.pop()
    }

    /// Whether a bloom filter may hold `value`.
    pub fn contains(&self, value: &V) -> Result<bool> {
        self.map.contains(value)
    }

    /// The untyped map, for the calls with other types (batches, per-CPU
    /// updates).
    pub fn as_map(&self) -> &Map {
        &self.map
    }
}
