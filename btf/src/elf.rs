//! The few facts read straight from a little-endian ELF64 file's headers:
//! a section's bytes, and where an embedded BPF object ends. A dozen lines
//! of bounds-checked reads; an ELF crate would add a dependency for them.

const EM_BPF: u16 = 247;

/// Bounds-checked little-endian reads from `bytes`.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn bytes(&self, off: usize, len: usize) -> Option<&'a [u8]> {
        self.0.get(off..off.checked_add(len)?)
    }

    fn u16(&self, off: usize) -> Option<u16> {
        Some(u16::from_le_bytes(self.bytes(off, 2)?.try_into().ok()?))
    }

    fn u32(&self, off: usize) -> Option<u32> {
        Some(u32::from_le_bytes(self.bytes(off, 4)?.try_into().ok()?))
    }

    fn u64(&self, off: usize) -> Option<usize> {
        usize::try_from(u64::from_le_bytes(self.bytes(off, 8)?.try_into().ok()?)).ok()
    }

    /// The section header table: offset, entry size and entry count.
    fn section_table(&self) -> Option<(usize, usize, usize)> {
        if self.bytes(0, 6)? != b"\x7fELF\x02\x01" {
            return None;
        }
        Some((
            self.u64(0x28)?,
            usize::from(self.u16(0x3a)?),
            usize::from(self.u16(0x3c)?),
        ))
    }
}

/// The bytes of section `name`.
pub fn section<'a>(elf: &'a [u8], name: &str) -> Option<&'a [u8]> {
    let r = Reader(elf);
    let (table, entsize, count) = r.section_table()?;
    let header = |i: usize| table.checked_add(i.checked_mul(entsize)?);
    let contents = |h: usize| r.bytes(r.u64(h.checked_add(24)?)?, r.u64(h.checked_add(32)?)?);
    let strings = contents(header(usize::from(r.u16(0x3e)?))?)?;
    (0..count).find_map(|i| {
        let h = header(i)?;
        let rest = strings.get(usize::try_from(r.u32(h)?).ok()?..)?;
        let end = rest.iter().position(|&b| b == 0)?;
        (&rest[..end] == name.as_bytes())
            .then(|| contents(h))
            .flatten()
    })
}

/// The length of the BPF object (`EM_BPF`) at the start of `bytes`: up to
/// the end of its section header table, which clang writes last. `None`
/// when `bytes` does not start with a whole one.
pub fn bpf_object_len(bytes: &[u8]) -> Option<usize> {
    let r = Reader(bytes);
    let (table, entsize, count) = r.section_table()?;
    if r.u16(18)? != EM_BPF {
        return None;
    }
    let len = table.checked_add(entsize.checked_mul(count)?)?;
    (len <= bytes.len() && len > 0x40).then_some(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_or_foreign_headers_are_none() {
        let mut header = vec![0u8; 64];
        header[..6].copy_from_slice(b"\x7fELF\x02\x01");
        header[18] = 62; // EM_X86_64
        assert_eq!(bpf_object_len(&header), None);
        header[18] = EM_BPF as u8;
        // A section header table said to lie past the end.
        header[0x28] = 0xff;
        header[0x3a] = 64;
        header[0x3c] = 9;
        assert_eq!(bpf_object_len(&header), None);
        assert_eq!(section(&header, ".BTF"), None);
        assert_eq!(section(b"\x7fELF\x02\x01", ".BTF"), None);
    }
}
