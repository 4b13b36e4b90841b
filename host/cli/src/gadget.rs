//! Running an Inspektor Gadget gadget image: its BPF object and
//! `gadget.yaml` are handed to the gadget runner, a component shipped next
//! to this binary (`gadget/loader.wasm`), composed with the consumer that
//! prints the records (`gadget/columns.wasm`, or `gadget/json.wasm` with
//! `-o json`) or with the run's `--sink`s. The runner runs in the same
//! sandbox as any app: the run's grants, limits and policy apply to it.
//!
//! The arguments after the reference are the runner's (`--param`, `-t`,
//! `-i`, `--mntns ID`, `-h`), but for those the host acts on: `-o
//! columns|json`, `--fields`, `--sort`, `--max-rows` (which configure the
//! consumer), `--ebpf-only`, and `--mntns-of PID` (the mount namespace of
//! a process, such as a container's, read here where `/proc` is visible).

use std::fs::File;
use std::io::Read as _;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context as _, Result};
use wasm_bpf_oci::gadget::{GadgetManifest, WASM_MEDIA_TYPE};
use wasm_bpf_oci::store::Store;
use wasm_bpf_runtime::compose;
use wasm_bpf_runtime::run::Source;

/// Where the runner sees the gadget's files.
const GUEST_DIR: &str = "/gadget";

/// A gadget run's flags, taken from the arguments after the reference;
/// the rest go to the runner.
#[derive(Debug, Default, PartialEq, Eq)]
struct Flags {
    json: bool,
    fields: Option<String>,
    sort: Option<String>,
    max_rows: Option<String>,
    ebpf_only: bool,
    runner: Vec<String>,
}

impl Flags {
    fn parse(args: &[String]) -> Result<Self> {
        let mut flags = Self::default();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let (name, inline) = match arg.split_once('=') {
                Some((name, value)) if name.starts_with("--") => (name, Some(value.to_string())),
                _ => (arg.as_str(), None),
            };
            let mut value = |flag: &str| -> Result<String> {
                match inline.clone() {
                    Some(value) => Ok(value),
                    None => args
                        .next()
                        .cloned()
                        .with_context(|| format!("{flag} needs a value")),
                }
            };
            match name {
                "-o" | "--output" => {
                    flags.json = match value("--output")?.as_str() {
                        "columns" => false,
                        "json" => true,
                        other => bail!("--output {other}: a gadget prints `columns` or `json`"),
                    }
                }
                "--fields" => flags.fields = Some(value("--fields")?),
                "--sort" => flags.sort = Some(value("--sort")?),
                "--max-rows" => flags.max_rows = Some(value("--max-rows")?),
                "--ebpf-only" => flags.ebpf_only = true,
                "--mntns-of" => {
                    let pid = value("--mntns-of")?;
                    flags.runner.push("--mntns".into());
                    flags.runner.push(mount_namespace(&pid)?.to_string());
                }
                _ => flags.runner.push(arg.clone()),
            }
        }
        Ok(flags)
    }
}

/// The mount namespace of process `pid` (a container's), by the inode of
/// `/proc/PID/ns/mnt`, as the kernel's `mnt_ns->ns.inum` gives it.
fn mount_namespace(pid: &str) -> Result<u64> {
    let pid: u32 = pid
        .parse()
        .with_context(|| format!("--mntns-of {pid}: not a process id"))?;
    let path = format!("/proc/{pid}/ns/mnt");
    Ok(std::fs::metadata(&path)
        .with_context(|| format!("--mntns-of {pid}: reading {path}"))?
        .ino())
}

/// What a gadget run adds to the run: the composed runner, its arguments,
/// environment and the directory holding the gadget's files (removed when
/// `files` is dropped).
pub struct Prepared {
    pub source: Source,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub dir: (PathBuf, String),
    pub files: tempfile::TempDir,
}

/// Prepares the gadget `manifest` of `store`, stored as `name`, to run
/// with `args` (the arguments after its reference) and the run's `sinks`.
pub fn prepare(
    store: &Store,
    name: &str,
    manifest: &GadgetManifest,
    args: &[String],
    sinks: &[PathBuf],
) -> Result<Prepared> {
    let flags = Flags::parse(args)?;
    if let (Some(wasm), false) = (&manifest.wasm, flags.ebpf_only) {
        bail!(
            "{name} carries a wasm module (its {WASM_MEDIA_TYPE} layer {}) written for \
             Inspektor Gadget's own host API, which wasm-bpf does not run; --ebpf-only runs \
             its eBPF program without it",
            wasm.digest
        );
    }
    let files = tempfile::Builder::new()
        .prefix("wasm-bpf-gadget-")
        .tempdir()
        .context("making a directory for the gadget's files")?;
    let ebpf = store.blob(&manifest.ebpf.digest)?;
    std::fs::write(files.path().join("program.bpf.o"), &ebpf)
        .context("writing the gadget's eBPF program")?;
    if manifest.has_yaml() {
        std::fs::write(
            files.path().join("gadget.yaml"),
            store.blob(&manifest.config.digest)?,
        )
        .context("writing the gadget's gadget.yaml")?;
    }
    let runners = runner_dir()?;
    let probe = runner_part(&runners, "loader")?;
    let parts = if sinks.is_empty() {
        vec![runner_part(
            &runners,
            if flags.json { "json" } else { "columns" },
        )?]
    } else {
        sinks
            .iter()
            .map(|p| compose::Part::read(p))
            .collect::<Result<_>>()?
    };
    let bytes = compose::compose(&probe, &parts).context("composing the gadget runner")?;
    let mut env = vec![(
        "COLUMNS_GADGET_YAML".to_string(),
        format!("{GUEST_DIR}/gadget.yaml"),
    )];
    if let Some(fields) = flags.fields {
        env.push(("COLUMNS_FIELDS".into(), fields.clone()));
        env.push(("JSON_FIELDS".into(), fields));
    }
    if prints_tables(&ebpf) {
        env.push(("COLUMNS_TABLES".into(), "1".into()));
    }
    for (name, value) in [
        ("COLUMNS_SORT", flags.sort),
        ("COLUMNS_MAX_ROWS", flags.max_rows),
    ] {
        if let Some(value) = value {
            env.push((name.into(), value));
        }
    }
    let mut runner_args = vec!["--gadget".to_string(), GUEST_DIR.to_string()];
    runner_args.extend(flags.runner);
    Ok(Prepared {
        source: Source::Bytes {
            name: format!("the gadget {name}"),
            bytes,
        },
        args: runner_args,
        env,
        dir: (files.path().to_path_buf(), GUEST_DIR.to_string()),
        files,
    })
}

/// Whether the object declares a map iterator (`gadget_mapiter_*`) or an
/// iterator (`gadget_iter_*`), whose entries print as a table per interval
/// or snapshot. Read with the BTF model `record-layout` uses; an object it
/// cannot read has none (the runner then says what is wrong with it).
fn prints_tables(ebpf: &[u8]) -> bool {
    wasm_bpf_btf::layout::layout(ebpf, &[]).is_ok_and(|model| {
        model
            .sections
            .iter()
            .flat_map(|s| &s.vars)
            .any(|v| v.name.starts_with("gadget_mapiter_") || v.name.starts_with("gadget_iter_"))
    })
}

/// `gadget/` next to this binary, or `../lib/wasm-bpf/gadget/` of an
/// installation (`/usr/bin/wasm-bpf`, `/usr/lib/wasm-bpf/gadget/`).
fn runner_dir() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("finding this binary")?;
    let bin = exe.parent().context("this binary has no directory")?;
    let candidates = [bin.join("gadget"), bin.join("../lib/wasm-bpf/gadget")];
    candidates
        .iter()
        .find(|dir| dir.join("loader.wasm").exists())
        .cloned()
        .with_context(|| {
            format!(
                "the gadget runner is not installed: neither {} nor {} holds loader.wasm \
                 (`make build` puts it beside the binary)",
                candidates[0].display(),
                candidates[1].display()
            )
        })
}

/// The runner component `name`, read from a file that only its owner,
/// root or this user, can change: it runs every gadget, so it is trusted
/// as this binary is.
fn runner_part(dir: &Path, name: &str) -> Result<compose::Part> {
    let path = dir.join(format!("{name}.wasm"));
    let mut file = File::open(&path).with_context(|| format!("opening {}", path.display()))?;
    let meta = file.metadata()?;
    let euid = rustix::process::geteuid().as_raw();
    ensure!(
        meta.is_file() && (meta.uid() == 0 || meta.uid() == euid) && meta.mode() & 0o022 == 0,
        "{} is not a file that only root or this user can change; it is not run",
        path.display()
    );
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .with_context(|| format!("reading {}", path.display()))?;
    Ok(compose::Part { path, bytes })
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    /// A runner another user could have written is not run: it would run
    /// every gadget with this user's grants.
    #[test]
    fn a_runner_others_can_change_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("loader.wasm");
        std::fs::write(&path, b"\0asm\x0d\0\x01\0").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(runner_part(dir.path(), "loader").unwrap().bytes.len(), 8);
        for mode in [0o664, 0o646] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let e = runner_part(dir.path(), "loader").err().expect("refused");
            assert!(
                e.to_string().contains("only root or this user"),
                "{mode:o}: {e:#}"
            );
        }
    }

    fn parse(args: &[&str]) -> Result<Flags> {
        Flags::parse(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn output_flags_are_the_hosts_and_the_rest_the_runners() {
        let flags = parse(&[
            "-o",
            "json",
            "--param",
            "pid=1",
            "--fields=pid,comm",
            "-t",
            "2",
        ])
        .unwrap();
        assert!(flags.json && !flags.ebpf_only);
        assert_eq!(flags.fields.as_deref(), Some("pid,comm"));
        assert_eq!(flags.runner, ["--param", "pid=1", "-t", "2"]);
        assert!(!parse(&["--output=columns", "--ebpf-only"]).unwrap().json);
        assert!(parse(&["-o", "yaml"]).is_err());
        assert!(parse(&["--fields"]).is_err());
    }
}
