//! `wasm-bpf new`: a standalone project to start an app, a probe or a
//! consumer from, in Rust or C, outside this repository.
//!
//! The templates (`host/cli/templates/`) are compiled into the binary; what
//! the project builds against, the SDKs and the WIT, comes from a wasm-bpf
//! checkout: by default the one this binary was built from, so that the
//! SDK a project uses is the one of the host that runs it.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};

use crate::flags::{Lang, NewArgs, ProjectKind};

impl fmt::Display for ProjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProjectKind::App => "app",
            ProjectKind::Probe => "probe",
            ProjectKind::Consumer => "consumer",
        })
    }
}

/// A file of the project: its path in the project, and its template.
type File = (String, &'static str);

macro_rules! template {
    ($path:literal) => {
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/", $path))
    };
}

/// The project's names as its files spell them.
struct Names {
    /// As given (`exec-log`): the package, the command's name.
    name: String,
    /// As a C and Rust identifier (`exec_log`): file stems, the skeleton.
    ident: String,
}

/// `wasm-bpf new`.
pub fn new(args: &NewArgs) -> Result<()> {
    let names = names(&args.path)?;
    let sdk = sdk(args.sdk.as_deref())?;
    let wasm_bpf = std::env::current_exe().context("finding the wasm-bpf binary")?;
    let files = files(args.lang, args.kind, &names.ident)?;
    let vars = [
        ("{{name}}", names.name.clone()),
        ("{{ident}}", names.ident.clone()),
        ("{{IDENT}}", names.ident.to_uppercase()),
        ("{{sdk}}", sdk.display().to_string()),
        ("{{wasm_bpf}}", wasm_bpf.display().to_string()),
    ];

    fs::create_dir(&args.path)
        .with_context(|| format!("creating the project directory {}", args.path.display()))?;
    let written = write_project(&args.path, &files, &vars, args.lang, args.kind, &sdk);
    if written.is_err() {
        // The directory is ours (created above): leave nothing half made.
        let _ = fs::remove_dir_all(&args.path);
    }
    written?;

    let dir = args.path.display();
    let (build, wasm) = match args.lang {
        Lang::Rust if args.kind == ProjectKind::Consumer => (
            "cargo build --release",
            format!("target/wasm32-wasip2/release/{}.wasm", names.ident),
        ),
        Lang::Rust => (
            "cargo build --release",
            format!("target/wasm32-wasip2/release/{}.wasm", names.name),
        ),
        Lang::C => ("make", format!("{}.wasm", names.ident)),
    };
    println!(
        "Created the {} `{}` in {dir}. Build and run it with:\n\n    cd {dir} && {build}",
        args.kind, names.name
    );
    match args.kind {
        ProjectKind::App => println!("    sudo wasm-bpf run {wasm} -t 10"),
        ProjectKind::Probe => println!("    sudo wasm-bpf run --sink CONSUMER.wasm {wasm} -t 10"),
        ProjectKind::Consumer => println!("    sudo wasm-bpf run --sink {wasm} PROBE.wasm"),
    }
    Ok(())
}

fn names(path: &Path) -> Result<Names> {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        bail!(
            "{} names no project (its last component is the project's name)",
            path.display()
        );
    };
    let mut chars = name.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid {
        bail!(
            "`{name}` cannot name a project: it must start with a letter and hold only \
             letters, digits, `-` and `_` (it becomes a package name and a C identifier)"
        );
    }
    Ok(Names {
        name: name.to_owned(),
        ident: name.replace('-', "_"),
    })
}

/// The checkout with the SDKs, checked to be one.
fn sdk(given: Option<&Path>) -> Result<PathBuf> {
    let dir = match given {
        Some(dir) => dir.to_path_buf(),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."),
    };
    let needed = [
        "guest-sdk-rust/Cargo.toml",
        "guest-sdk-c/guest.mk",
        "wit/records.wit",
    ];
    if let Some(missing) = needed.iter().find(|p| !dir.join(p).is_file()) {
        bail!(
            "{} is not a wasm-bpf checkout (no {missing}); the SDKs are taken from one: \
             pass it with --sdk DIR",
            dir.display()
        );
    }
    fs::canonicalize(&dir).with_context(|| format!("resolving {}", dir.display()))
}

fn files(lang: Lang, kind: ProjectKind, ident: &str) -> Result<Vec<File>> {
    let bpf_dir = if lang == Lang::Rust { "bpf/" } else { "" };
    let bpf = [
        (
            format!("{bpf_dir}{ident}.bpf.c"),
            template!("bpf/app.bpf.c"),
        ),
        (format!("{bpf_dir}{ident}.h"), template!("bpf/app.h")),
    ];
    let rust_app = |main: &'static str, readme: &'static str| {
        let mut files = vec![
            ("Cargo.toml".into(), template!("rust/app.Cargo.toml")),
            ("build.rs".into(), template!("rust/build.rs")),
            ("src/main.rs".into(), main),
            ("README.md".into(), readme),
        ];
        files.extend(bpf.clone());
        files
    };
    let mut files = match (lang, kind) {
        (Lang::Rust, ProjectKind::App) => {
            rust_app(template!("rust/app.rs"), template!("rust/app.README.md"))
        }
        (Lang::Rust, ProjectKind::Probe) => rust_app(
            template!("rust/probe.rs"),
            template!("rust/probe.README.md"),
        ),
        (Lang::Rust, ProjectKind::Consumer) => vec![
            ("Cargo.toml".into(), template!("rust/consumer.Cargo.toml")),
            ("src/lib.rs".into(), template!("rust/consumer.rs")),
            ("README.md".into(), template!("rust/consumer.README.md")),
        ],
        (Lang::C, ProjectKind::App) => {
            let mut files = vec![
                ("Makefile".into(), template!("c/app.Makefile")),
                (format!("{ident}.c"), template!("c/app.c")),
                ("README.md".into(), template!("c/app.README.md")),
            ];
            files.extend(bpf);
            files
        }
        (Lang::C, ProjectKind::Consumer) => vec![
            ("Makefile".into(), template!("c/consumer.Makefile")),
            (format!("{ident}.c"), template!("c/consumer.c")),
            ("README.md".into(), template!("c/consumer.README.md")),
        ],
        (Lang::C, ProjectKind::Probe) => bail!(
            "`new` makes no C probe yet: a C probe sends the typed records of a WIT of its \
             own (`wasm-bpf gen wit`), as examples/bootstrap-typed-c does, which only a \
             consumer of that WIT takes. Start from that example, or make a Rust probe \
             (`--lang rust --kind probe`), which any consumer takes"
        ),
    };
    match lang {
        Lang::Rust => {
            files.push((".cargo/config.toml".into(), template!("rust/config.toml")));
            files.push((".gitignore".into(), template!("rust/gitignore")));
        }
        Lang::C => files.push((".gitignore".into(), template!("c/gitignore"))),
    }
    Ok(files)
}

fn write_project(
    dir: &Path,
    files: &[File],
    vars: &[(&str, String)],
    lang: Lang,
    kind: ProjectKind,
    sdk: &Path,
) -> Result<()> {
    for (path, template) in files {
        let text = vars
            .iter()
            .fold((*template).to_owned(), |text, (var, value)| {
                text.replace(var, value)
            });
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    if kind == ProjectKind::Consumer {
        // The contract the consumer exports, as a WIT dependency is kept.
        copy_dir(&sdk.join("wit"), &dir.join("wit"))?;
    }
    if lang == Lang::Rust {
        // The versions the SDK was built and tested with; cargo drops the
        // entries the project does not use.
        let lock = sdk.join("Cargo.lock");
        if lock.is_file() {
            fs::copy(&lock, dir.join("Cargo.lock"))
                .with_context(|| format!("copying {}", lock.display()))?;
        }
    }
    Ok(())
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry.with_context(|| format!("reading {}", from.display()))?;
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        if entry.file_type()?.is_dir() {
            copy_dir(&source, &target)?;
        } else {
            fs::copy(&source, &target).with_context(|| format!("copying {}", source.display()))?;
        }
    }
    Ok(())
}
