//! The layout model on objects clang builds from small C sources: each
//! fact the renderers rely on (offsets, sizes, padding, bitfields, packed
//! structs, anonymous members, enums, maps, data sections), and the
//! errors a user gets for what the model cannot describe.

use std::process::Command;

use wasm_bpf_btf::layout::{layout, Bitfield, Composite, Item, Layout, Ty};

/// The parts of libbpf's `bpf_helpers.h` the sources use, so that the
/// tests need nothing but clang.
const PRELUDE: &str = r#"
#define SEC(name) __attribute__((section(name), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) __typeof__(val) *name
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef long long s64;
char LICENSE[] SEC("license") = "GPL";
"#;

/// The object clang builds from `source` (after the prelude), with BTF
/// unless `debug` is false.
fn object(source: &str, debug: bool) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let c = dir.path().join("t.bpf.c");
    let o = dir.path().join("t.bpf.o");
    std::fs::write(&c, format!("{PRELUDE}{source}")).expect("writing the source");
    let clang = std::env::var("CLANG").unwrap_or_else(|_| "clang-19".into());
    let status = Command::new(&clang)
        .args(["-O2", "-target", "bpf", "-c"])
        .args(debug.then_some("-g"))
        .arg(&c)
        .arg("-o")
        .arg(&o)
        .status()
        .unwrap_or_else(|e| panic!("running {clang}: {e} (tests/machine.sh lists it)"));
    assert!(status.success(), "clang failed on:\n{source}");
    std::fs::read(&o).expect("reading the object")
}

fn of(source: &str, types: &[&str]) -> Layout {
    let types: Vec<String> = types.iter().map(|t| t.to_string()).collect();
    layout(&object(source, true), &types).expect("a layout")
}

fn composite<'l>(layout: &'l Layout, name: &str) -> &'l Composite {
    layout
        .items
        .iter()
        .find_map(|item| match item {
            Item::Composite(c) if c.name == name => Some(c),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no {name} in {layout:#?}"))
}

/// (name, offset) of each member.
fn offsets(c: &Composite) -> Vec<(&str, usize)> {
    c.members
        .iter()
        .map(|m| (m.name.as_str(), m.offset))
        .collect()
}

#[test]
fn members_keep_the_kernels_offsets_and_the_types_come_first() {
    let layout = of(
        r#"
        enum state { IDLE = 0, BUSY = 7 };
        struct inner { u16 a; u64 b; };
        struct event {
            u8 flag;
            struct inner in;
            char comm[16];
            void *task;
            enum state st;
            s64 delta;
            _Bool ok;
        };
        struct event e = {};
        "#,
        &["event"],
    );
    let names: Vec<&str> = layout.items.iter().map(Item::name).collect();
    let pos = |n| names.iter().position(|x| *x == n).expect(n);
    assert!(pos("inner") < pos("event"), "dependencies first: {names:?}");
    assert!(pos("state") < pos("event"), "dependencies first: {names:?}");

    let inner = composite(&layout, "inner");
    assert_eq!((inner.size, inner.align, inner.packed), (16, 8, false));
    assert_eq!(offsets(inner), [("a", 0), ("b", 8)]);

    let event = composite(&layout, "event");
    assert_eq!(
        offsets(event),
        [
            ("flag", 0),
            ("in", 8),
            ("comm", 24),
            ("task", 40),
            ("st", 48),
            ("delta", 56),
            ("ok", 64)
        ]
    );
    assert_eq!(event.size, 72, "tail padding included");
    let ty = |name: &str| &event.members.iter().find(|m| m.name == name).unwrap().ty;
    assert_eq!(ty("comm"), &Ty::Array(Box::new(Ty::Char), 16));
    assert_eq!(
        ty("task"),
        &Ty::Pointer,
        "kernel pointers are 64-bit numbers"
    );
    assert_eq!(
        ty("delta"),
        &Ty::Int {
            size: 8,
            signed: true
        }
    );
    assert_eq!(ty("ok"), &Ty::Bool);
    assert_eq!(
        ty("flag"),
        &Ty::Int {
            size: 1,
            signed: false
        }
    );
    assert_eq!(ty("in").size(&layout), 16);

    let Some(Item::Enum(state)) = layout.items.iter().find(|i| i.name() == "state") else {
        panic!("no enum state: {layout:#?}");
    };
    assert_eq!(state.size, 4);
    assert_eq!(
        state.values,
        [("IDLE".to_string(), 0), ("BUSY".to_string(), 7)]
    );
}

#[test]
fn bitfields_and_packed_structs_say_where_their_bits_are() {
    let layout = of(
        r#"
        struct flags { u32 low : 3; u32 mid : 9; u32 : 4; u32 high : 16; u8 tail; };
        struct __attribute__((packed)) wire { u8 kind; u32 len; u16 port; };
        struct flags f = {};
        struct wire w = {};
        "#,
        &["flags", "wire"],
    );
    let flags = composite(&layout, "flags");
    let bits: Vec<(&str, Option<Bitfield>)> = flags
        .members
        .iter()
        .map(|m| (m.name.as_str(), m.bitfield))
        .collect();
    let bf = |bit_offset, bits| Some(Bitfield { bit_offset, bits });
    assert_eq!(
        bits,
        [
            ("low", bf(0, 3)),
            ("mid", bf(3, 9)),
            ("high", bf(16, 16)),
            ("tail", None)
        ]
    );
    assert_eq!(flags.size, 8);

    let wire = composite(&layout, "wire");
    assert!(wire.packed);
    assert_eq!((wire.size, wire.align), (7, 1));
    assert_eq!(offsets(wire), [("kind", 0), ("len", 1), ("port", 5)]);
}

#[test]
fn anonymous_members_get_names_from_where_they_are() {
    let layout = of(
        r#"
        struct msg {
            u32 kind;
            union { u32 pid; u64 cookie; };
            struct { u16 lo; u16 hi; } range;
        };
        struct msg m = {};
        "#,
        &["msg"],
    );
    let msg = composite(&layout, "msg");
    assert_eq!(offsets(msg), [("kind", 0), ("", 8), ("range", 16)]);
    let named: Vec<&str> = layout.items.iter().map(Item::name).collect();
    assert!(
        named.iter().any(|n| n.starts_with("msg__")),
        "an anonymous type is named after its place: {named:?}"
    );
    let union = layout
        .items
        .iter()
        .find_map(|item| match item {
            Item::Composite(c) if c.is_union => Some(c),
            _ => None,
        })
        .expect("the anonymous union");
    assert_eq!(union.size, 8);
    assert_eq!(offsets(union), [("pid", 0), ("cookie", 0)]);
}

#[test]
fn maps_and_data_sections_are_described_without_naming_types() {
    let layout = of(
        r#"
        struct key { u32 pid; u32 cpu; };
        struct {
            __uint(type, 1);
            __uint(max_entries, 64);
            __type(key, struct key);
            __type(value, u64);
        } counts SEC(".maps");
        const volatile u32 min_us = 10;
        const volatile u8 verbose = 1;
        u64 total;
        SEC("tracepoint/sched/sched_switch")
        int on_switch(void *ctx)
        {
            struct key k = {};
            total += min_us + verbose;
            return ((u64 (*)(void *, void *))1)(&counts, &k) != 0;
        }
        "#,
        &[],
    );
    let counts = layout
        .maps
        .iter()
        .find(|m| m.name == "counts")
        .unwrap_or_else(|| panic!("no map counts: {:#?}", layout.maps));
    assert_eq!(counts.map_type, Some(1), "BPF_MAP_TYPE_HASH");
    let Some(Ty::Item(key)) = counts.key else {
        panic!("key type: {counts:?}");
    };
    assert_eq!(layout.items[key].name(), "key");
    assert_eq!(
        counts.value,
        Some(Ty::Int {
            size: 8,
            signed: false
        })
    );

    let rodata = layout
        .sections
        .iter()
        .find(|s| s.name == ".rodata")
        .unwrap_or_else(|| panic!("no .rodata: {:#?}", layout.sections));
    let vars: Vec<(&str, usize, usize)> = rodata
        .vars
        .iter()
        .map(|v| (v.name.as_str(), v.offset, v.size))
        .collect();
    assert_eq!(vars, [("min_us", 0, 4), ("verbose", 4, 1)]);
    assert_eq!(rodata.size, 5, "the section's own size, unpadded");
    let bss = layout
        .sections
        .iter()
        .find(|s| s.name == ".bss")
        .expect(".bss");
    assert_eq!(bss.vars[0].name, "total");
}

#[test]
fn what_the_model_cannot_describe_is_a_clear_error() {
    let elf = object("struct event { u32 pid; }; struct event e = {};", true);
    let err = layout(&elf, &["no_such_struct".to_string()]).unwrap_err();
    let message = format!("{err:#}");
    assert!(
        message.contains("no struct, union or enum `no_such_struct`"),
        "{message}"
    );
    assert!(message.contains("declare a global"), "{message}");

    let without_btf = object("struct event { u32 pid; }; struct event e = {};", false);
    let message = format!("{:#}", layout(&without_btf, &[]).unwrap_err());
    assert!(message.contains("clang -g"), "{message}");

    let message = format!("{:#}", layout(b"not an object", &[]).unwrap_err());
    assert!(!message.is_empty());
}

#[test]
fn records_flatten_nested_structs_and_read_text_and_lists() {
    use wasm_bpf_btf::records::{fields, Kind};
    let layout = of(
        r#"
        struct range { u16 lo; u16 hi; };
        struct sample {
            u32 pid;
            char comm[8];
            struct range r;
            u32 hist[4];
            u8 low : 2;
        };
        struct sample s = {};
        "#,
        &["sample"],
    );
    type Read = (String, usize, Option<(usize, u8)>, Kind);
    let read: Vec<Read> = fields(&layout, composite(&layout, "sample"))
        .into_iter()
        .map(|f| (f.name, f.offset, f.bits, f.kind))
        .collect();
    let int = |size, signed| Kind::Int { size, signed };
    assert_eq!(
        read,
        [
            ("pid".into(), 0, None, int(4, false)),
            ("comm".into(), 4, None, Kind::Text { len: 8 }),
            ("r.lo".into(), 12, None, int(2, false)),
            ("r.hi".into(), 14, None, int(2, false)),
            (
                "hist".into(),
                16,
                None,
                Kind::IntList {
                    size: 4,
                    signed: false,
                    len: 4
                }
            ),
            // A bitfield is read as a 64-bit window from its first byte.
            ("low".into(), 32, Some((0, 2)), int(8, false)),
        ]
    );
}

/// The object's name comes from the source file named in its line
/// information (`-g`), without directory and `.bpf.c`; without line
/// information there is none.
#[test]
fn source_names_come_from_line_information() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let c = dir.path().join("exec_log.bpf.c");
    let o = dir.path().join("exec_log.bpf.o");
    std::fs::write(
        &c,
        format!("{PRELUDE}SEC(\"tp/x/y\") int f(void *ctx) {{ return 0; }}\n"),
    )
    .expect("writing the source");
    let clang = std::env::var("CLANG").unwrap_or_else(|_| "clang-19".into());
    for (debug, want) in [(true, Some("exec_log".to_string())), (false, None)] {
        let status = Command::new(&clang)
            .args(["-O2", "-target", "bpf", "-c"])
            .args(debug.then_some("-g"))
            .arg(&c)
            .arg("-o")
            .arg(&o)
            .status()
            .expect("running clang");
        assert!(status.success());
        let elf = std::fs::read(&o).expect("reading the object");
        assert_eq!(wasm_bpf_btf::source_name(&elf), want, "debug {debug}");
    }
    assert_eq!(wasm_bpf_btf::source_name(b"\x7fELF garbage"), None);
}
