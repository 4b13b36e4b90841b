//! The kernel's batch operations on hash and array maps: reading (and
//! draining) every entry in chunks, under the call's result cap.

use std::os::fd::{AsFd as _, AsRawFd as _};

use libbpf_rs::{MapCore as _, MapHandle, MapType};

use super::elem::value_len;
use crate::bindings::bpf_map::Entries;
use crate::bindings::types::ErrorCode;
use crate::bpf::limits;
use crate::{BpfError, BpfResult};

/// Most entries one system call reads.
const MAX_PER_CALL: usize = 4096;
/// Most bytes of keys and values one system call reads.
const MAX_CALL_BYTES: usize = 4 << 20;

/// One batch system call's buffers: it reads up to `count` entries after
/// `cursor` (from the start when `None`) into `keys` and `values`, sets
/// `count` to what it read and `next` to the cursor after them, and
/// returns 0, `-ENOENT` for the last batch, `-ENOSPC` when the next hash
/// bucket holds more than `count` entries (reading nothing), or another
/// `-errno`.
struct Call<'a> {
    cursor: Option<&'a mut [u8]>,
    next: &'a mut [u8],
    keys: &'a mut [u8],
    values: &'a mut [u8],
    count: &'a mut u32,
}

/// A map's sizes, as the batch calls see them.
#[derive(Clone, Copy)]
struct Shape {
    key_size: usize,
    /// Every CPU's value, for per-CPU maps.
    value_size: usize,
    max_entries: usize,
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
    let batch = if delete {
        libbpf_sys::bpf_map_lookup_and_delete_batch
    } else {
        libbpf_sys::bpf_map_lookup_batch
    };
    let opts = libbpf_sys::bpf_map_batch_opts {
        sz: size_of::<libbpf_sys::bpf_map_batch_opts>() as _,
        ..Default::default()
    };
    let shape = Shape {
        key_size: map.key_size() as usize,
        value_size: value_len(map),
        max_entries: map.max_entries() as usize,
    };
    let fd = map.as_fd().as_raw_fd();
    read_all(shape, name, delete, cap, |call| {
        let cursor = call
            .cursor
            .map_or(std::ptr::null_mut(), |c| c.as_mut_ptr().cast());
        // SAFETY: `read_all` sizes the cursors for this map and gives
        // `keys` and `values` room for `count` keys and values: what the
        // kernel writes.
        unsafe {
            batch(
                fd,
                cursor,
                call.next.as_mut_ptr().cast(),
                call.keys.as_mut_ptr().cast(),
                call.values.as_mut_ptr().cast(),
                call.count,
                &opts,
            )
        }
    })
}

/// [`lookup_all`] over `batch`, the system call.
fn read_all(
    shape: Shape,
    name: &str,
    delete: bool,
    cap: usize,
    mut batch: impl FnMut(Call<'_>) -> i32,
) -> BpfResult<Entries> {
    let Shape {
        key_size,
        value_size,
        max_entries,
    } = shape;
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
    // Entries per system call, doubled when a hash map's bucket does not
    // fit (the kernel returns whole buckets).
    let mut per_call = max_entries
        .min(MAX_PER_CALL)
        .min(MAX_CALL_BYTES / entry)
        .max(1);
    // The cursor between calls: a bucket index for hash maps, a key for
    // arrays.
    let mut cursor = vec![0u8; key_size.max(4)];
    let mut next = cursor.clone();
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
        let ret = batch(Call {
            cursor: (!first).then_some(&mut cursor[..]),
            next: &mut next,
            keys: &mut keys[total * key_size..],
            values: &mut values[total * value_size..],
            count: &mut count,
        });
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
pub(super) fn check_batchable(handle: &MapHandle, delete: bool) -> BpfResult<()> {
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

/// Checks that `len` bytes are `count` packed elements of `size` bytes.
pub(super) fn check_packed(what: &str, count: u32, len: usize, size: usize) -> BpfResult<()> {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A hash map as the kernel's batch calls see it: buckets of 4-byte
    /// keys and values, the cursor a bucket index.
    struct FakeHash {
        buckets: Vec<Vec<(u32, u32)>>,
        /// The `count` each call asked for.
        asked: Vec<u32>,
        delete: bool,
    }

    impl FakeHash {
        fn new(sizes: impl IntoIterator<Item = usize>, delete: bool) -> Self {
            let mut key = 0;
            let buckets = sizes
                .into_iter()
                .map(|n| {
                    (0..n)
                        .map(|_| {
                            key += 1;
                            (key, key * 10)
                        })
                        .collect()
                })
                .collect();
            Self {
                buckets,
                asked: Vec::new(),
                delete,
            }
        }

        fn entries(&self) -> usize {
            self.buckets.iter().map(Vec::len).sum()
        }

        fn call(&mut self, call: Call<'_>) -> i32 {
            let want = *call.count as usize;
            self.asked.push(*call.count);
            let mut bucket = call.cursor.map_or(0, |c| {
                u32::from_ne_bytes(c[..4].try_into().unwrap()) as usize
            });
            let mut read = 0;
            while bucket < self.buckets.len() {
                let n = self.buckets[bucket].len();
                if read + n > want {
                    if read == 0 {
                        return -libc::ENOSPC;
                    }
                    break;
                }
                for (i, (k, v)) in self.buckets[bucket].iter().enumerate() {
                    call.keys[(read + i) * 4..][..4].copy_from_slice(&k.to_ne_bytes());
                    call.values[(read + i) * 4..][..4].copy_from_slice(&v.to_ne_bytes());
                }
                if self.delete {
                    self.buckets[bucket].clear();
                }
                read += n;
                bucket += 1;
            }
            *call.count = read as u32;
            call.next[..4].copy_from_slice(&(bucket as u32).to_ne_bytes());
            if bucket == self.buckets.len() {
                -libc::ENOENT
            } else {
                0
            }
        }
    }

    fn shape(max_entries: usize) -> Shape {
        Shape {
            key_size: 4,
            value_size: 4,
            max_entries,
        }
    }

    fn keys(entries: &Entries) -> Vec<u32> {
        entries
            .keys
            .chunks_exact(4)
            .map(|k| u32::from_ne_bytes(k.try_into().unwrap()))
            .collect()
    }

    #[test]
    fn calls_read_at_most_4096_entries_or_4_mib() {
        let mut map = FakeHash::new(vec![1; 10_000], false);
        let all = read_all(shape(10_000), "m", false, usize::MAX, |c| map.call(c)).unwrap();
        assert_eq!(all.count, 10_000);
        assert_eq!(keys(&all), (1..=10_000).collect::<Vec<_>>());
        assert_eq!(all.values.len(), 10_000 * 4);
        assert_eq!(map.asked, [4096, 4096, 4096]);

        // Entries of 64 KiB: 64 of them are 4 MiB.
        let big = Shape {
            key_size: 4,
            value_size: (64 << 10) - 4,
            max_entries: 1000,
        };
        let mut asked = Vec::new();
        read_all(big, "m", false, usize::MAX, |c| {
            asked.push(*c.count);
            *c.count = 0;
            -libc::ENOENT
        })
        .unwrap();
        assert_eq!(asked, [64]);
    }

    #[test]
    fn a_bucket_bigger_than_a_call_doubles_the_call() {
        let mut map = FakeHash::new([5, 1, 9], false);
        let all = read_all(shape(2), "m", false, usize::MAX, |c| map.call(c)).unwrap();
        assert_eq!(all.count, 15);
        assert_eq!(keys(&all), (1..=15).collect::<Vec<_>>());
        // 2 and 4 are refused by the bucket of 5; 8 reads it and the next;
        // 8 is refused by the bucket of 9, 16 reads it.
        assert_eq!(map.asked, [2, 4, 8, 8, 16]);
    }

    #[test]
    fn past_the_cap_a_lookup_fails_and_a_drain_returns_what_fits() {
        let cap = 10 * 8;
        let mut map = FakeHash::new([4, 4, 4], false);
        let err = read_all(shape(64), "m", false, cap, |c| map.call(c)).unwrap_err();
        assert_eq!(err.guest().unwrap().code, ErrorCode::LimitExceeded);
        assert_eq!(map.entries(), 12, "a lookup changes nothing");

        let mut map = FakeHash::new([4, 4, 4], true);
        let first = read_all(shape(64), "m", true, cap, |c| map.call(c)).unwrap();
        // Whole buckets only: 8 of the 10 that would fit.
        assert_eq!(keys(&first), (1..=8).collect::<Vec<_>>());
        assert_eq!(map.entries(), 4, "the rest stays for the next call");
        let rest = read_all(shape(64), "m", true, cap, |c| map.call(c)).unwrap();
        assert_eq!(keys(&rest), (9..=12).collect::<Vec<_>>());
        assert_eq!(map.entries(), 0);
    }

    #[test]
    fn a_kernel_error_is_the_callers_with_its_errno() {
        let err = read_all(shape(8), "m", false, usize::MAX, |_| -libc::EPERM).unwrap_err();
        let err = err.guest().unwrap();
        assert_eq!(err.code, ErrorCode::PermissionDenied);
        assert_eq!(err.errno, libc::EPERM);
    }
}
