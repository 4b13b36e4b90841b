//! A consumer built against another idea of `wasm-bpf:bpf/sink`: its
//! `push` takes a count instead of records. Composing it must fail with
//! an error naming both sides.

wit_bindgen::generate!({
    inline: "
        package wasm-bpf:bpf@0.1.0;

        interface sink {
            start: func() -> result<_, string>;
            push: func(count: u32);
            finish: func();
        }

        world bad-consumer {
            export sink;
        }
    ",
});

struct BadSink;

impl exports::wasm_bpf::bpf::sink::Guest for BadSink {
    fn start() -> Result<(), String> {
        Ok(())
    }

    fn push(_count: u32) {}

    fn finish() {}
}

export!(BadSink);
