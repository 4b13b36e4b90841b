//! A check libbpf 1.7 lacks: when an object's typedefs and qualifiers form
//! a loop, `bpf_object__open_mem` follows it forever (found by fuzzing).
//! The host and `wasm-bpf gen` check an object's BTF before libbpf opens it.

use anyhow::{bail, Result};

/// Kinds libbpf's `skip_mods_and_typedefs` walks through.
const CHAINED: [u32; 5] = [
    libbpf_sys::BTF_KIND_TYPEDEF,
    libbpf_sys::BTF_KIND_VOLATILE,
    libbpf_sys::BTF_KIND_CONST,
    libbpf_sys::BTF_KIND_RESTRICT,
    libbpf_sys::BTF_KIND_TYPE_TAG,
];

/// Fails if a chain of typedefs and qualifiers in the object's BTF loops.
/// Objects libbpf cannot parse at all pass: libbpf reports those itself.
pub fn check_type_chains(elf: &[u8]) -> Result<()> {
    let Some(raw) = crate::elf::section(elf, ".BTF") else {
        return Ok(());
    };
    let Ok(size) = u32::try_from(raw.len()) else {
        return Ok(());
    };
    // SAFETY: libbpf copies `size` bytes from `raw` and returns an owned
    // BTF or an error pointer.
    let btf = unsafe { libbpf_sys::btf__new(raw.as_ptr().cast(), size) };
    // SAFETY: `btf` is what btf__new returned.
    if btf.is_null() || unsafe { libbpf_sys::libbpf_get_error(btf.cast()) } != 0 {
        return Ok(());
    }
    let looping = find_loop(btf);
    // SAFETY: `btf` is owned here and not used afterwards.
    unsafe { libbpf_sys::btf__free(btf) };
    if let Some(id) = looping {
        bail!("malformed BTF: the typedefs and qualifiers from type {id} loop");
    }
    Ok(())
}

/// A type whose chain of typedefs and qualifiers loops, walking each type
/// once: 0 unseen, 1 on the current chain, 2 known to end.
fn find_loop(btf: *mut libbpf_sys::btf) -> Option<u32> {
    // SAFETY: `btf` is a live BTF.
    let count = unsafe { libbpf_sys::btf__type_cnt(btf) };
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
            // SAFETY: `id` is below the type count of the live BTF.
            let ty = unsafe { libbpf_sys::btf__type_by_id(btf, id) };
            if ty.is_null() {
                break;
            }
            // SAFETY: libbpf returned a pointer to one of its types.
            let (info, next) = unsafe { ((*ty).info, (*ty).__bindgen_anon_1.type_) };
            if !CHAINED.contains(&((info >> 24) & 0x1f)) {
                break;
            }
            id = next;
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
}
