//! The policy's check of what a program calls, over arbitrary instruction
//! streams and grants, against the running kernel's BTF.
//!
//! Each input is read as grants (dangerous helpers and kfuncs) and a
//! stream of instructions biased towards calls: helpers (dangerous or
//! not), kfuncs of the kernel (read-only or acting) or of a module,
//! BPF-to-BPF calls, and any other bytes.
//!
//! What must hold:
//! * no panic, whatever the bytes;
//! * the policy refuses exactly when a reading of the raw bytes, made here
//!   independently of the host's decoder, finds a call to a dangerous
//!   helper or a kfunc that is neither read-only nor granted (or cannot be
//!   named), and a refusal is `permission-denied` naming what to grant;
//! * the check touches nothing in the kernel: no BPF fd is opened.

#![no_main]

#[path = "common.rs"]
mod common;

use std::sync::{Mutex, OnceLock};

use common::{bpf_fds, Choices};
use libbpf_sys::bpf_insn;
use libfuzzer_sys::fuzz_target;
use wasm_bpf::bindings::types::ErrorCode;
use wasm_bpf::bpf::calls;
use wasm_bpf::bpf::policy::Policy;
use wasm_bpf::BpfError;
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
        0 => u32::from(c.byte()) % 220,
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
fn refused(bytes: &[u8], policy: &Policy, btf: &RawBtf) -> bool {
    let src = bytes[1] >> 4;
    let off = i16::from_le_bytes([bytes[2], bytes[3]]);
    let imm = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
    if bytes[0] != CALL {
        return false;
    }
    match src {
        0 => calls::dangerous_helper(imm).is_some_and(|name| !policy.helpers.contains(name)),
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
    let granted_helpers = c.byte();
    for (bit, helper) in [
        "bpf_probe_write_user",
        "bpf_override_return",
        "bpf_send_signal",
        "bpf_send_signal_thread",
        "bpf_sys_bpf",
        "bpf_sys_close",
    ]
    .into_iter()
    .enumerate()
    {
        if granted_helpers & (1 << bit) != 0 {
            policy.helpers.insert(helper.to_string());
        }
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
            .any(|insn| refused(insn, &policy, btf))
    };
    let fds = bpf_fds();
    let checked = policy.check_calls("fuzzed", &insns, &mut btf);
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
