//! Reading fields for the conversions `wasm-bpf-build` generates from an
//! object's types into the records of its WIT (`wasm-bpf gen wit`), as
//! wit-bindgen renders them in the guest. Generated code calls these with
//! offsets checked at compile time against the type's layout.

use std::fmt;

use bytemuck::Pod;

/// The plain value of type `T` at byte `at` of `bytes`.
pub fn read<T: Pod>(bytes: &[u8], at: usize) -> T {
    bytemuck::pod_read_unaligned(&bytes[at..at + std::mem::size_of::<T>()])
}

/// The `width`-bit bitfield at bit `bit` of `bytes`, sign-extended when
/// `signed`, as the 64 bits of an `i64`.
pub fn bitfield(bytes: &[u8], bit: usize, width: u8, signed: bool) -> i64 {
    let raw = crate::bits::read(bytes, bit, width) as i64;
    let shift = 64 - u32::from(width);
    if signed && shift < 64 {
        (raw << shift) >> shift
    } else {
        raw
    }
}

/// The `char[len]` at `at` as text: up to the first NUL, each invalid
/// UTF-8 sequence replaced by U+FFFD.
pub fn text(bytes: &[u8], at: usize, len: usize) -> String {
    crate::c_str(&bytes[at..at + len]).into_owned()
}

/// The `len` bytes at `at`.
pub fn bytes(bytes: &[u8], at: usize, len: usize) -> Vec<u8> {
    bytes[at..at + len].to_vec()
}

/// A C enum holds a value its WIT `enum` has no case for (C lets any
/// integer through; WIT enums are closed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnnamedValue {
    /// The C enum's name.
    pub enumeration: &'static str,
    pub value: i64,
}

impl fmt::Display for UnnamedValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "enum {} has no name for the value {}",
            self.enumeration, self.value
        )
    }
}

impl std::error::Error for UnnamedValue {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_read_at_their_offsets() {
        let raw = [0xff, 0x34, 0x12, b'h', b'i', 0, b'x', 0b1110_1000];
        assert_eq!(read::<u16>(&raw, 1), 0x1234);
        assert_eq!(text(&raw, 3, 4), "hi");
        assert_eq!(bytes(&raw, 1, 2), [0x34, 0x12]);
        assert_eq!(bitfield(&raw, 7 * 8 + 3, 5, true), -3);
        assert_eq!(bitfield(&raw, 7 * 8 + 3, 5, false), 29);
    }
}
