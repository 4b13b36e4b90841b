//! Compiling a guest's BPF C from its `build.rs`.
//!
//! Uses only what a Debian machine has: `clang-19` for the BPF target,
//! `bpftool` to write `vmlinux.h` from the running kernel's BTF (or the
//! file `$VMLINUX_H` names, on a machine whose kernel has no BTF), and the
//! libbpf 1.7 BPF headers that libbpf-sys vendors (Debian's libbpf-dev
//! headers are 1.1).

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context as _, Result};

/// A BPF C source to compile, as a guest's `build.rs` describes it.
#[derive(Debug, Clone)]
pub struct BpfBuild {
    source: PathBuf,
    types: Vec<String>,
    clang: String,
    strip: String,
    out_dir: Option<PathBuf>,
    wit_records: Option<String>,
}

/// What [`BpfBuild::build`] wrote.
#[derive(Debug, Clone)]
pub struct Built {
    /// The compiled object, stripped of DWARF but keeping BTF.
    pub object: PathBuf,
    /// The generated Rust types.
    pub types: PathBuf,
}

impl BpfBuild {
    /// Compiles `source` (e.g. `bpf/bootstrap.bpf.c`). Headers next to it
    /// are found with `#include "x.h"`; `vmlinux.h` and `<bpf/...>` are
    /// provided.
    pub fn new(source: impl Into<PathBuf>) -> Self {
        Self {
            source: source.into(),
            types: Vec::new(),
            clang: env::var("CLANG").unwrap_or_else(|_| "clang-19".into()),
            strip: env::var("LLVM_STRIP").unwrap_or_else(|_| "llvm-strip-19".into()),
            out_dir: None,
            wit_records: None,
        }
    }

    /// Generates Rust types for these structs, unions or enums (and what
    /// they use) instead of the default: the types of globals and of map
    /// keys and values.
    pub fn types<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.types.extend(names.into_iter().map(Into::into));
        self
    }

    /// Also generates conversions from each struct into its record of the
    /// object's WIT (`wasm-bpf gen wit`), which the guest's wit-bindgen
    /// generated at `module` (e.g.
    /// `crate::wit::wasm_bpf::bootstrap::records`): `From<&Event>`, or
    /// `TryFrom` for a struct holding a C enum.
    pub fn wit_records(mut self, module: impl Into<String>) -> Self {
        self.wit_records = Some(module.into());
        self
    }

    /// Writes outputs here instead of `$OUT_DIR`.
    pub fn out_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.out_dir = Some(dir.into());
        self
    }

    /// Compiles the source to `<out>/<stem>.bpf.o`, generates
    /// `<out>/<stem>.types.rs`, and tells cargo to rerun when the source's
    /// directory changes.
    pub fn build(self) -> Result<Built> {
        let out = match &self.out_dir {
            Some(dir) => dir.clone(),
            None => PathBuf::from(
                env::var_os("OUT_DIR")
                    .context("OUT_DIR is not set; call from build.rs or set out_dir")?,
            ),
        };
        let stem = self
            .source
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".bpf.c"))
            .with_context(|| format!("{} is not named <name>.bpf.c", self.source.display()))?
            .to_string();
        let source_dir = self
            .source
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        println!("cargo:rerun-if-changed={}", source_dir.display());
        println!("cargo:rerun-if-env-changed={VMLINUX_H}");

        let include = out.join("include");
        write_headers(&include)?;
        let object = out.join(format!("{stem}.bpf.o"));
        self.compile(&include, source_dir, &object)?;
        let elf =
            std::fs::read(&object).with_context(|| format!("reading {}", object.display()))?;
        let options = crate::RustOptions {
            wit_records: self.wit_records.clone(),
            ..Default::default()
        };
        let code = crate::rust_types_with(&elf, &self.types, &options)
            .with_context(|| format!("generating Rust types for {}", object.display()))?;
        let types = out.join(format!("{stem}.types.rs"));
        std::fs::write(&types, code).with_context(|| format!("writing {}", types.display()))?;
        Ok(Built { object, types })
    }

    fn compile(&self, include: &Path, source_dir: &Path, object: &Path) -> Result<()> {
        let (target_arch, multiarch) = match env::consts::ARCH {
            "x86_64" => ("x86", "x86_64-linux-gnu"),
            "aarch64" => ("arm64", "aarch64-linux-gnu"),
            "riscv64" => ("riscv", "riscv64-linux-gnu"),
            other => bail!("no BPF target arch known for build machine arch {other}"),
        };
        run(Command::new(&self.clang)
            .args(["-g", "-O2", "-target", "bpf", "-Wall"])
            .arg(format!("-D__TARGET_ARCH_{target_arch}"))
            // After the BPF headers, so <asm/types.h> resolves but cannot
            // shadow what vmlinux.h and libbpf provide.
            .arg("-idirafter")
            .arg(format!("/usr/include/{multiarch}"))
            .arg("-I")
            .arg(include)
            .arg("-I")
            .arg(source_dir)
            .arg("-c")
            .arg(&self.source)
            .arg("-o")
            .arg(object))?;
        // DWARF is only for humans; BTF (kept by -g stripping) is what
        // libbpf needs, at a twentieth of the size.
        run(Command::new(&self.strip).arg("-g").arg(object))
    }
}

fn run(cmd: &mut Command) -> Result<()> {
    let status = cmd
        .status()
        .with_context(|| format!("running {:?} (is it installed?)", cmd.get_program()))?;
    if !status.success() {
        bail!("{cmd:?} failed with {status}");
    }
    Ok(())
}

/// The environment variable naming a `vmlinux.h` to use instead of one
/// written from the running kernel's BTF: for building on a machine whose
/// kernel has none (CO-RE relocates the programs on the kernel that runs
/// them either way).
pub const VMLINUX_H: &str = "VMLINUX_H";

/// Writes `vmlinux.h` (from the running kernel's BTF, or a copy of
/// `$VMLINUX_H`) and libbpf's BPF headers under `include`.
pub fn write_headers(include: &Path) -> Result<()> {
    let bpf = include.join("bpf");
    std::fs::create_dir_all(&bpf).with_context(|| format!("creating {}", bpf.display()))?;
    for (name, contents) in libbpf_sys::API_HEADERS {
        std::fs::write(bpf.join(name), contents).with_context(|| format!("writing {name}"))?;
    }
    let vmlinux = include.join("vmlinux.h");
    if let Some(given) = env::var_os(VMLINUX_H).filter(|v| !v.is_empty()) {
        let given = PathBuf::from(given);
        std::fs::copy(&given, &vmlinux).with_context(|| {
            format!(
                "copying ${VMLINUX_H} ({}) to {}",
                given.display(),
                vmlinux.display()
            )
        })?;
        return Ok(());
    }
    let btf = "/sys/kernel/btf/vmlinux";
    let output = Command::new("bpftool")
        .args(["btf", "dump", "file", btf, "format", "c"])
        .output()
        .context("running bpftool to write vmlinux.h (is bpftool installed?)")?;
    if !output.status.success() {
        bail!(
            "bpftool could not dump {btf} (on a kernel without BTF, name a vmlinux.h \
             in ${VMLINUX_H}): {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    std::fs::write(&vmlinux, output.stdout)
        .with_context(|| format!("writing {}", vmlinux.display()))
}
