//! The name of the C source an object was compiled from, which libbpf
//! tools use as the object's name (`bootstrap` for `bootstrap.bpf.c`).
//!
//! A BPF object has no symbol naming its file; the name is in the line
//! information clang writes with `-g` (`.BTF.ext`), as an offset into the
//! BTF's strings.

use crate::RawBtf;

/// `BTF_EXT` magic, as in the kernel's `struct btf_ext_header`.
const MAGIC: u16 = 0xeb9f;

fn u32_at(bytes: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        bytes.get(off..off.checked_add(4)?)?.try_into().ok()?,
    ))
}

/// The BTF string offset of the file named by the first line record.
fn first_file_offset(ext: &[u8]) -> Option<u32> {
    if u16::from_le_bytes(ext.get(0..2)?.try_into().ok()?) != MAGIC {
        return None;
    }
    // struct btf_ext_header: magic, version, flags, hdr_len, func_info_off,
    // func_info_len, line_info_off, line_info_len.
    let hdr_len = usize::try_from(u32_at(ext, 4)?).ok()?;
    let line_off = usize::try_from(u32_at(ext, 16)?).ok()?;
    let line_len = u32_at(ext, 20)?;
    let start = hdr_len.checked_add(line_off)?;
    // The line info: rec_size, then per section sec_name_off, num_info and
    // num_info records of insn_off, file_name_off, line_off, line_col.
    let rec_size = u32_at(ext, start)?;
    let first_record_end = rec_size.checked_add(4 + 8)?;
    if line_len < first_record_end || rec_size < 16 || u32_at(ext, start.checked_add(8)?)? == 0 {
        return None;
    }
    u32_at(ext, start.checked_add(12 + 4)?)
}

/// The stem of the source file `elf` was compiled from (its directory and
/// `.bpf.c`, `.c` suffix cut), if it was compiled with line information.
pub fn source_name(elf: &[u8]) -> Option<String> {
    let ext = crate::elf::section(elf, ".BTF.ext")?;
    let path = RawBtf::of_object(elf)?.string(first_file_offset(ext)?)?;
    let file = path.rsplit('/').next()?;
    let stem = file
        .strip_suffix(".bpf.c")
        .or_else(|| file.strip_suffix(".c"))
        .unwrap_or(file);
    (!stem.is_empty()).then(|| stem.to_string())
}
