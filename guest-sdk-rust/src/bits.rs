//! Bitfield access for generated types: bits numbered from the least
//! significant bit of the first byte, as on little-endian BPF targets.

/// The `width` bits (at most 64) of `bytes` starting at bit `offset`.
pub fn read(bytes: &[u8], offset: usize, width: u8) -> u64 {
    let mut value = 0u64;
    for i in 0..usize::from(width.min(64)) {
        let bit = offset + i;
        if bytes[bit / 8] >> (bit % 8) & 1 == 1 {
            value |= 1 << i;
        }
    }
    value
}

/// Stores the low `width` bits (at most 64) of `value` at bit `offset` of
/// `bytes`, leaving the other bits alone.
pub fn write(bytes: &mut [u8], offset: usize, width: u8, value: u64) {
    for i in 0..usize::from(width.min(64)) {
        let bit = offset + i;
        let mask = 1u8 << (bit % 8);
        if value >> i & 1 == 1 {
            bytes[bit / 8] |= mask;
        } else {
            bytes[bit / 8] &= !mask;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_round_trip_across_bytes_without_touching_neighbours() {
        let mut bytes = [0xffu8; 3];
        write(&mut bytes, 5, 7, 0b101_0101);
        assert_eq!(read(&bytes, 5, 7), 0b101_0101);
        assert_eq!(bytes[0] & 0b1_1111, 0b1_1111, "bits below the field kept");
        assert_eq!(bytes[1] >> 4, 0xf, "bits above the field kept");
        write(&mut bytes, 5, 7, 0);
        assert_eq!(read(&bytes, 5, 7), 0);
        assert_eq!(bytes, [0x1f, 0xf0, 0xff]);
    }
}
