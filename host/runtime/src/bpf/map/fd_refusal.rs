//! Maps whose keys or values the kernel reads as file descriptors of the
//! calling process, here the host: a number from the guest would name
//! whatever the host has open under it (another map, a program, a socket,
//! a perf event), not something the guest holds. Such writes are refused.

use libbpf_rs::{MapCore as _, MapHandle, MapType};

use super::elem::value_len;
use crate::bindings::types::ErrorCode;
use crate::{BpfError, BpfResult};

/// What of a write the kernel would take as the host's fds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum FdUse {
    /// Every key (local storage, keyed by a socket, inode, task or cgroup).
    Keys,
    /// Every value (maps of programs, maps, sockets, cgroups, perf events,
    /// struct_ops).
    Values,
    /// A device or CPU map value's optional second field, a program fd,
    /// used when greater than 0.
    ProgramInValue,
}

/// Whether a `ty` map is keyed by fds.
pub(super) fn fd_keyed(ty: MapType) -> bool {
    matches!(
        ty,
        MapType::SkStorage | MapType::InodeStorage | MapType::TaskStorage | MapType::CGrpStorage
    )
}

/// What of writing `values` (packed, `value_size` bytes each) to a `ty`
/// map the kernel would take as fds, if anything.
pub(super) fn fds_in_values(ty: MapType, value_size: usize, values: &[u8]) -> Option<FdUse> {
    let whole = matches!(
        ty,
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
        return Some(FdUse::Values);
    }
    let programs = matches!(ty, MapType::Devmap | MapType::DevmapHash | MapType::Cpumap);
    let names_a_program = programs
        && value_size >= 8
        && values
            .chunks_exact(value_size)
            .any(|v| i32::from_ne_bytes([v[4], v[5], v[6], v[7]]) > 0);
    names_a_program.then_some(FdUse::ProgramInValue)
}

fn refused(handle: &MapHandle, what: &str, fds: FdUse) -> BpfError {
    let name = handle.name().to_string_lossy();
    if handle.map_type() == MapType::CgroupArray {
        // Tools store a cgroup fd they opened (`-c CGROUP`); the guest's
        // way is by path, which the one line to change should say.
        let message = format!(
            "{what} on map `{}`: a CgroupArray map's values are file descriptors, which a \
             guest cannot pass; store the cgroup by its path with `update-cgroup` (in C: \
             wasm_bpf_map_update_cgroup(fd, &key, path, flags)), inside a `run --dir` grant",
            // The object names its maps; the message stays one log line.
            name.escape_debug()
        );
        tracing::warn!("{message}");
        return BpfError::new(ErrorCode::Unsupported, message);
    }
    let message = match fds {
        FdUse::Keys | FdUse::Values => format!(
            "{what} on map `{name}`: a {:?} map's {} file descriptors, which a guest cannot \
             pass; fill it from the BPF side or with the object's initial values",
            handle.map_type(),
            if fds == FdUse::Keys {
                "keys are"
            } else {
                "values are"
            }
        ),
        FdUse::ProgramInValue => format!(
            "{what} on map `{name}`: a value's program fd (its second field) must be 0; a \
             guest cannot pass file descriptors"
        ),
    };
    BpfError::new(ErrorCode::Unsupported, message)
}

/// Refuses keyed operations on maps keyed by fds.
pub(super) fn check_keys(handle: &MapHandle) -> BpfResult<()> {
    if fd_keyed(handle.map_type()) {
        return Err(refused(handle, "a keyed operation", FdUse::Keys));
    }
    Ok(())
}

/// Refuses `what` writing `values` that the kernel would take as fds.
pub(super) fn check_values(handle: &MapHandle, what: &str, values: &[u8]) -> BpfResult<()> {
    match fds_in_values(handle.map_type(), value_len(handle), values) {
        Some(fds) => Err(refused(handle, what, fds)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A device map value: an ifindex, then a program fd.
    fn devmap_value(prog_fd: i32) -> Vec<u8> {
        [7i32.to_ne_bytes(), prog_fd.to_ne_bytes()].concat()
    }

    #[test]
    fn every_map_of_fds_is_refused_and_no_other() {
        let values = [0u8; 8];
        let fd_valued = [
            MapType::ProgArray,
            MapType::ArrayOfMaps,
            MapType::HashOfMaps,
            MapType::Sockmap,
            MapType::Sockhash,
            MapType::CgroupArray,
            MapType::Xskmap,
            MapType::PerfEventArray,
            MapType::ReuseportSockarray,
            MapType::StructOps,
        ];
        for ty in fd_valued {
            assert_eq!(fds_in_values(ty, 4, &values), Some(FdUse::Values), "{ty:?}");
            assert!(!fd_keyed(ty), "{ty:?}");
        }
        let keyed = [
            MapType::SkStorage,
            MapType::InodeStorage,
            MapType::TaskStorage,
            MapType::CGrpStorage,
        ];
        for ty in keyed {
            assert!(fd_keyed(ty), "{ty:?}");
        }
        let plain = [
            MapType::Hash,
            MapType::Array,
            MapType::PercpuHash,
            MapType::PercpuArray,
            MapType::LruHash,
            MapType::LpmTrie,
            MapType::Queue,
            MapType::Stack,
            MapType::BloomFilter,
            MapType::RingBuf,
            MapType::CgroupStorage,
        ];
        for ty in plain {
            assert_eq!(fds_in_values(ty, 4, &values), None, "{ty:?}");
            assert!(!fd_keyed(ty), "{ty:?}");
        }
    }

    #[test]
    fn device_and_cpu_maps_refuse_only_a_program_fd() {
        for ty in [MapType::Devmap, MapType::DevmapHash, MapType::Cpumap] {
            assert_eq!(fds_in_values(ty, 8, &devmap_value(0)), None, "{ty:?}");
            assert_eq!(fds_in_values(ty, 8, &devmap_value(-1)), None, "{ty:?}");
            // A program fd in any value of a batch.
            let batch = [devmap_value(0), devmap_value(3)].concat();
            assert_eq!(
                fds_in_values(ty, 8, &batch),
                Some(FdUse::ProgramInValue),
                "{ty:?}"
            );
            // A value of 4 bytes has no program field.
            assert_eq!(fds_in_values(ty, 4, &7i32.to_ne_bytes()), None, "{ty:?}");
        }
    }
}
