//! `wasm-bpf gen skeleton` against `bpftool gen skeleton` on the same
//! objects: the data section structs must name the same members, with the
//! same offsets and sizes, on x86_64 and on wasm32. tests/c/skeleton.bpf.c
//! has the cases a generator gets wrong (function-local statics, a static
//! global, a .rodata of 10 bytes whose struct is 12); exitsnoop-c's object
//! is a real tool's, with libbpf-tools' `compat.bpf.h` pattern.

mod common;

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

/// The data section structs of a skeleton named `name`: (field, body).
fn sections(header: &str, name: &str) -> Vec<(String, String)> {
    let open = format!("struct {name}__");
    let mut found = Vec::new();
    let mut lines = header.lines();
    while let Some(line) = lines.next() {
        let line = line.trim();
        if !(line.starts_with(&open) && line.ends_with('{')) {
            continue;
        }
        let mut body = String::new();
        for inner in lines.by_ref() {
            let inner = inner.trim();
            if let Some(field) = inner.strip_prefix("} *") {
                found.push((field.trim_end_matches(';').to_string(), body));
                break;
            }
            body.push_str(inner);
            body.push('\n');
        }
    }
    found.sort();
    found
}

/// The member names of a struct body, padding left out.
fn members(body: &str) -> Vec<String> {
    body.lines()
        .filter_map(|l| {
            let decl = l.strip_suffix(';')?;
            let decl = decl.split('[').next().unwrap_or(decl);
            let name = decl.rsplit([' ', '*']).next()?.to_string();
            (!name.starts_with("__pad")).then_some(name)
        })
        .collect()
}

/// Both skeletons of `object`, as the name `name`.
fn skeletons(object: &Path, name: &str, tmp: &Path) -> (String, String) {
    let bpftool = common::run_ok(
        Command::new("bpftool")
            .args(["gen", "skeleton"])
            .arg(object)
            .args(["name", name]),
    );
    let ours = tmp.join(format!("{name}.skel.h"));
    common::run_ok(
        common::wasm_bpf()
            .args(["gen", "skeleton", "--name", name])
            .arg(object)
            .arg("-o")
            .arg(&ours),
    );
    (
        bpftool,
        std::fs::read_to_string(&ours).expect("our skeleton"),
    )
}

/// Compiles `source` for wasm32 the way guest.mk does (wasi-libc and the
/// SDK's headers only), with `extra` arguments.
fn wasm32_syntax(source: &Path, extra: &[&Path]) {
    let mut cmd = Command::new("clang-19");
    cmd.args([
        "--target=wasm32-wasi",
        "--sysroot=/usr",
        "-nostdlibinc",
        "-isystem",
        "/usr/include/wasm32-wasi",
        "-fsyntax-only",
        "-Wall",
        "-Werror",
        "-I",
    ])
    .arg(common::root().join("guest-sdk-c/include"));
    for dir in extra {
        cmd.arg("-I").arg(dir);
    }
    common::run_ok(cmd.arg(source));
}

fn same_layout_as_bpftool(object: &Path, name: &str, tmp: &Path) {
    let (bpftool, ours) = skeletons(object, name, tmp);
    let theirs = sections(&bpftool, name);
    let mine = sections(&ours, name);
    assert!(
        !theirs.is_empty(),
        "bpftool's skeleton has no data section:\n{bpftool}"
    );
    let fields = |s: &[(String, String)]| s.iter().map(|(f, _)| f.clone()).collect::<Vec<_>>();
    assert_eq!(fields(&mine), fields(&theirs), "{name}: the data sections");

    let mut check = String::from(
        "#include <stdbool.h>\n#include <stddef.h>\n#include <stdint.h>\n\
         #include <sys/types.h>\n#include <linux/types.h>\n\n",
    );
    for ((field, their_body), (_, my_body)) in theirs.iter().zip(&mine) {
        assert_eq!(
            members(my_body),
            members(their_body),
            "{name}.{field}: the members (ours, then bpftool's)"
        );
        writeln!(check, "struct bpftool_{field} {{\n{their_body}}};").unwrap();
        writeln!(check, "struct ours_{field} {{\n{my_body}}};").unwrap();
        writeln!(
            check,
            "_Static_assert(sizeof(struct bpftool_{field}) == sizeof(struct ours_{field}), \"{field}: size\");"
        )
        .unwrap();
        for m in members(their_body) {
            writeln!(
                check,
                "_Static_assert(offsetof(struct bpftool_{field}, {m}) == offsetof(struct ours_{field}, {m}), \"{field}.{m}\");"
            )
            .unwrap();
        }
    }
    let source = tmp.join(format!("{name}_check.c"));
    std::fs::write(&source, check).expect("writing the check");
    common::run_ok(
        Command::new("clang-19")
            .args(["-fsyntax-only", "-Wall", "-Werror"])
            .arg(&source),
    );
    wasm32_syntax(&source, &[]);

    // Our skeleton compiles against the SDK as a guest includes it: its own
    // assertions (every offset of the object's BTF) hold on wasm32.
    let uapi = tmp.join("uapi/linux");
    std::fs::create_dir_all(&uapi).expect("uapi dir");
    for h in ["bpf.h", "bpf_common.h"] {
        std::fs::copy(Path::new("/usr/include/linux").join(h), uapi.join(h)).expect("copying UAPI");
    }
    let user = tmp.join(format!("{name}_user.c"));
    std::fs::write(
        &user,
        format!("#include \"{name}.skel.h\"\n\nint use(struct {name} *s) {{ return s != 0; }}\n"),
    )
    .expect("writing the user");
    wasm32_syntax(&user, &[tmp, &tmp.join("uapi")]);
}

#[test]
fn skeleton_structs_match_bpftools() {
    let dir = tempfile::tempdir().expect("temp dir");
    let tmp = dir.path();
    let fixture = tmp.join("skeleton.bpf.o");
    common::run_ok(
        Command::new("clang-19")
            .args(["-g", "-O2", "-target", "bpf", "-c"])
            .arg(common::root().join("tests/c/skeleton.bpf.c"))
            .arg("-o")
            .arg(&fixture),
    );
    same_layout_as_bpftool(&fixture, "skeleton_bpf", tmp);

    let ours = std::fs::read_to_string(tmp.join("skeleton_bpf.skel.h")).expect("skeleton");
    // The section is 10 bytes; its struct, as C lays it out, 12.
    assert!(ours.contains("data_sz = 10;"), "{ours}");
    for left_out in ["calls", "hidden_counter"] {
        assert!(
            !ours.contains(&format!(" {left_out};")),
            "{left_out} is in:\n{ours}"
        );
    }

    let exitsnoop = common::built("wasm32-wasi/c/exitsnoop-c/exitsnoop.bpf.o");
    same_layout_as_bpftool(&exitsnoop, "exitsnoop_bpf", tmp);
}
