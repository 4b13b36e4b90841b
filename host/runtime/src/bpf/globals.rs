//! Global variables: found by name in the object's BTF data sections and
//! read or written through libbpf's internal maps (`.rodata`, `.data`,
//! `.bss`).

use std::ffi::OsStr;

use libbpf_rs::btf::types::{DataSec, Var};
use libbpf_rs::{AsRawLibbpf as _, Btf, MapCore as _, MapFlags, Object, OpenObject};

use super::object::not_found;
use crate::bindings::object::GlobalInfo;
use crate::bindings::types::ErrorCode;
use crate::{BpfError, BpfResult};

/// Where a global variable lives: its data section and byte range.
struct Global {
    section: String,
    offset: usize,
    size: usize,
}

/// The object's BTF, which names its globals.
fn named(btf: Option<Btf<'_>>) -> BpfResult<Btf<'_>> {
    btf.ok_or_else(|| {
        BpfError::new(
            ErrorCode::InvalidObject,
            "the object has no BTF, which names its globals (compile with -g)",
        )
    })
}

/// Finds the global variable `name` in the object's BTF data sections.
fn find_global(btf: Option<Btf<'_>>, name: &str) -> BpfResult<Global> {
    let btf = named(btf)?;
    let mut known = Vec::new();
    for sec in btf.type_by_kind::<DataSec<'_>>() {
        let section = sec.name().unwrap_or_default().to_string_lossy();
        for info in sec.iter() {
            let Some(var) = btf.type_by_id::<Var<'_>>(info.ty) else {
                continue;
            };
            let var_name = var.name().unwrap_or_default();
            if var_name == OsStr::new(name) {
                return Ok(Global {
                    section: section.into_owned(),
                    offset: info.offset as usize,
                    size: info.size,
                });
            }
            if section.starts_with(".rodata")
                || section.starts_with(".data")
                || section.starts_with(".bss")
            {
                known.push(var_name.to_string_lossy().into_owned());
            }
        }
    }
    Err(not_found("global variable", name, &known))
}

/// Every global variable of `btf`'s data sections, at most `cap` bytes of
/// them as the guest receives them.
fn list(btf: Option<Btf<'_>>, cap: usize) -> BpfResult<Vec<GlobalInfo>> {
    let btf = named(btf)?;
    let mut globals = Vec::new();
    let mut bytes = 0usize;
    for sec in btf.type_by_kind::<DataSec<'_>>() {
        let section = sec.name().unwrap_or_default().to_string_lossy();
        for info in sec.iter() {
            let Some(var) = btf.type_by_id::<Var<'_>>(info.ty) else {
                continue;
            };
            let name = var.name().unwrap_or_default().to_string_lossy();
            bytes += name.len() + section.len() + size_of::<GlobalInfo>();
            fits("the object's globals", bytes, cap)?;
            globals.push(GlobalInfo {
                name: name.into_owned(),
                section: section.clone().into_owned(),
                size: u32::try_from(info.size).unwrap_or(u32::MAX),
            });
        }
    }
    Ok(globals)
}

/// The globals of an opened object (see [`list`]).
pub(crate) fn of_open(open: &OpenObject, cap: usize) -> BpfResult<Vec<GlobalInfo>> {
    list(open_btf(open)?, cap)
}

/// The globals of a loaded object (see [`list`]).
pub(crate) fn of_loaded(obj: &Object, cap: usize) -> BpfResult<Vec<GlobalInfo>> {
    let btf = obj
        .btf()
        .map_err(|e| BpfError::libbpf("reading the object's BTF", &e, ""))?;
    list(btf, cap)
}

/// Whether `map_name` is libbpf's internal map for data section `section`:
/// libbpf names it `<object name prefix><section>`, or just `<section>`.
fn is_section_map(map_name: &OsStr, section: &str) -> bool {
    map_name.as_encoded_bytes().ends_with(section.as_bytes())
}

fn no_section_map(name: &str, global: &Global) -> BpfError {
    BpfError::new(
        ErrorCode::InvalidArgument,
        format!(
            "global `{name}` lives in section `{}`, which has no map; only globals in \
             .rodata, .data and .bss can be read or set",
            global.section
        ),
    )
}

fn check_size(name: &str, global: &Global, len: usize) -> BpfResult<()> {
    if len == global.size {
        return Ok(());
    }
    Err(BpfError::new(
        ErrorCode::InvalidArgument,
        format!(
            "global `{name}` is {} bytes, but the value given is {len} bytes",
            global.size
        ),
    ))
}

/// The BTF of an opened object.
fn open_btf(open: &OpenObject) -> BpfResult<Option<Btf<'_>>> {
    // SAFETY: the pointer comes from a live `OpenObject`, borrowed for as
    // long as the BTF is.
    Btf::from_bpf_object(unsafe { open.as_libbpf_object().as_ref() })
        .map_err(|e| BpfError::libbpf("reading the object's BTF", &e, ""))
}

/// Sets global `name` of an opened object to `value`.
pub(crate) fn set(open: &mut OpenObject, name: &str, value: &[u8]) -> BpfResult<()> {
    let global = find_global(open_btf(open)?, name)?;
    check_size(name, &global, value.len())?;
    let mut map = open
        .maps_mut()
        .find(|m| is_section_map(m.name(), &global.section))
        .ok_or_else(|| no_section_map(name, &global))?;
    let data = map
        .initial_value_mut()
        .and_then(|data| data.get_mut(global.offset..global.offset + global.size))
        .ok_or_else(|| no_section_map(name, &global))?;
    data.copy_from_slice(value);
    Ok(())
}

/// Refuses to copy `bytes` bytes of `what` for the guest past `cap`, the
/// most one call builds for it.
fn fits(what: &str, bytes: usize, cap: usize) -> BpfResult<()> {
    if bytes > cap {
        return Err(super::limits::result_too_big(
            what,
            cap,
            "read a smaller global, or raise --max-memory",
        ));
    }
    Ok(())
}

/// The initial value of global `name` of an opened object, at most `cap`
/// bytes.
pub(crate) fn initial(open: &OpenObject, name: &str, cap: usize) -> BpfResult<Vec<u8>> {
    let global = find_global(open_btf(open)?, name)?;
    fits(&format!("global `{name}`'s bytes"), global.size, cap)?;
    open.maps()
        .find(|m| is_section_map(m.name(), &global.section))
        .and_then(|m| {
            m.initial_value()
                .and_then(|d| d.get(global.offset..global.offset + global.size))
                .map(<[u8]>::to_vec)
        })
        .ok_or_else(|| no_section_map(name, &global))
}

/// The value the kernel holds now for global `name` of a loaded object,
/// read from a section of at most `cap` bytes.
pub(crate) fn current(obj: &Object, name: &str, cap: usize) -> BpfResult<Vec<u8>> {
    let btf = obj
        .btf()
        .map_err(|e| BpfError::libbpf("reading the object's BTF", &e, ""))?;
    let global = find_global(btf, name)?;
    let map = obj
        .maps()
        .find(|m| is_section_map(m.name(), &global.section))
        .ok_or_else(|| no_section_map(name, &global))?;
    fits(
        &format!("section {} (global `{name}`'s)", global.section),
        map.value_size() as usize,
        cap,
    )?;
    // Internal maps are single-entry arrays: key 0 holds the whole section
    // as the kernel sees it now.
    let section = map
        .lookup(&0u32.to_ne_bytes(), MapFlags::ANY)
        .map_err(|e| BpfError::libbpf("reading the data section", &e, ""))?
        .unwrap_or_default();
    section
        .get(global.offset..global.offset + global.size)
        .map(<[u8]>::to_vec)
        .ok_or_else(|| no_section_map(name, &global))
}
