//! The `features` interface: libbpf's kernel feature probes, and the
//! kernel's BTF for a guest's own queries.

use std::path::{Path, PathBuf};

use crate::bindings::features::Host;
use crate::bindings::types::{ErrorCode, MapType, ProgType};
use crate::{BpfError, BpfResult};

use super::kernel_btf;
use super::types::{raw_map_type, raw_prog_type};
use super::BpfCtxView;

/// Where the running kernel publishes its BTF and its modules'.
const SYS_BTF: &str = "/sys/kernel/btf";

/// Whether `name` can only name a file directly in [`SYS_BTF`]: a module
/// name, not a path.
fn is_module_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// libbpf's probe answer (1, 0 or -errno) as the interface's.
fn answer(what: &str, ret: i32) -> BpfResult<bool> {
    match ret {
        0 => Ok(false),
        r if r > 0 => Ok(true),
        r => Err(BpfError::os(what, -r)),
    }
}

impl Host for BpfCtxView<'_> {
    fn map_type_supported(&mut self, map_type: MapType) -> BpfResult<bool> {
        let raw = raw_map_type(map_type);
        // SAFETY: a plain probe; NULL options are allowed.
        let ret = unsafe { libbpf_sys::libbpf_probe_bpf_map_type(raw, std::ptr::null()) };
        answer(&format!("probing map type {raw}"), ret)
    }

    fn prog_type_supported(&mut self, prog_type: ProgType) -> BpfResult<bool> {
        let raw = raw_prog_type(prog_type);
        // SAFETY: as above.
        let ret = unsafe { libbpf_sys::libbpf_probe_bpf_prog_type(raw, std::ptr::null()) };
        answer(&format!("probing program type {raw}"), ret)
    }

    fn helper_supported(&mut self, prog_type: ProgType, helper: u32) -> BpfResult<bool> {
        let raw = raw_prog_type(prog_type);
        // SAFETY: as above.
        let ret = unsafe { libbpf_sys::libbpf_probe_bpf_helper(raw, helper, std::ptr::null()) };
        answer(
            &format!("probing helper {helper} for program type {raw}"),
            ret,
        )
    }

    fn kernel_btf(&mut self, module: Option<String>) -> BpfResult<Vec<u8>> {
        let (what, path) = match &module {
            Some(name) if !is_module_name(name) => {
                return Err(BpfError::new(
                    ErrorCode::InvalidArgument,
                    format!("`{name}` is not a module name (letters, digits, `_` and `-`)"),
                ))
            }
            Some(name) => (
                format!("the BTF of module `{name}`"),
                Path::new(SYS_BTF).join(name),
            ),
            None => match &self.ctx.kernel_btf_file {
                Some(file) => (
                    "the run's --kernel-btf".to_string(),
                    PathBuf::from(file.path()),
                ),
                None => (
                    "the kernel's BTF".to_string(),
                    Path::new(SYS_BTF).join("vmlinux"),
                ),
            },
        };
        kernel_btf::read(&what, &path, self.ctx.result_bytes as u64)
            .map_err(|e| e.hint("a guest may take BTF up to a quarter of --max-memory"))
    }
}
