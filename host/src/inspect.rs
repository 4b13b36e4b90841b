//! `wasm-bpf inspect`: what a component would do in the kernel, read from
//! the BPF objects it embeds, and the grants `wasm-bpf run` would need.
//!
//! Objects are found by their ELF header (64-bit, `EM_BPF`) anywhere in the
//! component's bytes, which is where `include_bytes!`/`#embed` put them. An
//! object built at run time, or compressed, is not found.
//!
//! The report reads the object as built, before libbpf relocates it, and
//! errs on the side of asking: a program that calls any function is
//! counted with every subprogram's helpers and every kfunc of its object.
//! `run` checks the exact instructions the kernel receives.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use anyhow::{Context as _, Result};
use libbpf_rs::btf::types::Enum;
use libbpf_rs::{Btf, ObjectBuilder, ProgramType};
use wasm_bpf_btf::RawBtf;

use crate::bpf::calls::{self, Call};
use crate::bpf::log;
use crate::bpf::policy;
use crate::bpf::program::expected_attach_type;

/// The ELF objects for BPF inside `bytes`, with their offsets.
pub fn embedded_objects(bytes: &[u8]) -> Vec<(usize, &[u8])> {
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(pos) = find(&bytes[at..], b"\x7fELF\x02\x01") {
        let start = at + pos;
        match wasm_bpf_btf::elf::bpf_object_len(&bytes[start..]) {
            Some(len) => {
                found.push((start, &bytes[start..start + len]));
                at = start + len;
            }
            None => at = start + 1,
        }
    }
    found
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Helper names by number, from the running kernel's `enum bpf_func_id`.
fn helper_names() -> BTreeMap<u32, String> {
    let Ok(btf) = Btf::from_vmlinux() else {
        return BTreeMap::new();
    };
    let Some(ids) = btf.type_by_name::<Enum<'_>>("bpf_func_id") else {
        return BTreeMap::new();
    };
    ids.iter()
        .filter_map(|v| {
            let name = v.name?.to_str()?.strip_prefix("BPF_FUNC_")?;
            Some((v.value as u32, format!("bpf_{name}")))
        })
        .collect()
}

/// The grants a program needs, as `wasm-bpf run` flags.
fn grants(ty: ProgramType, attach: u32, section: &str, dangerous: &BTreeSet<&str>) -> Vec<String> {
    let mut needs = Vec::new();
    if let Some(hook) = policy::load_hook(ty, attach) {
        needs.push(format!("--allow {}", hook.name()));
    }
    if policy::is_kprobe_section(section) {
        needs.push("--allow kprobe".into());
    }
    needs.extend(dangerous.iter().map(|h| format!("--allow-helper {h}")));
    match policy::section_binary(section) {
        Some(path) => needs.push(match policy::resolve_binary(path) {
            Some(file) => format!("--dir {}", file.parent().unwrap_or(&file).display()),
            None => format!("--dir DIR (where `{path}` is; not found on this machine)"),
        }),
        None if ["uprobe", "uretprobe", "usdt"]
            .iter()
            .any(|p| section.starts_with(p)) =>
        {
            needs.push("--dir DIR (the probed binary's) or --allow-pid PID".into());
        }
        None => {}
    }
    match ty {
        ProgramType::Xdp
        | ProgramType::SchedCls
        | ProgramType::SchedAct
        | ProgramType::SocketFilter => {
            needs.push("--allow-net IFACE".into());
        }
        _ if policy::load_hook(ty, attach) == Some(policy::Hook::Cgroup) => {
            needs.push("--dir CGROUP-DIR (a cgroup v2 directory)".into());
        }
        _ => {}
    }
    needs
}

/// A report on one embedded object.
fn object_report(
    out: &mut String,
    index: usize,
    offset: usize,
    elf: &[u8],
    helpers: &BTreeMap<u32, String>,
) -> Result<BTreeSet<String>> {
    wasm_bpf_btf::check_type_chains(elf)
        .with_context(|| format!("object {index} at byte {offset}"))?;
    let mut builder = ObjectBuilder::default();
    builder
        .name(format!("obj{index}"))
        .context("naming the object")?;
    let (opened, _log) = log::capture(None, || builder.open_memory(elf));
    let open = opened
        .with_context(|| format!("object {index} at byte {offset} is not a usable BPF object"))?;
    let _ = writeln!(out, "object {index}: {} bytes at byte {offset}", elf.len());
    // Subprograms are in .text; libbpf appends the ones a program calls
    // only when it loads, so a program that calls any function is counted
    // with every subprogram's helpers and every kfunc of the object.
    let subprograms = calls::insns_of(wasm_bpf_btf::elf::section(elf, ".text").unwrap_or(&[]));
    let kfuncs = RawBtf::of_object(elf).map_or_else(BTreeSet::new, |btf| btf.extern_funcs());
    let mut all = BTreeSet::new();
    for prog in open.progs() {
        let name = prog.name().to_string_lossy();
        let section = prog.section().to_string_lossy();
        let attach = expected_attach_type(&prog);
        let reaches = calls::calls_functions(prog.insns());
        let reached: &[_] = if reaches { &subprograms } else { &[] };
        let used: BTreeSet<String> = calls::calls(prog.insns())
            .chain(calls::calls(reached))
            .filter_map(|call| match call {
                Call::Helper(id) => Some(id),
                Call::Kfunc { .. } => None,
            })
            .map(|id| {
                helpers
                    .get(&id)
                    .cloned()
                    .unwrap_or_else(|| format!("helper #{id}"))
            })
            .collect();
        let mut dangerous = calls::dangerous_helpers(prog.insns());
        dangerous.extend(calls::dangerous_helpers(reached));
        let mut needs = grants(prog.prog_type(), attach, &section, &dangerous);
        let _ = writeln!(
            out,
            "  program {name}: section {section}, type {:?}",
            prog.prog_type()
        );
        if !used.is_empty() {
            let _ = writeln!(
                out,
                "    helpers{}: {}",
                if reaches && !subprograms.is_empty() {
                    " (its own and its subprograms')"
                } else {
                    ""
                },
                used.into_iter().collect::<Vec<_>>().join(", ")
            );
        }
        if reaches && !kfuncs.is_empty() {
            let _ = writeln!(
                out,
                "    may call kfuncs: {}",
                kfuncs.iter().cloned().collect::<Vec<_>>().join(", ")
            );
            needs.extend(
                kfuncs
                    .iter()
                    .filter(|k| !calls::kfunc_is_read_only(k))
                    .map(|k| format!("--allow-kfunc {k}")),
            );
        }
        if !needs.is_empty() {
            let _ = writeln!(out, "    needs: {}", needs.join(", "));
        }
        all.extend(needs);
    }
    for map in open.maps() {
        let _ = writeln!(
            out,
            "  map {}: {:?}, key {} bytes, value {} bytes, {} entries",
            map.name().to_string_lossy(),
            map.map_type(),
            map.key_size(),
            map.value_size(),
            map.max_entries()
        );
        if policy::pin_path(&map).is_some() {
            let _ = writeln!(out, "    pinned by name; needs: --allow-pin DIR");
            all.insert("--allow-pin DIR".to_string());
        }
    }
    Ok(all)
}

/// The report for the component (or core module) `bytes`.
pub fn inspect(bytes: &[u8]) -> Result<String> {
    let objects = embedded_objects(bytes);
    if objects.is_empty() {
        anyhow::bail!("no embedded BPF object found (objects are found by their ELF header; one loaded from a file or built at run time is not)");
    }
    let helpers = helper_names();
    let mut out = String::new();
    let mut needs = BTreeSet::new();
    for (index, (offset, elf)) in objects.into_iter().enumerate() {
        match object_report(&mut out, index + 1, offset, elf, &helpers) {
            Ok(object_needs) => needs.extend(object_needs),
            // An embedded object a guest could not open either.
            Err(e) => {
                let _ = writeln!(out, "object {}: not usable: {e:#}", index + 1);
            }
        }
    }
    if needs.is_empty() {
        out.push_str("grants needed: none (tracing only)\n");
    } else {
        let _ = writeln!(
            out,
            "grants needed: {}",
            needs.into_iter().collect::<Vec<_>>().join(" ")
        );
    }
    Ok(out)
}
