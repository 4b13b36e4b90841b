//! `wasm-bpf gen c` against the compiler: the generated header for
//! tests/c/layout.h's types (nested structs, unions, anonymous members,
//! arrays, bitfields, pointers, enums, a packed struct) must give every
//! struct the size, member offsets and bitfield positions of the object's
//! BTF, compiled for x86_64 and for wasm32 — and so must the original
//! header under the native compiler, which shows the BTF reading is right.

mod common;

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use wasm_bpf_btf::layout::{self, Composite, Item, Layout, Ty};

fn tag(c: &Composite) -> String {
    format!("{} {}", if c.is_union { "union" } else { "struct" }, c.name)
}

/// The checker's statements for `c`'s members (inner members of anonymous
/// ones too, at `base`), and the lines BTF says they print.
fn members(
    layout: &Layout,
    top: &str,
    c: &Composite,
    base: usize,
    code: &mut String,
    want: &mut String,
) {
    for m in &c.members {
        if m.name.is_empty() {
            let Ty::Item(i) = &m.ty else { continue };
            let Item::Composite(inner) = &layout.items[*i] else {
                continue;
            };
            members(layout, top, inner, base + m.offset, code, want);
            continue;
        }
        match m.bitfield {
            None => {
                writeln!(
                    code,
                    "\tprintf(\"{top}.{0} at %zu\\n\", offsetof({top}, {0}));",
                    m.name
                )
                .unwrap();
                writeln!(want, "{top}.{} at {}", m.name, base + m.offset).unwrap();
            }
            Some(b) => {
                writeln!(
                    code,
                    "\t{{ {top} v; memset(&v, 0, sizeof v); v.{0} = -1; bits(\"{top}.{0}\", &v, sizeof v); }}",
                    m.name
                )
                .unwrap();
                let first = base * 8 + b.bit_offset;
                writeln!(
                    want,
                    "{top}.{} bits {first}..{}",
                    m.name,
                    first + usize::from(b.bits)
                )
                .unwrap();
            }
        }
    }
}

/// A C program printing the layout of every type layout.h declares, and
/// what it must print.
fn checker(layout: &Layout) -> (String, String) {
    let mut code = String::from(
        "#include <stddef.h>\n#include <stdio.h>\n#include <string.h>\n\n\
         static void bits(const char *what, const void *p, size_t size)\n{\n\
         \tconst unsigned char *b = p;\n\tsize_t i, first = 0, count = 0;\n\n\
         \tfor (i = 0; i < size * 8; i++)\n\t\tif (b[i / 8] >> (i % 8) & 1) {\n\
         \t\t\tif (!count++)\n\t\t\t\tfirst = i;\n\t\t}\n\
         \tprintf(\"%s bits %zu..%zu\\n\", what, first, first + count);\n}\n\n\
         int main(void)\n{\n",
    );
    let mut want = String::new();
    for item in &layout.items {
        let Item::Composite(c) = item else { continue };
        // Names the generator made up for anonymous types are not in
        // layout.h; their members are checked through their parent.
        if c.name.contains("__") {
            continue;
        }
        let top = tag(c);
        writeln!(code, "\tprintf(\"{top} size %zu\\n\", sizeof({top}));").unwrap();
        writeln!(want, "{top} size {}", c.size).unwrap();
        members(layout, &top, c, 0, &mut code, &mut want);
    }
    code.push_str("\treturn 0;\n}\n");
    (code, want)
}

#[test]
fn generated_c_header_has_the_btf_layout_on_x86_64_and_wasm32() {
    let fixtures = common::root().join("tests/c");
    let dir = tempfile::tempdir().expect("temp dir");
    let tmp = dir.path();
    let object = tmp.join("layout.bpf.o");
    common::run_ok(
        Command::new("clang-19")
            .args(["-g", "-O2", "-target", "bpf", "-c"])
            .arg(fixtures.join("layout.bpf.c"))
            .arg("-o")
            .arg(&object),
    );
    let generated = tmp.join("layout_gen.h");
    common::run_ok(
        common::wasm_bpf()
            .args(["gen", "c"])
            .arg(&object)
            .arg("-o")
            .arg(&generated),
    );
    let header = std::fs::read_to_string(&generated).expect("generated header");
    for item in [
        "struct nested",
        "union choice",
        "struct with_bits",
        "struct packed",
        "enum mode",
    ] {
        assert!(
            header.contains(&format!("{item} {{")),
            "{item} missing:\n{header}"
        );
    }
    assert!(
        header.contains("_Static_assert(offsetof(struct nested, ptr) == 128"),
        "{header}"
    );

    let layout = layout::layout(&std::fs::read(&object).expect("object"), &[]).expect("layout");
    let (code, want) = checker(&layout);
    let source = tmp.join("checker.c");
    std::fs::write(&source, code).expect("writing checker.c");

    let native = |include: &Path, exe: &str| {
        let exe = tmp.join(exe);
        common::run_ok(
            Command::new("clang-19")
                .arg("-include")
                .arg(include)
                .arg(&source)
                .arg("-o")
                .arg(&exe),
        );
        common::run_ok(&mut Command::new(exe))
    };
    assert_eq!(
        native(&fixtures.join("layout.h"), "original"),
        want,
        "layout.h under the native compiler"
    );
    assert_eq!(
        native(&generated, "generated"),
        want,
        "the generated header on x86_64"
    );

    // wasm32: the checker as a C guest component, run by wasm-bpf.
    let bindings = tmp.join("bindings");
    common::run_ok(
        common::wasm_bpf()
            .args(["gen", "c-bindings", "-o"])
            .arg(&bindings),
    );
    let module = tmp.join("checker.core.wasm");
    common::run_ok(
        Command::new("clang-19")
            .args([
                "--target=wasm32-wasi",
                "--sysroot=/usr",
                "-fuse-ld=/usr/bin/wasm-ld-19",
            ])
            .args([
                "-mexec-model=reactor",
                "-Wl,--strip-debug",
                "-O1",
                "-include",
            ])
            .arg(&generated)
            .arg("-I")
            .arg(&bindings)
            .arg(&source)
            .arg(common::root().join("guest-sdk-c/src/run.c"))
            .arg(bindings.join("bpf_app.c"))
            .arg(bindings.join("bpf_app_component_type.o"))
            .arg("-o")
            .arg(&module),
    );
    let component = tmp.join("checker.wasm");
    common::run_ok(
        common::wasm_bpf()
            .arg("componentize")
            .arg(&module)
            .arg("-o")
            .arg(&component),
    );
    assert_eq!(
        common::run_ok(common::wasm_bpf().arg("run").arg(&component)),
        want,
        "the generated header on wasm32"
    );
}
