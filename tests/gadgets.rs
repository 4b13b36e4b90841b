//! Inspektor Gadget gadget images run by reference: images written in IG's
//! layout by an independent writer (`tests/gadget/oci_layout.py`), copied
//! into a real registry with skopeo, pulled, verified and run against the
//! kernel, their records checked against processes the test starts.

mod common;

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::registry::{key_pair, skopeo, Registry, User};
use common::{json_records, root, wait_attached, wait_finished, Running};
use serde_json::Value;

/// What nobody runs as.
const NOBODY: u32 = 65534;

/// This machine's architecture as OCI platforms name it, and another.
fn architectures() -> (&'static str, &'static str) {
    match std::env::consts::ARCH {
        "aarch64" => ("arm64", "amd64"),
        _ => ("amd64", "arm64"),
    }
}

/// The gadget object `tests/gadget/NAME.bpf.c`, compiled into `dir`.
fn compile(dir: &Path, name: &str) -> PathBuf {
    let source = root().join(format!("tests/gadget/{name}.bpf.c"));
    let copy = dir.join(format!("{name}.bpf.c"));
    std::fs::copy(&source, &copy).expect("copying the gadget source");
    std::fs::copy(root().join("tests/gadget/macros.h"), dir.join("macros.h"))
        .expect("copying macros.h");
    wasm_bpf_build::BpfBuild::new(&copy)
        .out_dir(dir)
        .build()
        .unwrap_or_else(|e| panic!("compiling {name}.bpf.c: {e:#}"))
        .object
}

/// A gadget image in a registry.
struct Gadget {
    registry: Registry,
    user: User,
    work: tempfile::TempDir,
    object: PathBuf,
}

impl Gadget {
    fn new() -> Self {
        let work = tempfile::tempdir().expect("tempdir");
        let object = compile(work.path(), "trace_exec");
        Self {
            registry: Registry::start(),
            user: User::new(),
            work,
            object,
        }
    }

    /// Writes an image with `writer_args` (see oci_layout.py) and copies
    /// it to the registry as `REPO:1`; its reference.
    fn publish(&self, repo: &str, writer_args: &[&str]) -> String {
        let layout = self.work.path().join(repo);
        let out = Command::new("python3")
            .arg(root().join("tests/gadget/oci_layout.py"))
            .arg(&layout)
            .arg("1")
            .args(writer_args)
            .output()
            .expect("running python3");
        assert!(
            out.status.success(),
            "oci_layout.py: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let reference = format!("{}/gadgets/{repo}:1", self.registry.addr);
        skopeo(&[
            "copy",
            "--all",
            "--preserve-digests",
            "--dest-tls-verify=false",
            &format!("oci:{}:1", layout.display()),
            &format!("docker://{reference}"),
        ]);
        reference
    }

    /// The trace_exec gadget for this architecture and another (whose
    /// object is not one: running it would fail), with its gadget.yaml,
    /// and `extra` writer arguments.
    fn publish_trace_exec(&self, repo: &str, extra: &[&str]) -> String {
        let junk = self.work.path().join("junk");
        std::fs::write(&junk, b"not an ELF object").expect("writing");
        let yaml = root().join("tests/gadget/trace_exec.yaml");
        let objects = [
            format!("{}={}", architectures().0, self.object.display()),
            format!("{}={}", architectures().1, junk.display()),
        ];
        let mut args = vec![
            "--ebpf",
            &objects[0],
            "--ebpf",
            &objects[1],
            "--yaml",
            yaml.to_str().expect("utf-8"),
        ];
        args.extend(extra);
        self.publish(repo, &args)
    }

    fn insecure(&self) -> [&str; 2] {
        ["--insecure-registry", &self.registry.addr]
    }

    /// The test gadget `tests/gadget/NAME.bpf.c`, with `NAME.yaml` if there
    /// is one, for this architecture only, copied to the registry as
    /// `NAME:1`; its reference.
    fn publish_own(&self, name: &str) -> String {
        let object = compile(self.work.path(), name);
        let ebpf = format!("{}={}", architectures().0, object.display());
        let yaml = root().join(format!("tests/gadget/{name}.yaml"));
        let mut args = vec!["--arch", architectures().0, "--ebpf", &ebpf];
        if yaml.exists() {
            args.extend(["--yaml", yaml.to_str().expect("utf-8")]);
        }
        self.publish(name, &args)
    }

    /// Starts `wasm-bpf run REFERENCE ARGS` (the registry's flags first).
    fn start(&self, reference: &str, args: &[&str]) -> Running {
        let mut command = self.user.command(&["run"]);
        command.args(self.insecure()).arg(reference).args(args);
        Running::spawn(command)
    }

    /// Runs `reference` with `args` for two seconds while `true` runs as
    /// root and as nobody; the lines it printed, and the two pids.
    fn run_while_true_runs(&self, reference: &str, args: &[&str]) -> (Running, u32, u32) {
        let mut running = self.start(reference, &[&["-t", "3"], args].concat());
        wait_attached(&running, 1);
        let as_root = Command::new("true").spawn().expect("true");
        let as_nobody = Command::new("true")
            .uid(NOBODY)
            .gid(NOBODY)
            .spawn()
            .expect("true as nobody");
        let pids = (as_root.id(), as_nobody.id());
        for mut child in [as_root, as_nobody] {
            child.wait().expect("waiting for true");
        }
        wait_finished(&mut running);
        (running, pids.0, pids.1)
    }
}

/// A tracer gadget pulled and run by reference: this host's architecture
/// picked from the index, gadget.yaml's default for its parameter applied
/// (every user) and its key matched in any case, `-o json` and `--fields`,
/// the default columns laid out by its annotations (uid hidden), `-h`,
/// and `images`, `export`, `import` and `rmi`.
#[test]
fn a_gadget_image_runs_by_reference() {
    let gadget = Gadget::new();
    let reference = gadget.publish_trace_exec("trace_exec", &[]);

    let (running, root_pid, nobody_pid) = gadget.run_while_true_runs(&reference, &["-o", "json"]);
    let records = json_records(&running);
    let of = |pid: u32| {
        records
            .iter()
            .find(|r| r["pid"].as_u64() == Some(u64::from(pid)))
            .unwrap_or_else(|| panic!("no record of {pid}: {records:?} {}", running.stderr()))
    };
    assert_eq!(of(root_pid)["comm"], "true");
    assert_eq!(of(root_pid)["uid"], 0);
    assert_eq!(of(nobody_pid)["uid"], NOBODY);

    let (running, root_pid, nobody_pid) = gadget.run_while_true_runs(
        &reference,
        &["-o", "json", "--param", "UID=65534", "--fields", "pid,comm"],
    );
    let records = json_records(&running);
    let pids: Vec<u64> = records.iter().filter_map(|r| r["pid"].as_u64()).collect();
    assert!(pids.contains(&u64::from(nobody_pid)), "{records:?}");
    assert!(!pids.contains(&u64::from(root_pid)), "{records:?}");
    assert!(
        records
            .iter()
            .all(|r| r.as_object().map(|o| o.len()) == Some(2)),
        "{records:?}"
    );

    let (running, root_pid, _) = gadget.run_while_true_runs(&reference, &[]);
    let header = running.seen.first().expect("a header");
    assert_eq!(
        header.split_whitespace().collect::<Vec<_>>(),
        ["PID", "COMM"],
        "{header}"
    );
    let line = running
        .seen
        .iter()
        .find(|l| l.split_whitespace().next() == Some(&root_pid.to_string()))
        .unwrap_or_else(|| panic!("no line of {root_pid}: {:?}", running.seen));
    // PID is 7 wide and right-aligned, COMM follows after one space.
    assert_eq!(line, &format!("{root_pid:>7} true"));

    // Carried without a registry: exported, removed, imported, run.
    let archive = gadget.work.path().join("gadget.tar");
    let archive = archive.to_str().expect("utf-8");
    gadget.user.ok(&["export", &reference, "-o", archive]);
    gadget.user.ok(&["rmi", &reference]);
    assert!(gadget.user.blobs().is_empty(), "{:?}", gadget.user.blobs());
    let imported = gadget.user.ok(&["import", archive]);
    assert_eq!(imported.trim(), format!("imported {reference}"));
    let help = gadget
        .user
        .ok(&["run", "--pull", "never", &reference, "-h"]);
    for words in [
        "uid [default 4294967295]",
        "Only processes of this user",
        "comm",
    ] {
        assert!(help.contains(words), "{words}: {help}");
    }
    // An annotation nothing reads is ignored, and named under -v.
    let verbose = gadget
        .user
        .output(&["run", "--pull", "never", &reference, "-v", "-h"]);
    let stderr = String::from_utf8_lossy(&verbose.stderr);
    assert!(
        stderr.contains("annotation `columns.unknown-to-wasm-bpf` of exec.comm is not used"),
        "{stderr}"
    );
    let images = gadget.user.ok(&["images"]);
    assert!(
        images
            .lines()
            .any(|l| l.starts_with(&reference) && l.contains("(gadget)")),
        "{images}"
    );
    gadget.user.ok(&["rmi", &reference]);
    assert!(gadget.user.blobs().is_empty(), "{:?}", gadget.user.blobs());
}

/// Trust applies to the index: a signature of its digest lets the gadget
/// pass `--verify-key`, and an unsigned one is refused. Images that do
/// not fit are refused with what is wrong, and nothing is stored: another
/// architecture only, no eBPF layer; a wasm layer is refused at run,
/// unless `--ebpf-only`.
#[test]
fn gadget_images_are_verified_and_what_does_not_fit_is_refused() {
    let gadget = Gadget::new();
    let keys = tempfile::tempdir().expect("tempdir");
    let (key, public) = key_pair(keys.path(), "release");
    let insecure = gadget.insecure();
    let signed = gadget.publish_trace_exec("signed", &[]);
    let unsigned = gadget.publish_trace_exec("unsigned", &[]);
    let out = gadget
        .user
        .ok(&[&["sign", &signed, "--key", &key], &insecure[..]].concat());
    // What was signed is the index skopeo copied, by its digest.
    let index = skopeo(&[
        "inspect",
        "--raw",
        "--tls-verify=false",
        &format!("docker://{signed}"),
    ]);
    assert!(
        index.contains("application/vnd.oci.image.index.v1+json"),
        "{index}"
    );
    let verify = ["--verify-key", public.as_str()];
    let out2 = gadget
        .user
        .ok(&[&["pull", &signed], &verify[..], &insecure[..]].concat());
    let digest = out2
        .split_whitespace()
        .nth(1)
        .expect("a digest")
        .to_string();
    assert!(out.contains(&digest), "signed {out}, pulled {out2}");
    let error = gadget
        .user
        .fails(&[&["pull", &unsigned], &verify[..], &insecure[..]].concat());
    assert!(error.contains("is not signed"), "{error}");

    let (native, other) = architectures();
    let other_only = gadget.publish(
        "other_only",
        &[
            "--arch",
            other,
            "--ebpf",
            &format!("{other}={}", gadget.object.display()),
        ],
    );
    let error = gadget
        .user
        .fails(&[&["pull", &other_only], &insecure[..]].concat());
    assert!(
        error.contains(&format!("no manifest for linux/{native}"))
            && error.contains(&format!("linux/{other}")),
        "{error}"
    );
    let no_ebpf = gadget.publish("no_ebpf", &["--arch", native]);
    let error = gadget
        .user
        .fails(&[&["pull", &no_ebpf], &insecure[..]].concat());
    assert!(error.contains("no eBPF program"), "{error}");
    let images = gadget.user.ok(&["images"]);
    assert!(
        !images.contains("other_only") && !images.contains("no_ebpf"),
        "{images}"
    );

    let module = gadget.work.path().join("gadget.wasm");
    std::fs::write(&module, b"\0asm\x01\0\0\0").expect("writing");
    let layer = format!(
        "application/vnd.gadget.wasm.program.v1+binary={}",
        module.display()
    );
    let with_wasm = gadget.publish_trace_exec("with_wasm", &["--layer", &layer]);
    let error = gadget
        .user
        .fails(&[&["run"], &insecure[..], &[&with_wasm, "-t", "1"]].concat());
    assert!(
        error.contains("application/vnd.gadget.wasm.program.v1+binary")
            && error.contains("--ebpf-only"),
        "{error}"
    );
    gadget.user.ok(&[
        "run",
        "--pull",
        "never",
        &with_wasm,
        "--ebpf-only",
        "-t",
        "1",
    ]);
}

/// What a gadget holds is checked before anything is loaded: a config
/// that is not YAML, a parameter gadget.yaml names that is not a global,
/// a value that does not parse for its type.
#[test]
fn a_gadgets_bad_metadata_is_a_clear_error() {
    let gadget = Gadget::new();
    let insecure = gadget.insecure();
    let bad_yaml = gadget.work.path().join("bad.yaml");
    std::fs::write(&bad_yaml, "params: [unclosed\n").expect("writing");
    let no_global = gadget.work.path().join("no_global.yaml");
    std::fs::write(
        &no_global,
        "params:\n  ebpf:\n    targ_pid:\n      key: pid\n",
    )
    .expect("writing");
    let cases = [
        (bad_yaml, &[][..], "gadget.yaml is not a gadget's"),
        (
            no_global,
            &[][..],
            "`targ_pid` is not a global of the object",
        ),
        (
            root().join("tests/gadget/trace_exec.yaml"),
            &["--param", "uid=abc"][..],
            "`abc` is not an integer",
        ),
    ];
    for (i, (yaml, args, words)) in cases.into_iter().enumerate() {
        let object = format!("{}={}", architectures().0, gadget.object.display());
        let reference = gadget.publish(
            &format!("bad{i}"),
            &[
                "--arch",
                architectures().0,
                "--ebpf",
                &object,
                "--yaml",
                yaml.to_str().expect("utf-8"),
            ],
        );
        let error = gadget
            .user
            .fails(&[&["run"], &insecure[..], &[&reference], args].concat());
        assert!(error.contains(words), "{words}: {error}");
    }
}

/// A map iterator gadget: its hash map drained every interval (`-i`), each
/// entry its key's and value's fields; as JSON every entry once, counts
/// adding up to the executions the test made; as columns one table per
/// interval that had entries, sorted by `--sort` and cut at `--max-rows`.
#[test]
fn a_map_iterator_gadget_prints_a_table_per_interval() {
    let gadget = Gadget::new();
    let reference = gadget.publish_own("top_exec");
    // A command of its own name, so that only the test's runs count, and
    // one that sorts before any other.
    let command = gadget.work.path().join("0topexec");
    std::fs::copy("/bin/true", &command).expect("copying true");
    let run = |runs: usize, args: &[&str]| {
        let mut running = gadget.start(&reference, &[&["-i", "0.5", "-t", "2"], args].concat());
        wait_attached(&running, 1);
        for _ in 0..runs {
            Command::new(&command)
                .status()
                .expect("running the probe command");
        }
        wait_finished(&mut running);
        running
    };

    let running = run(5, &["-o", "json"]);
    let counted: u64 = json_records(&running)
        .iter()
        .filter(|r| r["comm"] == "0topexec")
        .map(|r| r["count"].as_u64().expect("a count"))
        .sum();
    assert_eq!(counted, 5, "{:?}", running.seen);

    // Sorted by command, the test's leads every table it is in, whatever
    // else the machine runs meanwhile, so the cut never drops it.
    let running = run(5, &["--sort", "comm", "--max-rows", "2"]);
    let tables: Vec<&[String]> = running
        .seen
        .split(|l| l.is_empty())
        .filter(|t| !t.is_empty())
        .collect();
    // An interval without entries sends no batch, so prints no table.
    assert!(!tables.is_empty(), "{:?}", running.seen);
    let mut counted = 0;
    for table in &tables {
        let (header, rows) = table.split_first().expect("a header");
        assert_eq!(
            header.split_whitespace().collect::<Vec<_>>(),
            ["COMM", "COUNT"]
        );
        assert!(rows.len() <= 2, "{table:?}");
        let comms: Vec<&str> = rows
            .iter()
            .filter_map(|r| r.split_whitespace().next())
            .collect();
        assert!(
            comms.windows(2).all(|w| w[0] <= w[1]),
            "not sorted: {table:?}"
        );
        for row in rows.iter().filter(|r| r.starts_with("0topexec ")) {
            counted += row
                .split_whitespace()
                .last()
                .and_then(|c| c.parse::<u64>().ok())
                .expect("a count");
        }
    }
    assert_eq!(counted, 5, "{:?}", running.seen);
}

/// A gadget's own filters: `--mntns-of PID` (through IG's mount namespace
/// filter map) reports only what runs in that process's mount namespace,
/// and a text parameter (`targ_comm`, a `char[16]`) only one command.
#[test]
fn a_gadget_filters_by_mount_namespace_and_command() {
    let gadget = Gadget::new();
    let reference = gadget.publish_trace_exec("filtered", &[]);
    let mut namespace = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sleep", "60"])
        .spawn()
        .expect("unshare");
    let holder = namespace.id().to_string();
    // unshare has made the namespace once sleep runs in it.
    let host_ns = std::fs::read_link("/proc/self/ns/mnt").expect("own mntns");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::fs::read_link(format!("/proc/{holder}/ns/mnt"))
        .ok()
        .as_ref()
        == Some(&host_ns)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "unshare made no namespace"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let mut running = gadget.start(
        &reference,
        &[
            "-t",
            "3",
            "-o",
            "json",
            "--mntns-of",
            &holder,
            "--param",
            "targ_comm=true",
        ],
    );
    wait_attached(&running, 1);
    let inside = |program: &str| {
        let mut child = Command::new("nsenter")
            .args(["-t", &holder, "-m", program])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("nsenter");
        let pid = child.id();
        child.wait().expect("waiting");
        u64::from(pid)
    };
    let true_inside = inside("true");
    let echo_inside = inside("echo");
    let mut outside = Command::new("true").spawn().expect("true");
    let true_outside = u64::from(outside.id());
    outside.wait().expect("waiting");
    wait_finished(&mut running);
    let _ = namespace.kill();
    let _ = namespace.wait();
    let pids: Vec<u64> = json_records(&running)
        .iter()
        .filter_map(|r| r["pid"].as_u64())
        .collect();
    assert_eq!(
        pids,
        [true_inside],
        "inside {true_inside} {echo_inside}, outside {true_outside}"
    );
}

/// An iterator gadget: its bpf_iter program runs once and its entries
/// print as one snapshot, among them a process the test started, with its
/// pid, parent and command.
#[test]
fn an_iterator_gadget_prints_a_snapshot() {
    let gadget = Gadget::new();
    let reference = gadget.publish_own("snapshot_task");
    let sleeper = gadget.work.path().join("snapshot-probe");
    std::fs::copy(common::sleep_path(), &sleeper).expect("copying sleep");
    let mut child = Command::new(&sleeper).arg("30").spawn().expect("sleeping");
    let pid = child.id();
    let json = gadget.user.ok(&[
        &["run"],
        &gadget.insecure()[..],
        &[&reference, "-o", "json"],
    ]
    .concat());
    let columns = gadget.user.ok(&[
        "run", "--pull", "never", &reference, "--sort", "-pid", "--fields", "comm,pid",
    ]);
    let _ = child.kill();
    let _ = child.wait();
    let entries: Vec<Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    let probe = entries
        .iter()
        .find(|e| e["pid"].as_u64() == Some(u64::from(pid)))
        .unwrap_or_else(|| panic!("no entry of {pid} among {} entries", entries.len()));
    assert_eq!(probe["comm"], "snapshot-probe");
    assert_eq!(probe["ppid"].as_u64(), Some(u64::from(std::process::id())));
    let own = u64::from(std::process::id());
    assert!(
        entries.iter().any(|e| e["pid"].as_u64() == Some(own)),
        "not the test itself: {json}"
    );

    let mut lines = columns.lines();
    let header: Vec<&str> = lines.next().expect("a header").split_whitespace().collect();
    assert_eq!(header, ["COMM", "PID"]);
    let pids: Vec<u64> = lines
        .filter_map(|l| l.split_whitespace().last()?.parse().ok())
        .collect();
    assert!(pids.contains(&u64::from(pid)), "{columns}");
    assert!(
        pids.windows(2).all(|w| w[0] >= w[1]),
        "not sorted: {columns}"
    );
}

/// `bpftool -j KIND show id ID`, parsed.
fn bpftool_show(kind: &str, id: u32) -> Value {
    let out = Command::new("bpftool")
        .args(["-j", kind, "show", "id", &id.to_string()])
        .output()
        .expect("running bpftool");
    serde_json::from_slice(&out.stdout).expect("bpftool's JSON")
}

/// What a generic libbpf loader trips on in real gadget objects is set
/// right before load: programs in sections libbpf does not know get their
/// type from the prefix (as IG's loader gives it), and a map declared with
/// no size gets its `<map>_max_entries` variable's value, the parameter's
/// or its initial one.
#[test]
fn gadget_objects_libbpf_would_refuse_are_typed_and_sized_before_load() {
    let gadget = Gadget::new();
    let reference = gadget.publish_own("sized");
    let held = |args: &[&str]| {
        let mut running = gadget.start(&reference, &[&["-t", "2"], args].concat());
        wait_attached(&running, 1);
        let ids = common::bpf_ids(running.pid());
        let progs: Vec<(String, String)> = ids
            .progs
            .iter()
            .map(|&id| {
                let p = bpftool_show("prog", id);
                (p["name"].to_string(), p["type"].to_string())
            })
            .collect();
        let seen = ids
            .maps
            .iter()
            .map(|&id| bpftool_show("map", id))
            .find(|m| m["name"] == "seen")
            .map(|m| m["max_entries"].as_u64());
        wait_finished(&mut running);
        (progs, seen, running.stderr())
    };
    let (progs, seen, stderr) = held(&[]);
    for (name, ty) in [
        ("count_packets", "socket_filter"),
        ("pass_ingress", "sched_cls"),
    ] {
        assert!(
            progs.contains(&(format!("\"{name}\""), format!("\"{ty}\""))),
            "{progs:?}"
        );
        assert!(stderr.contains(&format!("{name} (")), "{stderr}");
    }
    assert_eq!(seen, Some(Some(128)));
    let (_, seen, _) = held(&["--param", "seen_max_entries=64"]);
    assert_eq!(seen, Some(Some(64)));
}

/// Inspektor Gadget's typed fields: `error_raw` (gadget_errno) and
/// `sig_raw` (gadget_signal) yield `error` and `sig` by name, for every
/// consumer; the columns show the names and hide the raw values.
#[test]
fn typed_fields_are_shown_by_name() {
    let gadget = Gadget::new();
    let reference = gadget.publish_own("trace_fail");
    let fail = |args: &[&str]| {
        let mut running = gadget.start(&reference, &[&["-t", "2"], args].concat());
        wait_attached(&running, 2);
        let missing = std::fs::File::open(gadget.work.path().join("no-such-file"));
        assert!(missing.is_err());
        let mut sleeper = Command::new(common::sleep_path())
            .arg("30")
            .spawn()
            .expect("sleep");
        // SAFETY: signalling a child of this test.
        unsafe { libc::kill(sleeper.id() as i32, libc::SIGUSR1) };
        let _ = sleeper.wait();
        wait_finished(&mut running);
        (running, sleeper.id())
    };
    let own = u64::from(std::process::id());
    let (running, sleeper) = fail(&["-o", "json"]);
    let records = json_records(&running);
    assert!(
        records.iter().any(|r| r["pid"].as_u64() == Some(own)
            && r["error"] == "ENOENT"
            && r["error_raw"] == 2),
        "{records:?}"
    );
    assert!(
        records
            .iter()
            .any(|r| r["pid"].as_u64() == Some(u64::from(sleeper)) && r["sig"] == "SIGUSR1"),
        "{records:?}"
    );
    let (running, sleeper) = fail(&[]);
    let header: Vec<&str> = running.seen[0].split_whitespace().collect();
    assert_eq!(header, ["PID", "COMM", "ERROR", "SIG"]);
    assert!(
        running.seen.iter().any(
            |l| l.split_whitespace().next() == Some(&sleeper.to_string()) && l.ends_with("SIGUSR1")
        ),
        "{:?}",
        running.seen
    );
}

/// A histogram gadget: a map iterator whose value is log2 slots typed
/// `gadget_histogram_slot__u32` prints each key's histogram below its row,
/// as bcc's tools draw one; the reads the test made (5 of 5000 bytes, in
/// slot 12: 4096 -> 8191) are counted there.
#[test]
fn a_histogram_gadget_draws_its_slots() {
    let gadget = Gadget::new();
    let reference = gadget.publish_own("profile_read");
    let reader = gadget.work.path().join("histprobe");
    std::fs::copy("/bin/dd", &reader).expect("copying dd");
    let run = |args: &[&str]| {
        let mut running = gadget.start(&reference, &[&["-t", "2", "-i", "5"], args].concat());
        wait_attached(&running, 1);
        let status = Command::new(&reader)
            .args(["if=/dev/zero", "of=/dev/null", "bs=5000", "count=5"])
            .stderr(std::process::Stdio::null())
            .status()
            .expect("dd");
        assert!(status.success());
        wait_finished(&mut running);
        running
    };
    let running = run(&["-o", "json", "--fields", "comm,bytes"]);
    let slots: Vec<u64> = json_records(&running)
        .iter()
        .find(|r| r["comm"] == "histprobe")
        .and_then(|r| r["bytes"].as_array().cloned())
        .unwrap_or_else(|| panic!("no histprobe: {:?}", running.seen))
        .iter()
        .map(|n| n.as_u64().expect("a count"))
        .collect();
    assert_eq!(slots.len(), 20);
    assert_eq!(slots[12], 5, "{slots:?}");

    let running = run(&[]);
    let at = running
        .seen
        .iter()
        .position(|l| l.trim_end() == "histprobe")
        .unwrap_or_else(|| panic!("no histprobe row: {:?}", running.seen));
    assert_eq!(
        running.seen[at + 1].split_whitespace().collect::<Vec<_>>(),
        ["bytes", ":", "count", "distribution"]
    );
    let bucket = running.seen[at + 2..]
        .iter()
        .take_while(|l| l.contains('|'))
        .find(|l| l.trim_start().starts_with("4096 -> 8191"))
        .unwrap_or_else(|| panic!("no 4096 bucket: {:?}", &running.seen[at..]));
    assert!(bucket.contains(": 5 "), "{bucket}");
}
