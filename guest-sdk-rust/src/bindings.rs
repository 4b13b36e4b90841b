//! The raw bindings of the `wasm-bpf:bpf` world, for what the wrappers do
//! not cover, plus `wasi:cli/exit` for [`crate::exit`] (Rust's standard
//! library can only exit with success or failure), the monotonic clock
//! for [`crate::timer`], and the `sink` a probe sends records to
//! ([`crate::probe`]). A component imports only what it uses.

wit_bindgen::generate!({
    inline: "
        package wasm-bpf:guest-sdk;

        world sdk {
            include wasm-bpf:bpf/bpf@0.1.0;
            import wasm-bpf:bpf/sink@0.1.0;
            import wasi:cli/exit@0.2.12;
            import wasi:clocks/monotonic-clock@0.2.12;
        }
    ",
    // `wit` links to the repository's `wit/`; `cargo package` copies it into
    // the crate, so the SDK builds outside this repository too.
    path: "wit",
    world: "wasm-bpf:guest-sdk/sdk",
    generate_all,
    // Kinds, infos and errors compare and hash, as a loader matching on
    // them expects; record columns carry floats, which do not.
    additional_derives: [PartialEq, Eq, Hash],
    additional_derives_ignore: ["column", "batch"],
});

pub use self::wasm_bpf::bpf::*;
