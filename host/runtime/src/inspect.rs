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

use std::collections::BTreeSet;
use std::fmt;

use anyhow::{Context as _, Result};
use libbpf_rs::{ObjectBuilder, ProgramType};
use serde::{Deserialize, Serialize};
use wasm_bpf_btf::RawBtf;

use crate::bpf::calls::{self, Call};
use crate::bpf::helpers::{self, Class, Helper};
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

/// The grants a program needs, as `wasm-bpf run` flags.
fn grants(
    ty: ProgramType,
    attach: u32,
    section: &str,
    helper_grants: &BTreeSet<&str>,
) -> Vec<String> {
    let mut needs = Vec::new();
    if let Some(hook) = policy::load_hook(ty, attach) {
        needs.push(format!("--allow {}", hook.name()));
    }
    if policy::is_kprobe_section(section) {
        needs.push("--allow kprobe".into());
    }
    needs.extend(helper_grants.iter().map(|h| format!("--allow-helper {h}")));
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
    match policy::runs(ty) {
        policy::Runs::OnInterface => {
            needs.push("--allow-net IFACE".into());
        }
        _ if policy::load_hook(ty, attach) == Some(policy::Hook::Cgroup) => {
            needs.push("--dir CGROUP-DIR (a cgroup v2 directory)".into());
        }
        _ => {}
    }
    needs
}

/// What `inspect` found: the embedded objects and the grants they need.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Report {
    pub objects: Vec<ObjectReport>,
    /// Every grant the objects need, as `wasm-bpf run` flags.
    pub grants: BTreeSet<String>,
}

/// One embedded object.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ObjectReport {
    /// The byte in the component where the object starts.
    pub offset: usize,
    pub size: usize,
    /// Why the object is unusable (libbpf could not open it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default)]
    pub programs: Vec<ProgramReport>,
    #[serde(default)]
    pub maps: Vec<MapReport>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ProgramReport {
    pub name: String,
    pub section: String,
    #[serde(rename = "type")]
    pub prog_type: String,
    pub helpers: Vec<String>,
    /// Calls inspect cannot name or classify (an unknown helper number,
    /// a call libbpf marked as a failed relocation), each explained: the
    /// program's grants are then not all known.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unreadable: Vec<String>,
    /// Whether `helpers` counts those of every subprogram it may call.
    #[serde(default)]
    pub with_subprograms: bool,
    #[serde(default)]
    pub kfuncs: Vec<String>,
    pub needs: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct MapReport {
    pub name: String,
    #[serde(rename = "type")]
    pub map_type: String,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    #[serde(default)]
    pub pinned: bool,
}

impl MapReport {
    fn is_arena(&self) -> bool {
        self.map_type == format!("{:?}", libbpf_rs::MapType::Arena)
    }
}

/// The report on one embedded object.
fn object_report(index: usize, offset: usize, elf: &[u8]) -> Result<ObjectReport> {
    wasm_bpf_btf::check_type_chains(elf)
        .with_context(|| format!("object {index} at byte {offset}"))?;
    let mut builder = ObjectBuilder::default();
    builder
        .name(format!("obj{index}"))
        .context("naming the object")?;
    let (opened, _log) = log::capture(&log::Settings::silent(), || builder.open_memory(elf));
    let open = opened
        .with_context(|| format!("object {index} at byte {offset} is not a usable BPF object"))?;
    let mut report = ObjectReport {
        offset,
        size: elf.len(),
        ..ObjectReport::default()
    };
    // Subprograms are in .text; libbpf appends the ones a program calls
    // only when it loads, so a program that calls any function is counted
    // with every subprogram's helpers and every kfunc of the object.
    let subprograms = calls::insns_of(wasm_bpf_btf::elf::section(elf, ".text").unwrap_or(&[]));
    let kfuncs = RawBtf::of_object(elf).map_or_else(BTreeSet::new, |btf| btf.extern_funcs());
    for prog in open.progs() {
        let section = prog.section().to_string_lossy();
        let attach = expected_attach_type(&prog);
        let reaches = calls::calls_functions(prog.insns());
        let reached: &[_] = if reaches { &subprograms } else { &[] };
        let ty = prog.prog_type();
        let mut used = BTreeSet::new();
        let mut granted = BTreeSet::new();
        let mut unreadable = BTreeSet::new();
        let own = prog
            .insns()
            .iter()
            .enumerate()
            .map(|(at, insn)| (Some(at), insn));
        let subs = reached.iter().map(|insn| (None, insn));
        for (at, insn) in own.chain(subs) {
            let Some(Call::Helper(id)) = calls::call(insn) else {
                continue;
            };
            let place = at.map_or_else(
                || "in a subprogram".to_string(),
                |at| format!("at instruction {at}"),
            );
            match helpers::helper(id) {
                Helper::Known(name, class) => {
                    used.insert(name.to_string());
                    if helpers::needs_grant(class, ty, attach) {
                        granted.insert(name);
                    }
                }
                Helper::Poisoned(poison) => {
                    unreadable.insert(format!(
                        "{place}: a call libbpf wrote over {} (helper #{id}); the kernel \
                         refuses it if it is reachable",
                        poison.describe()
                    ));
                }
                Helper::Unknown => {
                    unreadable.insert(format!(
                        "{place}: helper #{id}, which wasm-bpf does not know (run refuses it)"
                    ));
                }
            }
        }
        let mut needs = grants(ty, attach, &section, &granted);
        let may_call: Vec<String> = if reaches {
            kfuncs.iter().cloned().collect()
        } else {
            Vec::new()
        };
        needs.extend(
            may_call
                .iter()
                .filter(|k| !calls::kfunc_is_read_only(k))
                .map(|k| format!("--allow-kfunc {k}")),
        );
        report.programs.push(ProgramReport {
            name: prog.name().to_string_lossy().into_owned(),
            section: section.into_owned(),
            prog_type: format!("{ty:?}"),
            helpers: used.into_iter().collect(),
            unreadable: unreadable.into_iter().collect(),
            with_subprograms: reaches && !subprograms.is_empty(),
            kfuncs: may_call,
            needs,
        });
    }
    for map in open.maps() {
        report.maps.push(MapReport {
            name: map.name().to_string_lossy().into_owned(),
            map_type: format!("{:?}", map.map_type()),
            key_size: map.key_size(),
            value_size: map.value_size(),
            max_entries: map.max_entries(),
            pinned: policy::pin_path(&map).is_some(),
        });
    }
    Ok(report)
}

/// The report for the component (or core module) `bytes`.
pub fn inspect(bytes: &[u8]) -> Result<Report> {
    let objects = embedded_objects(bytes);
    if objects.is_empty() {
        anyhow::bail!("no embedded BPF object found (objects are found by their ELF header; one loaded from a file or built at run time is not)");
    }
    let mut report = Report::default();
    for (index, (offset, elf)) in objects.into_iter().enumerate() {
        let object = match object_report(index + 1, offset, elf) {
            Ok(object) => object,
            // An embedded object a guest could not open either.
            Err(e) => ObjectReport {
                offset,
                size: elf.len(),
                error: Some(format!("{e:#}")),
                ..ObjectReport::default()
            },
        };
        report
            .grants
            .extend(object.programs.iter().flat_map(|p| p.needs.iter().cloned()));
        if object.maps.iter().any(|m| m.pinned) {
            report.grants.insert("--allow-pin DIR".to_string());
        }
        if object.maps.iter().any(MapReport::is_arena) {
            report.grants.insert("--allow arena".to_string());
        }
        report.objects.push(object);
    }
    Ok(report)
}

impl fmt::Display for Report {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, object) in self.objects.iter().enumerate() {
            let index = index + 1;
            if let Some(error) = &object.error {
                writeln!(out, "object {index}: not usable: {error}")?;
                continue;
            }
            writeln!(
                out,
                "object {index}: {} bytes at byte {}",
                object.size, object.offset
            )?;
            for prog in &object.programs {
                writeln!(
                    out,
                    "  program {}: section {}, type {}",
                    prog.name, prog.section, prog.prog_type
                )?;
                let whose = if prog.with_subprograms {
                    " (its own and its subprograms')"
                } else {
                    ""
                };
                for class in [Class::Reads, Class::Own, Class::Hook, Class::Acts] {
                    let named: Vec<&str> = prog
                        .helpers
                        .iter()
                        .filter(|h| helpers::class_of(h) == Some(class))
                        .map(String::as_str)
                        .collect();
                    if !named.is_empty() {
                        let what = class.describe();
                        writeln!(out, "    helpers{whose} {what}: {}", named.join(", "))?;
                    }
                }
                for call in &prog.unreadable {
                    writeln!(out, "    cannot read: {call}")?;
                }
                if !prog.kfuncs.is_empty() {
                    writeln!(out, "    may call kfuncs: {}", prog.kfuncs.join(", "))?;
                }
                if !prog.needs.is_empty() {
                    writeln!(out, "    needs: {}", prog.needs.join(", "))?;
                }
            }
            for map in &object.maps {
                writeln!(
                    out,
                    "  map {}: {}, key {} bytes, value {} bytes, {} entries",
                    map.name, map.map_type, map.key_size, map.value_size, map.max_entries
                )?;
                if map.pinned {
                    writeln!(out, "    pinned by name; needs: --allow-pin DIR")?;
                }
                if map.is_arena() {
                    writeln!(
                        out,
                        "    shared with the host process; needs: --allow arena"
                    )?;
                }
            }
        }
        let grants: Vec<_> = self.grants.iter().map(String::as_str).collect();
        let unread = self
            .objects
            .iter()
            .any(|o| o.error.is_some() || o.programs.iter().any(|p| !p.unreadable.is_empty()));
        match (unread, grants.is_empty()) {
            (false, true) => writeln!(out, "grants needed: none (tracing only)"),
            (false, false) => writeln!(out, "grants needed: {}", grants.join(" ")),
            (true, true) => writeln!(
                out,
                "grants needed: unknown (what inspect could not read is above)"
            ),
            (true, false) => writeln!(
                out,
                "grants needed: at least {} (what inspect could not read is above)",
                grants.join(" ")
            ),
        }
    }
}
