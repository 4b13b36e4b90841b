//! The code generators of the command line (`gen`, `componentize`), in
//! the binary only, behind the default `tools` feature: the runtime
//! library never links them.

use std::path::Path;

use anyhow::{Context as _, Result};

use crate::flags::{
    ComponentizeArgs, GenCWorldBindingsArgs, GenCommand, GenRustArgs, GenSkeletonArgs, GenWitArgs,
};

/// `wasm-bpf gen ...`.
pub fn gen(command: &GenCommand) -> Result<()> {
    match command {
        GenCommand::Rust(args) => gen_rust(args),
        GenCommand::Wit(args) => gen_wit(args),
        GenCommand::CBindings(args) => gen_c_bindings(args),
        GenCommand::C(args) => gen_c(args),
        GenCommand::Skeleton(args) => gen_skeleton(args),
        GenCommand::BpfHeaders(args) => wasm_bpf_build::write_headers(&args.output),
    }
}

fn gen_rust(args: &GenRustArgs) -> Result<()> {
    let elf = read_object(&args.object)?;
    let code = wasm_bpf_build::rust_types(&elf, &args.types)
        .with_context(|| format!("generating Rust types for {}", args.object.display()))?;
    write_output(args.output.as_deref(), &code)
}

fn gen_wit(args: &GenWitArgs) -> Result<()> {
    let object = &args.types.object;
    let elf = read_object(object)?;
    let file = object
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // `bootstrap.bpf.o` gives `bootstrap`.
    let stem: String = file
        .split('.')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let package = args
        .package
        .clone()
        .unwrap_or_else(|| format!("wasm-bpf-gen:{stem}"));
    let wit = wasm_bpf_build::wit_records(&elf, &args.types.types, &package, &file)
        .with_context(|| format!("generating WIT records for {}", object.display()))?;
    // Checked with the parser the toolchains use, so what is written parses.
    wit_parser::Resolve::default()
        .push_str(format!("{stem}.wit"), &wit)
        .with_context(|| {
            format!(
                "the WIT generated for {} does not parse:\n{wit}",
                object.display()
            )
        })?;
    write_output(args.types.output.as_deref(), &wit)
}

fn gen_c(args: &GenRustArgs) -> Result<()> {
    let elf = read_object(&args.object)?;
    let stem = object_stem(&args.object);
    let guard = format!("__{}_H__", stem.to_uppercase());
    let code = wasm_bpf_cgen::c_types(&elf, &args.types, &guard)
        .with_context(|| format!("generating C types for {}", args.object.display()))?;
    write_output(args.output.as_deref(), &code)
}

fn gen_skeleton(args: &GenSkeletonArgs) -> Result<()> {
    let elf = read_object(&args.object)?;
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| object_stem(&args.object));
    let code = wasm_bpf_cgen::skeleton(&elf, &name)
        .with_context(|| format!("generating a skeleton for {}", args.object.display()))?;
    write_output(args.output.as_deref(), &code)
}

fn read_object(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

/// `dir/bootstrap.bpf.o` → `bootstrap_bpf`, as bpftool names skeletons.
fn object_stem(path: &Path) -> String {
    let file = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    file.strip_suffix(".o")
        .unwrap_or(&file)
        .replace(|c: char| !c.is_ascii_alphanumeric(), "_")
}

fn write_output(path: Option<&Path>, code: &str) -> Result<()> {
    match path {
        Some(path) => {
            std::fs::write(path, code).with_context(|| format!("writing {}", path.display()))
        }
        None => {
            print!("{code}");
            Ok(())
        }
    }
}

fn gen_c_bindings(args: &GenCWorldBindingsArgs) -> Result<()> {
    let output = &args.dir.output;
    std::fs::create_dir_all(output).with_context(|| format!("creating {}", output.display()))?;
    let files = match (&args.wit, &args.world) {
        (Some(wit), Some(world)) => wasm_bpf_cgen::c_bindings_of(wit, world)?,
        _ => wasm_bpf_cgen::c_bindings()?,
    };
    for (name, bytes) in files {
        let path = output.join(name);
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// `wasm-bpf componentize`.
pub fn componentize(args: &ComponentizeArgs) -> Result<()> {
    let module = std::fs::read(&args.module)
        .with_context(|| format!("reading {}", args.module.display()))?;
    let component = wasm_bpf_cgen::componentize(&module)
        .with_context(|| format!("componentizing {}", args.module.display()))?;
    std::fs::write(&args.output, component)
        .with_context(|| format!("writing {}", args.output.display()))
}
