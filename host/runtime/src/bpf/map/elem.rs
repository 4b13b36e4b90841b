//! Single-element system calls on a loaded map (lookup, update, push,
//! pop, ...) and the size checks before them.

use std::os::fd::{AsFd as _, AsRawFd as _};

use libbpf_rs::{MapCore as _, MapFlags, MapHandle, MapType};

use super::fd_refusal;
use crate::bindings::bpf_map::{LookupFlags, UpdateFlags};
use crate::bindings::types::ErrorCode;
use crate::bpf::limits;
use crate::{BpfError, BpfResult};

/// The number of value slots of a per-CPU map, 0 for other maps.
pub(super) fn per_cpu_slots(ty: MapType) -> u32 {
    if ty.is_percpu() {
        libbpf_rs::num_possible_cpus().map_or(1, |n| n as u32)
    } else {
        0
    }
}

/// The length of one value as the kernel's system calls take it: one slot
/// per possible CPU, each rounded up to 8 bytes, for per-CPU maps.
pub(super) fn value_len(handle: &MapHandle) -> usize {
    let size = handle.value_size() as usize;
    match per_cpu_slots(handle.map_type()) {
        0 => size,
        slots => slots as usize * size.next_multiple_of(8),
    }
}

pub(super) fn map_flags(mode: UpdateFlags) -> MapFlags {
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

/// Checks that `handle` is a map of one of `types`, for `what`.
pub(super) fn check_type(handle: &MapHandle, what: &str, types: &[MapType]) -> BpfResult<()> {
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
pub(super) enum Read {
    Lookup(LookupFlags),
    AndDelete,
}

/// Reads one value of `handle` (at `key`, or the next of a queue or
/// stack), if it is at most `cap` bytes: `None` if there is none.
pub(super) fn read_elem(
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
    Ok(read_into(handle, key, read, &mut value)?.then_some(value))
}

/// Reads one value of `handle` into `value`, which is exactly one value
/// long ([`value_len`]): whether there was one.
pub(super) fn read_into(
    handle: &MapHandle,
    key: Option<&[u8]>,
    read: Read,
    value: &mut [u8],
) -> BpfResult<bool> {
    check_len("value", value.len(), value_len(handle))?;
    let fd = handle.as_fd().as_raw_fd();
    let key = key.map_or(std::ptr::null(), |k| k.as_ptr().cast());
    // SAFETY: `key` is null or the map's key size (checked by callers), and
    // `value` has room for one value as the kernel writes it (checked).
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
        0 => Ok(true),
        e if e == -libc::ENOENT => Ok(false),
        e => {
            let what = match read {
                Read::Lookup(_) => "lookup",
                Read::AndDelete => "lookup-and-delete",
            };
            Err(BpfError::os(what, -e))
        }
    }
}

/// Writes one value (`key` is `None` for queues, stacks and bloom filters).
pub(super) fn write_elem(
    handle: &MapHandle,
    what: &str,
    key: Option<&[u8]>,
    value: &[u8],
    mode: UpdateFlags,
) -> BpfResult<()> {
    check_len("value", value.len(), value_len(handle))?;
    fd_refusal::check_values(handle, what, value)?;
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

pub(super) fn check_len(what: &str, len: usize, want: usize) -> BpfResult<()> {
    if len == want {
        return Ok(());
    }
    Err(BpfError::new(
        ErrorCode::InvalidArgument,
        format!("{what} is {len} bytes, but this map's {what}s are {want} bytes"),
    ))
}
