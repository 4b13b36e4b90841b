//! What both host fuzz targets need: the input read as choices, and the
//! count of BPF fds the process holds (the leak check).

/// Reads the fuzz input as a stream of choices; zeros once it runs out.
pub struct Choices<'a>(pub &'a [u8]);

impl Choices<'_> {
    pub fn byte(&mut self) -> u8 {
        let (first, rest) = self.0.split_first().unwrap_or((&0, &[]));
        self.0 = rest;
        *first
    }

    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()])
    }
}

/// BPF objects this process holds, by their fds.
pub fn bpf_fds() -> usize {
    std::fs::read_dir("/proc/self/fdinfo")
        .map(|dir| {
            dir.flatten()
                .filter(|e| {
                    std::fs::read_to_string(e.path()).is_ok_and(|info| {
                        info.contains("prog_id:")
                            || info.contains("map_id:")
                            || info.contains("link_id:")
                    })
                })
                .count()
        })
        .unwrap_or(0)
}
