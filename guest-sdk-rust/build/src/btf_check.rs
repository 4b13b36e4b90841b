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

/// The bytes of section `name` of a little-endian ELF64 file. Reading a
/// section table takes a few lines; an ELF crate would add a dependency
/// for them.
fn elf_section<'a>(elf: &'a [u8], name: &str) -> Option<&'a [u8]> {
    let field = |off: usize, len: usize| elf.get(off..off.checked_add(len)?);
    let u16_at = |off: usize| Some(u16::from_le_bytes(field(off, 2)?.try_into().ok()?));
    let u32_at = |off: usize| Some(u32::from_le_bytes(field(off, 4)?.try_into().ok()?));
    let u64_at = |off: usize| Some(u64::from_le_bytes(field(off, 8)?.try_into().ok()?));
    if elf.get(..6)? != b"\x7fELF\x02\x01" {
        return None;
    }
    let shoff = usize::try_from(u64_at(0x28)?).ok()?;
    let (entsize, count, names) = (
        usize::from(u16_at(0x3a)?),
        usize::from(u16_at(0x3c)?),
        usize::from(u16_at(0x3e)?),
    );
    let header = |i: usize| shoff.checked_add(i.checked_mul(entsize)?);
    let bytes_of = |h: usize| -> Option<&'a [u8]> {
        let start = usize::try_from(u64_at(h.checked_add(24)?)?).ok()?;
        let len = usize::try_from(u64_at(h.checked_add(32)?)?).ok()?;
        elf.get(start..start.checked_add(len)?)
    };
    let strings = bytes_of(header(names)?)?;
    (0..count).find_map(|i| {
        let h = header(i)?;
        let at = usize::try_from(u32_at(h)?).ok()?;
        let rest = strings.get(at..)?;
        let end = rest.iter().position(|&b| b == 0)?;
        (&rest[..end] == name.as_bytes())
            .then(|| bytes_of(h))
            .flatten()
    })
}

/// Fails if a chain of typedefs and qualifiers in the object's BTF loops.
/// Objects libbpf cannot parse at all pass: libbpf reports those itself.
pub fn check_type_chains(elf: &[u8]) -> Result<()> {
    let Some(raw) = elf_section(elf, ".BTF") else {
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
        assert!(super::elf_section(b"\x7fELF\x02\x01", ".BTF").is_none());
    }
}
