//! The original wasm-bpf ABI's pointer and length arguments, fuzzed
//! against the real host and kernel (run as root).
//!
//! Each input becomes a core module whose `_start` makes a sequence of
//! `wasm_bpf` calls with arguments the input picks: valid ones (the
//! embedded object, a map name, the handle and fd the module got back)
//! often enough to reach map operations and buffer polls, and arbitrary
//! pointers, lengths, handles, fds, commands and flags otherwise. The host
//! must answer every call with a value, never trap or panic, and free
//! every BPF object the module made once the run ends.

#![no_main]

#[path = "common.rs"]
mod common;

use std::sync::OnceLock;

use common::{bpf_fds, Choices};
use libfuzzer_sys::fuzz_target;
use wasm_bpf_runtime::run::{self, Outcome, RunConfig, Source};
use wasm_encoder::{
    CodeSection, ConstExpr, DataSection, ElementSection, Elements, EntityType, ExportKind,
    ExportSection, Function, FunctionSection, GlobalSection, GlobalType, ImportSection,
    MemorySection, MemoryType, Module, RefType, TableSection, TableType, TypeSection, ValType,
};

/// The legacy test guest's object: a hash map, ring and perf buffers, a
/// tracepoint and an XDP program (built by `make build`).
fn object() -> &'static [u8] {
    static OBJECT: OnceLock<Vec<u8>> = OnceLock::new();
    OBJECT.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../target/wasm32-wasi/c/legacy/legacy.bpf.o"
        );
        std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e} (run `make build` first)"))
    })
}

/// Where things sit in the module's one page of memory.
const NAMES: u32 = 16;
const NAME_LIST: &[&str] = &[
    "counts", "ring", "perf", "on_write", "pass", "lo", "nope", "",
];
const SCRATCH: u32 = 256;
const OBJECT_AT: u32 = 4096;
const PAGES: u64 = 2;

/// The imports, in index order: name, module, params, result.
const IMPORTS: &[(&str, &str, &[ValType], ValType)] = &[
    (
        "wasm_bpf",
        "wasm_load_bpf_object",
        &[ValType::I32, ValType::I32],
        ValType::I64,
    ),
    (
        "wasm_bpf",
        "wasm_close_bpf_object",
        &[ValType::I64],
        ValType::I32,
    ),
    (
        "wasm_bpf",
        "wasm_attach_bpf_program",
        &[ValType::I64, ValType::I32, ValType::I32],
        ValType::I32,
    ),
    (
        "wasm_bpf",
        "wasm_bpf_map_fd_by_name",
        &[ValType::I64, ValType::I32],
        ValType::I32,
    ),
    (
        "wasm_bpf",
        "wasm_bpf_map_operate",
        &[
            ValType::I32,
            ValType::I32,
            ValType::I32,
            ValType::I32,
            ValType::I32,
            ValType::I64,
        ],
        ValType::I32,
    ),
    (
        "wasm_bpf",
        "wasm_bpf_buffer_poll",
        &[
            ValType::I64,
            ValType::I32,
            ValType::I32,
            ValType::I32,
            ValType::I32,
            ValType::I32,
            ValType::I32,
        ],
        ValType::I32,
    ),
    (
        "callback-wrapper",
        "wasm_bpf_buffer_poll",
        &[
            ValType::I64,
            ValType::I32,
            ValType::I32,
            ValType::I32,
            ValType::I32,
            ValType::I32,
        ],
        ValType::I32,
    ),
];

impl Choices<'_> {
    /// A pointer: into the names, the scratch area, the object, near the
    /// end of memory, or anywhere.
    fn pointer(&mut self) -> i32 {
        let end = (PAGES * 65536) as u32;
        (match self.byte() % 6 {
            0 => NAMES + 16 * u32::from(self.byte() % NAME_LIST.len() as u8),
            1 => SCRATCH + u32::from(self.byte()),
            2 => OBJECT_AT,
            3 => end - u32::from(self.byte() % 16),
            4 => 0,
            _ => self.u32(),
        }) as i32
    }

    fn length(&mut self) -> i32 {
        (match self.byte() % 4 {
            0 => object().len() as u32,
            1 => u32::from(self.byte()),
            2 => self.u32(),
            _ => 8,
        }) as i32
    }
}

/// Pushes an i64 object handle: the last one loaded, or any.
fn handle(f: &mut Function, c: &mut Choices<'_>) {
    if c.byte().is_multiple_of(4) {
        f.instructions().i64_const(i64::from(c.u32() as i32));
    } else {
        f.instructions().global_get(0);
    }
}

/// Pushes an i32 map fd: the last one found, or any.
fn fd(f: &mut Function, c: &mut Choices<'_>) {
    if c.byte().is_multiple_of(4) {
        f.instructions().i32_const(c.u32() as i32);
    } else {
        f.instructions().global_get(1);
    }
}

/// `_start`'s body: up to 24 calls chosen by the input.
fn start_body(c: &mut Choices<'_>) -> Function {
    let mut f = Function::new([]);
    for _ in 0..24 {
        if c.0.is_empty() {
            break;
        }
        match c.byte() % 8 {
            0 | 1 => {
                let (ptr, len) = if c.byte().is_multiple_of(2) {
                    (OBJECT_AT as i32, object().len() as i32)
                } else {
                    (c.pointer(), c.length())
                };
                f.instructions()
                    .i32_const(ptr)
                    .i32_const(len)
                    .call(0)
                    .global_set(0);
            }
            2 => {
                handle(&mut f, c);
                f.instructions().call(1).drop();
            }
            3 => {
                handle(&mut f, c);
                let (name, target) = (c.pointer(), c.pointer());
                f.instructions()
                    .i32_const(name)
                    .i32_const(target)
                    .call(2)
                    .drop();
            }
            4 => {
                handle(&mut f, c);
                let name = c.pointer();
                f.instructions().i32_const(name).call(3).global_set(1);
            }
            5 | 6 => {
                fd(&mut f, c);
                let cmd = i32::from(c.byte() % 6);
                let (key, value, next) = (c.pointer(), c.pointer(), c.pointer());
                let flags = i64::from(c.byte() % 8);
                f.instructions()
                    .i32_const(cmd)
                    .i32_const(key)
                    .i32_const(value)
                    .i32_const(next)
                    .i64_const(flags)
                    .call(4)
                    .drop();
            }
            _ => {
                let go = c.byte() % 2 == 1;
                handle(&mut f, c);
                fd(&mut f, c);
                if !go {
                    // A table index: the callback (1), or a bad one.
                    let index = if c.byte().is_multiple_of(4) {
                        c.u32() as i32
                    } else {
                        1
                    };
                    f.instructions().i32_const(index);
                }
                let (ctx, buf, len) = (i32::from(c.byte()), c.pointer(), c.length());
                // Never a negative (endless) timeout: nothing else ends a run.
                let timeout = i32::from(c.byte() % 3);
                f.instructions()
                    .i32_const(ctx)
                    .i32_const(buf)
                    .i32_const(len)
                    .i32_const(timeout);
                f.instructions().call(if go { 6 } else { 5 }).drop();
            }
        }
    }
    f.instructions().end();
    f
}

/// The module for one input.
fn module(c: &mut Choices<'_>) -> Vec<u8> {
    let mut types = TypeSection::new();
    let mut imports = ImportSection::new();
    for (i, (module, name, params, result)) in IMPORTS.iter().enumerate() {
        types.ty().function(params.iter().copied(), [*result]);
        imports.import(module, name, EntityType::Function(i as u32));
    }
    let callback_type = IMPORTS.len() as u32;
    types.ty().function([ValType::I32; 3], [ValType::I32]);
    let start_type = callback_type + 1;
    types.ty().function([], []);

    // Functions after the imports: the callback, then `_start`.
    let callback = IMPORTS.len() as u32;
    let start = callback + 1;
    let mut functions = FunctionSection::new();
    functions.function(callback_type).function(start_type);

    let mut tables = TableSection::new();
    tables.table(TableType {
        element_type: RefType::FUNCREF,
        table64: false,
        minimum: 2,
        maximum: Some(2),
        shared: false,
    });
    let mut memories = MemorySection::new();
    memories.memory(MemoryType {
        minimum: PAGES,
        maximum: Some(PAGES),
        memory64: false,
        shared: false,
        page_size_log2: None,
    });
    let mut globals = GlobalSection::new();
    let mutable = |val_type| GlobalType {
        val_type,
        mutable: true,
        shared: false,
    };
    globals.global(mutable(ValType::I64), &ConstExpr::i64_const(0));
    globals.global(mutable(ValType::I32), &ConstExpr::i32_const(-1));

    let mut exports = ExportSection::new();
    exports
        .export("memory", ExportKind::Memory, 0)
        .export("__indirect_function_table", ExportKind::Table, 0)
        .export("go-callback", ExportKind::Func, callback)
        .export("_start", ExportKind::Func, start);
    let mut elements = ElementSection::new();
    elements.active(
        None,
        &ConstExpr::i32_const(1),
        Elements::Functions(vec![callback].into()),
    );

    // The callback fails (returns -1) for odd contexts, stopping polls.
    let mut callback_body = Function::new([]);
    callback_body
        .instructions()
        .i32_const(0)
        .local_get(0)
        .i32_const(1)
        .i32_and()
        .i32_sub()
        .end();
    let mut code = CodeSection::new();
    code.function(&callback_body).function(&start_body(c));

    let mut data = DataSection::new();
    for (i, name) in NAME_LIST.iter().enumerate() {
        let mut bytes = name.as_bytes().to_vec();
        bytes.push(0);
        data.active(
            0,
            &ConstExpr::i32_const((NAMES + 16 * i as u32) as i32),
            bytes,
        );
    }
    data.active(
        0,
        &ConstExpr::i32_const(SCRATCH as i32),
        c.0.iter().copied().take(512).collect::<Vec<_>>(),
    );
    data.active(
        0,
        &ConstExpr::i32_const(OBJECT_AT as i32),
        object().iter().copied(),
    );

    let mut module = Module::new();
    module
        .section(&types)
        .section(&imports)
        .section(&functions)
        .section(&tables)
        .section(&memories)
        .section(&globals)
        .section(&exports)
        .section(&elements)
        .section(&code)
        .section(&data);
    module.finish()
}

fuzz_target!(|data: &[u8]| {
    let before = bpf_fds();
    let config = RunConfig {
        component: Source::Bytes {
            name: "fuzzed module".into(),
            bytes: module(&mut Choices(data)),
        },
        program_name: "fuzz".into(),
        max_memory: 64 << 20,
        timeout: Some(std::time::Duration::from_secs(5)),
        ..Default::default()
    };
    match run::run(&config) {
        Ok(Outcome::Exited(0)) => {}
        other => panic!("a legacy module's calls ended the run: {other:?}"),
    }
    assert_eq!(bpf_fds(), before, "BPF objects left behind");
});
