//! The batch format of `wit/buffer.wit`, host side: each record is a
//! header (its length and CPU, `u32`s in native byte order) followed by
//! its bytes, padded so that the next header is [`ALIGN`]-aligned. A batch
//! whose records all have one length says so with its stride
//! ([`Lengths`]), so that a guest indexes records instead of walking a
//! chain of headers, each read before the next can be found.
//!
//! The Rust SDK (`guest-sdk-rust/src/buffer.rs`) and the C SDK
//! (`guest-sdk-c/src/buffer.c`) read the same format with their own
//! constants; a test below ties all three to the WIT's words.

/// Bytes of the header before each record.
pub const HEADER: usize = 8;

/// Every header starts at a multiple of this.
pub const ALIGN: usize = 8;

/// The bytes `record` takes in a batch, header and padding included.
pub fn stride(len: usize) -> usize {
    HEADER + len.next_multiple_of(ALIGN)
}

/// What the records of a batch have in common: the batch's `stride`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lengths {
    /// No record yet.
    #[default]
    Empty,
    /// Every record is this long.
    Same(u32),
    /// Two records differ.
    Mixed,
}

impl Lengths {
    /// With one more record of `len` bytes.
    pub fn with(self, len: u32) -> Self {
        match self {
            Lengths::Empty => Lengths::Same(len),
            Lengths::Same(same) if same == len => self,
            _ => Lengths::Mixed,
        }
    }

    /// A batch of these records followed by records of `next`'s.
    pub fn then(self, next: Lengths) -> Self {
        match next {
            Lengths::Empty => self,
            Lengths::Same(len) => self.with(len),
            Lengths::Mixed => Lengths::Mixed,
        }
    }

    /// The batch's `stride`: 0 unless every record has one length.
    pub fn stride(self) -> u32 {
        match self {
            // A record is at most a ring's size, far below u32::MAX.
            Lengths::Same(len) => stride(len as usize) as u32,
            Lengths::Empty | Lengths::Mixed => 0,
        }
    }
}

/// Appends `record`, from `cpu`, to the batch `data`.
pub fn push(data: &mut Vec<u8>, record: &[u8], cpu: u32) {
    let len = record.len();
    // A record is at most a ring's size, far below u32::MAX.
    data.reserve(stride(len));
    data.extend_from_slice(&(len as u32).to_ne_bytes());
    data.extend_from_slice(&cpu.to_ne_bytes());
    data.extend_from_slice(record);
    data.resize(data.len() + len.next_multiple_of(ALIGN) - len, 0);
}

/// The record whose header is at `at` in `data`, its CPU, and where the
/// next header is; `None` past the end or for a record cut short.
pub fn record(data: &[u8], at: usize) -> Option<(&[u8], u32, usize)> {
    let header = data.get(at..at.checked_add(HEADER)?)?;
    let len = u32::from_ne_bytes(header[..4].try_into().ok()?) as usize;
    let cpu = u32::from_ne_bytes(header[4..].try_into().ok()?);
    let bytes = data.get(at + HEADER..(at + HEADER).checked_add(len)?)?;
    Some((bytes, cpu, at + stride(len)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The WIT describes the format in words; each side spells it in
    /// constants. A change to one without the others fails here.
    #[test]
    fn the_host_and_both_sdks_read_the_format_the_wit_describes() {
        let wit = include_str!("../../../../wit/buffer.wit");
        for words in [
            "Each record is an 8-byte header",
            "zero padding up to a multiple of 8",
            "offset 0: u32, the record's length",
            "offset 4: u32, for perf buffers the CPU",
            "offset 8: the record",
            "record `i`'s header is at `i * stride`",
            "0 when the records' lengths differ",
        ] {
            assert!(
                wit.contains(words),
                "wit/buffer.wit no longer says {words:?}"
            );
        }
        assert_eq!((HEADER, ALIGN), (8, 8));
        let rust = include_str!("../../../../guest-sdk-rust/src/buffer.rs");
        let c = include_str!("../../../../guest-sdk-c/src/buffer.c");
        for (sdk, source, header, align, stride) in [
            (
                "guest-sdk-rust/src/buffer.rs",
                rust,
                "pub const BATCH_HEADER: usize = 8;",
                "pub const BATCH_ALIGN: usize = 8;",
                "stride: batch.stride",
            ),
            (
                "guest-sdk-c/src/buffer.c",
                c,
                "#define BATCH_HEADER 8",
                "#define BATCH_ALIGN 8",
                "src->batch.stride",
            ),
        ] {
            assert!(source.contains(header), "{sdk}: {header}");
            assert!(source.contains(align), "{sdk}: {align}");
            assert!(
                source.contains(stride),
                "{sdk} does not read the stride: {stride}"
            );
        }
    }

    #[test]
    fn records_are_read_back_as_pushed_and_aligned() {
        let mut data = Vec::new();
        for (record, cpu) in [(&b"abc"[..], 1), (&[7; 8][..], 0), (&b""[..], 2)] {
            push(&mut data, record, cpu);
            assert_eq!(data.len() % ALIGN, 0);
        }
        assert_eq!(data.len(), stride(3) + stride(8) + stride(0));
        let (first, cpu, next) = record(&data, 0).unwrap();
        assert_eq!((first, cpu, next), (&b"abc"[..], 1, 16));
        let (second, cpu, next) = record(&data, next).unwrap();
        assert_eq!((second, cpu, next), (&[7u8; 8][..], 0, 32));
        let (third, cpu, next) = record(&data, next).unwrap();
        assert_eq!((third, cpu, next), (&b""[..], 2, data.len()));
        assert_eq!(record(&data, next), None);
        assert_eq!(record(&data[..20], 0).map(|r| r.0), Some(&b"abc"[..]));
        assert_eq!(record(&data[..10], 0), None, "a record cut short");
        assert_eq!(record(&data, usize::MAX), None);
    }

    #[test]
    fn a_stride_only_for_records_of_one_length() {
        assert_eq!(Lengths::Empty.stride(), 0);
        let same = Lengths::Empty.with(12).with(12);
        assert_eq!((same, same.stride()), (Lengths::Same(12), 24));
        assert_eq!(Lengths::Empty.with(0).stride(), 8);
        let mixed = same.with(16);
        assert_eq!((mixed, mixed.stride()), (Lengths::Mixed, 0));
        assert_eq!(mixed.with(12), Lengths::Mixed, "once mixed, always mixed");
        assert_eq!(Lengths::Empty.then(same), same);
        assert_eq!(same.then(Lengths::Empty), same);
        assert_eq!(same.then(Lengths::Same(12)), same);
        assert_eq!(same.then(Lengths::Same(8)), Lengths::Mixed);
        assert_eq!(same.then(Lengths::Mixed), Lengths::Mixed);
    }
}
