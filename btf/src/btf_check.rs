//! Checks libbpf 1.7 lacks, both found by fuzzing: when an object's
//! typedefs and qualifiers form a loop, `bpf_object__open_mem` follows it
//! forever; and a type of 2 GiB or more overflows the `int` libbpf keeps
//! some sizes in (a `.kconfig` extern's), whose negative value then comes
//! back from `bpf_object__open_mem` as an object pointer. The host and
//! `wasm-bpf gen` check an object's BTF before libbpf opens it.

use anyhow::{bail, Result};

use crate::raw::RawBtf;

/// Kinds libbpf's `skip_mods_and_typedefs` walks through.
const CHAINED: [u32; 5] = [
    libbpf_sys::BTF_KIND_TYPEDEF,
    libbpf_sys::BTF_KIND_VOLATILE,
    libbpf_sys::BTF_KIND_CONST,
    libbpf_sys::BTF_KIND_RESTRICT,
    libbpf_sys::BTF_KIND_TYPE_TAG,
];

/// Fails if a chain of typedefs and qualifiers in the object's BTF loops,
/// or a type is 2 GiB or more. Objects libbpf cannot parse at all pass:
/// libbpf reports those itself.
pub fn check_type_chains(elf: &[u8]) -> Result<()> {
    let Some(btf) = RawBtf::of_object(elf) else {
        return Ok(());
    };
    check(&btf)
}

fn check(btf: &RawBtf) -> Result<()> {
    if let Some(id) = find_loop(btf) {
        bail!("malformed BTF: the typedefs and qualifiers from type {id} loop");
    }
    let too_big = (1..btf.type_count()).find_map(|id| {
        Some((id, btf.resolve_size(id)?)).filter(|(_, size)| *size > i64::from(i32::MAX))
    });
    if let Some((id, size)) = too_big {
        bail!("malformed BTF: type {id} is {size} bytes (2 GiB or more)");
    }
    Ok(())
}

/// The raw BTF to use as a kernel's, from `file`: raw BTF as
/// `/sys/kernel/btf/vmlinux` and BTFHub's files hold it, or an ELF file
/// with a `.BTF` section. Fails unless libbpf parses it and its chains of
/// typedefs and qualifiers end.
pub fn check_kernel_btf(file: &[u8]) -> Result<Vec<u8>> {
    let raw = crate::elf::section(file, ".BTF").unwrap_or(file);
    let Some(btf) = RawBtf::parse(raw) else {
        bail!("not BTF: neither raw BTF (as /sys/kernel/btf/vmlinux) nor an ELF file with a .BTF section");
    };
    check(&btf)?;
    Ok(raw.to_vec())
}

/// A type whose chain of typedefs and qualifiers loops, walking each type
/// once: 0 unseen, 1 on the current chain, 2 known to end.
fn find_loop(btf: &RawBtf) -> Option<u32> {
    let count = btf.type_count();
    let mut state = vec![0u8; count as usize];
    for first in 1..count {
        let mut chain = Vec::new();
        let mut id = first;
        loop {
            match state.get(id as usize) {
                Some(1) => return Some(first),
                Some(0) => {}
                _ => break,
            }
            state[id as usize] = 1;
            chain.push(id);
            let Some(header) = btf.header(id) else { break };
            if !CHAINED.contains(&header.kind) {
                break;
            }
            id = header.next;
        }
        for id in chain {
            state[id as usize] = 2;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #[test]
    fn non_elf_input_passes_through() {
        assert!(super::check_type_chains(b"not an object").is_ok());
    }

    /// The fuzzer's input: a `.kconfig` extern of a 4 GiB - 655359 byte
    /// type, which made libbpf hand back an error code as an object.
    #[test]
    fn a_type_of_2_gib_or_more_is_refused() {
        let elf = include_bytes!(
            "../../guest-sdk-rust/build/tests/fuzz-regressions/kcfg-extern-size-overflow-crashes-libbpf.bpf.o"
        );
        let e = super::check_type_chains(elf).unwrap_err();
        assert!(e.to_string().contains("2 GiB or more"), "{e}");
    }
}
