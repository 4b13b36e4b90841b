//! The policy's check of what a program calls, over arbitrary instruction
//! streams and grants, against the running kernel's BTF.
//!
//! Each input is read as a program type, grants (helpers and kfuncs) and
//! a stream of instructions biased towards calls: helpers (known, unknown
//! or libbpf's poisoned calls), kfuncs of the kernel (read-only or acting)
//! or of a module, BPF-to-BPF calls, and any other bytes.
//!
//! What must hold:
//! * no panic, whatever the bytes;
//! * the policy refuses exactly when a reading of the raw bytes, made here
//!   independently of the host's decoder, finds a call to a helper that
//!   the table says needs a grant in this program type and that is not
//!   granted, a helper the table does not know, or a kfunc that is neither
//!   read-only nor granted (or cannot be named), and a refusal is
//!   `permission-denied`;
//! * the check touches nothing in the kernel: no BPF fd is opened.

#![no_main]

#[path = "common.rs"]
mod common;

use std::sync::{Mutex, OnceLock};

use common::{bpf_fds, Choices};
use libbpf_sys::bpf_insn;
use libfuzzer_sys::fuzz_target;
use wasm_bpf_runtime::bindings::types::ErrorCode;
use libbpf_rs::ProgramType;
use wasm_bpf_runtime::bpf::helpers::{self, Helper};
use wasm_bpf_runtime::bpf::{calls, policy::Policy};
use wasm_bpf_runtime::BpfError;
use wasm_bpf_btf::RawBtf;

/// `BPF_JMP | BPF_CALL`.
const CALL: u8 = 0x85;

/// The kernel's BTF functions, by id, split into those a program may call
/// without a grant and the others.
struct Funcs {
    btf: Mutex<Option<RawBtf>>,
    read_only: Vec<(u32, String)>,
    acting: Vec<(u32, String)>,
}

fn funcs() -> &'static Funcs {
    static FUNCS: OnceLock<Funcs> = OnceLock::new();
    FUNCS.get_or_init(|| {
        let btf = RawBtf::kernel().expect("the kernel's BTF (tests/machine.sh)");
        let (read_only, acting) = (1..300_000)
            .filter_map(|id| Some((id, btf.func_name(id)?)))
            .partition(|(_, name)| calls::kfunc_is_read_only(name));
        Funcs {
            btf: Mutex::new(Some(btf)),
            read_only,
            acting,
        }
    })
}

fn pick<'a>(list: &'a [(u32, String)], c: &mut Choices<'_>) -> &'a (u32, String) {
    &list[c.u32() as usize % list.len()]
}

/// One instruction's 8 bytes, most of them calls.
fn instruction(c: &mut Choices<'_>, funcs: &Funcs, grants: &mut Vec<String>) -> [u8; 8] {
    let sel = c.byte();
    let code = if sel & 3 != 3 { CALL } else { c.byte() };
    let regs = c.byte();
    let src = match (sel >> 2) & 3 {
        3 => regs >> 4,
        known => known,
    };
    let off: i16 = if sel & 0x10 != 0 {
        i16::from(c.byte())
    } else {
        0
    };
    let imm: u32 = match src {
        0 => match c.byte() {
            0 => helpers::POISONED_CO_RE,
            1 => helpers::POISONED_KFUNC_BASE + u32::from(c.byte()),
            2 => helpers::POISONED_MAP_BASE + u32::from(c.byte()),
            n => u32::from(n) % 220,
        },
        2 => {
            let (id, name) = if sel & 0x20 != 0 {
                pick(&funcs.read_only, c)
            } else {
                pick(&funcs.acting, c)
            };
            if sel & 0x40 != 0 {
                grants.push(name.clone());
            }
            *id
        }
        _ => c.u32(),
    };
    let mut bytes = [0u8; 8];
    bytes[0] = code;
    bytes[1] = (regs & 0x0f) | (src << 4);
    bytes[2..4].copy_from_slice(&off.to_le_bytes());
    bytes[4..8].copy_from_slice(&imm.to_le_bytes());
    bytes
}

/// Whether one instruction's raw bytes call something `policy` must
/// refuse; read from the bytes as the kernel's UAPI lays them out.
fn refused(bytes: &[u8], policy: &Policy, btf: &RawBtf, ty: ProgramType, attach: u32) -> bool {
    let src = bytes[1] >> 4;
    let off = i16::from_le_bytes([bytes[2], bytes[3]]);
    let imm = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
    if bytes[0] != CALL {
        return false;
    }
    match src {
        0 => match helpers::helper(imm) {
            Helper::Known(name, class) => {
                helpers::needs_grant(class, ty, attach) && !policy.helpers.contains(name)
            }
            Helper::Poisoned(_) => false,
            Helper::Unknown => true,
        },
        2 if off != 0 => true,
        2 => btf
            .func_name(imm)
            .is_none_or(|name| !calls::kfunc_is_read_only(&name) && !policy.kfuncs.contains(&name)),
        _ => false,
    }
}

fuzz_target!(|data: &[u8]| {
    let funcs = funcs();
    let mut c = Choices(data);
    let mut policy = Policy::default();
    // A program that runs without a grant, one whose hook is granted at
    // load, one on an interface, and an iterator.
    let (ty, attach) = match c.byte() % 4 {
        0 => (ProgramType::Tracepoint, 0),
        1 => (ProgramType::SockOps, 0),
        2 => (ProgramType::SchedCls, 0),
        _ => (ProgramType::Tracing, libbpf_sys::BPF_TRACE_ITER),
    };
    for _ in 0..c.byte() % 4 {
        let (_, name, _) = helpers::HELPERS[c.byte() as usize % helpers::HELPERS.len()];
        policy.helpers.insert(name.to_string());
    }
    let count = usize::from(c.byte() % 64);
    let mut grants = Vec::new();
    let bytes: Vec<u8> = (0..count)
        .flat_map(|_| instruction(&mut c, funcs, &mut grants))
        .collect();
    policy.kfuncs.extend(grants);
    let insns: Vec<bpf_insn> = bytes
        .chunks_exact(8)
        // SAFETY: `bpf_insn` is 8 bytes of plain integers; any bytes are one.
        .map(|chunk| unsafe { std::ptr::read_unaligned(chunk.as_ptr().cast::<bpf_insn>()) })
        .collect();

    let mut btf = funcs.btf.lock().expect("not poisoned");
    let expected = {
        let btf = btf.as_ref().expect("loaded above");
        bytes
            .chunks_exact(8)
            .any(|insn| refused(insn, &policy, btf, ty, attach))
    };
    let fds = bpf_fds();
    let checked = policy.check_calls("fuzzed", ty, attach, &insns, &mut btf);
    assert_eq!(bpf_fds(), fds, "the check opened a BPF fd");
    match checked {
        Ok(()) => assert!(!expected, "a call that must be refused was allowed"),
        Err(BpfError::Guest(e)) => {
            assert!(expected, "refused without cause: {}", e.message);
            assert_eq!(e.code, ErrorCode::PermissionDenied, "{}", e.message);
            assert!(e.message.contains("program `fuzzed`"), "{}", e.message);
        }
        Err(other) => panic!("not a guest error: {other:?}"),
    }
});
