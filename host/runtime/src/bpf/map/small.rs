//! The `small-bytes` of `wit/map.wit`: a key or value of at most 32 bytes
//! carried in four words, so that a single-element call lifts no list and
//! lowers none (no allocation on the host, no call back into the guest's
//! allocator for the result).

use crate::bindings::bpf_map::SmallBytes;
use crate::bindings::types::ErrorCode;
use crate::{BpfError, BpfResult};

/// The most bytes a `small-bytes` holds.
pub(super) const MAX: usize = 32;

/// The bytes of a guest's `small-bytes`, checked.
pub(super) struct Small {
    bytes: [u8; MAX],
    len: usize,
}

impl Small {
    /// `small` as bytes; `invalid-argument` if it claims more than 32.
    pub(super) fn from_wit(small: &SmallBytes, what: &str) -> BpfResult<Self> {
        let len = usize::from(small.len);
        if len > MAX {
            return Err(BpfError::new(
                ErrorCode::InvalidArgument,
                format!("a small-bytes {what} holds at most {MAX} bytes, not {len}"),
            ));
        }
        let mut bytes = [0u8; MAX];
        for (chunk, word) in bytes
            .chunks_exact_mut(8)
            .zip([small.w0, small.w1, small.w2, small.w3])
        {
            chunk.copy_from_slice(&word.to_ne_bytes());
        }
        Ok(Self { bytes, len })
    }

    pub(super) fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// The first `len` bytes of `bytes` as a `small-bytes`, zero past them.
pub(super) fn to_wit(mut bytes: [u8; MAX], len: usize) -> SmallBytes {
    let len = len.min(MAX);
    bytes[len..].fill(0);
    let mut words = [0u64; 4];
    for (word, chunk) in words.iter_mut().zip(bytes.chunks_exact(8)) {
        let mut b = [0u8; 8];
        b.copy_from_slice(chunk);
        *word = u64::from_ne_bytes(b);
    }
    let [w0, w1, w2, w3] = words;
    SmallBytes {
        // At most MAX, which fits.
        len: len as u8,
        w0,
        w1,
        w2,
        w3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_go_through_the_words_in_order() {
        let mut bytes = [0u8; MAX];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = i as u8 + 1;
        }
        let small = to_wit(bytes, 12);
        assert_eq!(small.len, 12);
        assert_eq!(small.w0.to_ne_bytes(), [1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(small.w1.to_ne_bytes(), [9, 10, 11, 12, 0, 0, 0, 0]);
        assert_eq!((small.w2, small.w3), (0, 0), "zero past len");
        let back = Small::from_wit(&small, "key").unwrap();
        assert_eq!(back.as_slice(), &bytes[..12]);
        assert_eq!(
            Small::from_wit(&to_wit(bytes, 32), "key")
                .unwrap()
                .as_slice(),
            &bytes[..]
        );
    }

    #[test]
    fn more_than_32_bytes_is_refused() {
        let mut small = to_wit([0; MAX], 4);
        small.len = 33;
        let err = Small::from_wit(&small, "value").map(|_| ()).unwrap_err();
        let err = err.guest().unwrap();
        assert_eq!(err.code, ErrorCode::InvalidArgument);
        assert!(
            err.message.contains("at most 32 bytes, not 33"),
            "{}",
            err.message
        );
    }
}
