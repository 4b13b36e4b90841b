//! Helpers shared by the integration tests: the `wasm-bpf` binary, the
//! guest components, a running guest's output, and what the kernel holds.
//!
//! The tests load real programs into the running kernel, so they need root
//! and tracefs; the guests are built by the README's test command.

#![allow(dead_code, reason = "each test file uses a different subset")]

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

pub mod http;
pub mod registry;

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// A file under the target directory that `make test` builds first.
pub fn built(path: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    let path = target.join(path);
    assert!(
        path.exists(),
        "{} is missing: build it first (`make test` does)",
        path.display()
    );
    path
}

/// The component of the guest package `name`.
pub fn guest(name: &str) -> PathBuf {
    built(&format!("wasm32-wasip2/guest/{name}.wasm"))
}

/// Stops the whole test run, saying why in one line, unless the tests can
/// load BPF programs (root) and find tracepoints (tracefs). Without them
/// every kernel test would fail on its own, each with a different error.
pub fn require_kernel() {
    static CHECKED: std::sync::Once = std::sync::Once::new();
    CHECKED.call_once(|| {
        // SAFETY: geteuid has no preconditions.
        let reason = if unsafe { libc::geteuid() } != 0 {
            "these tests load BPF programs into the kernel: run them as root \
             (`make check` runs the tests that need no root)"
        } else if !Path::new("/sys/kernel/tracing/events").exists() {
            "tracefs is not mounted: mount -t tracefs tracefs /sys/kernel/tracing \
             (`make setup` does; tests/machine.sh lists what the tests need)"
        } else {
            return;
        };
        // Straight to the process's stderr: the harness captures
        // `eprintln!` and would drop it at the exit.
        let _ = writeln!(std::io::stderr(), "\nwasm-bpf tests stopped: {reason}");
        std::process::exit(1);
    });
}

/// Fails the test unless bpffs is mounted at `/sys/fs/bpf` (pinned maps).
pub fn require_bpffs() {
    const BPF_FS_MAGIC: i64 = 0xcafe_4a11;
    // SAFETY: statfs writes into the zeroed struct; the path is a C string.
    let on_bpffs = unsafe {
        let mut stat: libc::statfs = std::mem::zeroed();
        libc::statfs(c"/sys/fs/bpf".as_ptr(), &mut stat) == 0 && stat.f_type as i64 == BPF_FS_MAGIC
    };
    assert!(
        on_bpffs,
        "bpffs is not mounted at /sys/fs/bpf: mount -t bpf bpf /sys/fs/bpf \
         (`make setup` does; tests/machine.sh lists what the tests need)"
    );
}

/// A `wasm-bpf` command (the release build).
pub fn wasm_bpf() -> Command {
    Command::new(built("release/wasm-bpf"))
}

/// Runs `wasm-bpf run [host_args] <component> [args]` to its end; its exit
/// code and standard error.
pub fn run_to_end(host_args: &[&str], component: &Path, args: &[&str]) -> (Option<i32>, String) {
    let out = wasm_bpf()
        .arg("run")
        .args(host_args)
        .arg(component)
        .args(args)
        .output()
        .expect("running wasm-bpf");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `command`, which must succeed (a missing tool is one
/// `tests/machine.sh setup` installs); its standard output.
pub fn run_ok(command: &mut Command) -> String {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e} (tests/machine.sh setup installs the tools)"));
    assert!(
        out.status.success(),
        "{command:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What [`run_measured`] saw of a finished command.
pub struct Measured {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// The command's peak resident memory, in KiB (`wait4`'s `ru_maxrss`).
    pub peak_kib: u64,
}

/// Runs `command` to its end and measures its peak resident memory.
pub fn run_measured(mut command: Command) -> Measured {
    #[allow(
        clippy::zombie_processes,
        reason = "reaped below by wait4, for its rusage"
    )]
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    let read = |mut pipe: Box<dyn std::io::Read + Send>| {
        thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let stdout = read(Box::new(child.stdout.take().expect("piped")));
    let stderr = read(Box::new(child.stderr.take().expect("piped")));
    let mut status = 0;
    // SAFETY: all zeroes is a valid rusage for the kernel to fill.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: the pid is our unreaped child; the pointers are to locals.
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as i32, "wait4");
    Measured {
        code: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
        peak_kib: usage.ru_maxrss as u64,
    }
}

/// A running `wasm-bpf run`, its stdout read line by line.
pub struct Running {
    pub child: Child,
    lines: Receiver<String>,
    /// Every stdout line so far.
    pub seen: Vec<String>,
    stderr: Arc<Mutex<String>>,
}

impl Running {
    /// Starts `wasm-bpf run [host_args] <component> [guest_args]`.
    pub fn start(host_args: &[&str], component: &Path, guest_args: &[&str]) -> Self {
        let mut command = wasm_bpf();
        command
            .arg("run")
            .args(host_args)
            .arg(component)
            .args(guest_args);
        Self::spawn(command)
    }

    /// Starts `command`, a `wasm-bpf run` made by the caller.
    pub fn spawn(mut command: Command) -> Self {
        require_kernel();
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting wasm-bpf");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut stderr_pipe = child.stderr.take().expect("piped stderr");
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&stderr);
        thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr_pipe.read_to_string(&mut text);
            *sink.lock().expect("stderr lock") = text;
        });
        Self {
            child,
            lines,
            seen: Vec::new(),
            stderr,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The next stdout line for which `want` holds, reading at most until
    /// `timeout`; every line read is kept in `seen`.
    pub fn wait_line(&mut self, timeout: Duration, want: impl Fn(&str) -> bool) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            let line = self.lines.recv_timeout(left).ok()?;
            self.seen.push(line.clone());
            if want(&line) {
                return Some(line);
            }
        }
    }

    /// Sends `signal` to the host process.
    pub fn signal(&self, signal: i32) {
        // SAFETY: kill has no memory preconditions; the pid is our child's.
        let ret = unsafe { libc::kill(self.pid() as i32, signal) };
        assert_eq!(ret, 0, "kill failed");
    }

    /// Waits up to `timeout` for the process to exit.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            thread::sleep(Duration::from_millis(5));
        }
        None
    }

    /// Standard error, once the process has exited.
    pub fn stderr(&self) -> String {
        // The reader thread finishes when the pipe closes, just after exit.
        for _ in 0..100 {
            let text = self.stderr.lock().expect("stderr lock").clone();
            if !text.is_empty() {
                return text;
            }
            thread::sleep(Duration::from_millis(10));
        }
        String::new()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits for `running` to end on its own (a guest's `-t`), successfully,
/// with everything it held freed; every line it printed is then in `seen`.
pub fn wait_finished(running: &mut Running) {
    wait_ended(running, Some(0));
}

/// Waits for `running` to end with exit code `code`, then reads the rest
/// of its output; it must have freed all it held.
pub fn wait_ended(running: &mut Running, code: Option<i32>) {
    let ids = bpf_ids(running.pid());
    let status = running
        .wait_exit(Duration::from_secs(30))
        .expect("it did not stop");
    assert_eq!(
        status.code(),
        code,
        "exit {status:?}, stderr: {}",
        running.stderr()
    );
    while running
        .wait_line(Duration::from_millis(200), |_| true)
        .is_some()
    {}
    assert_freed(&ids);
}

/// The lines `running` printed that are JSON objects (records a json
/// consumer wrote).
pub fn json_records(running: &Running) -> Vec<serde_json::Value> {
    running
        .seen
        .iter()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

/// Waits until `running` holds `links` links: its programs are attached.
pub fn wait_attached(running: &Running, links: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while bpf_ids(running.pid()).links.len() < links {
        assert!(Instant::now() < deadline, "it never attached");
        thread::sleep(Duration::from_millis(20));
    }
}

/// The BPF programs, maps and links a process holds fds to.
#[derive(Debug, Default)]
pub struct BpfIds {
    pub progs: Vec<u32>,
    pub maps: Vec<u32>,
    pub links: Vec<u32>,
}

/// What `pid` holds, read from its fds' fdinfo.
pub fn bpf_ids(pid: u32) -> BpfIds {
    let mut ids = BpfIds::default();
    let dir = format!("/proc/{pid}/fdinfo");
    for entry in std::fs::read_dir(&dir).expect("reading fdinfo").flatten() {
        let Ok(info) = std::fs::read_to_string(entry.path()) else {
            continue;
        };
        for line in info.lines() {
            let field = |name: &str| line.strip_prefix(name).and_then(|v| v.trim().parse().ok());
            if let Some(id) = field("prog_id:") {
                ids.progs.push(id);
            } else if let Some(id) = field("map_id:") {
                ids.maps.push(id);
            } else if let Some(id) = field("link_id:") {
                ids.links.push(id);
            }
        }
    }
    for list in [&mut ids.progs, &mut ids.maps, &mut ids.links] {
        list.sort_unstable();
        list.dedup();
    }
    ids
}

/// Where this machine mounts cgroup v2 (BPF's cgroup hooks and
/// cgroup-array maps take only its groups).
pub fn cgroup2_root() -> PathBuf {
    let mounts = std::fs::read_to_string("/proc/self/mounts").expect("reading mounts");
    mounts
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|f| f.get(2) == Some(&"cgroup2"))
        .map(|f| PathBuf::from(f[1]))
        .expect("a cgroup v2 mount (BPF's cgroup hooks need one)")
}

/// Whether `bpftool <kind> show id <id>` still finds the object.
pub fn bpftool_finds(kind: &str, id: u32) -> bool {
    Command::new("bpftool")
        .args([kind, "show", "id", &id.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("running bpftool")
        .success()
}

/// Waits (the kernel frees programs after an RCU grace period) until
/// bpftool finds none of `ids`; panics naming what is left.
pub fn assert_freed(ids: &BpfIds) {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let left: Vec<String> = [
            ("prog", &ids.progs),
            ("map", &ids.maps),
            ("link", &ids.links),
        ]
        .iter()
        .flat_map(|(kind, list)| {
            list.iter()
                .filter(|&&id| bpftool_finds(kind, id))
                .map(move |id| format!("{kind} {id}"))
        })
        .collect();
        if left.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "still in the kernel after exit: {left:?}"
        );
        thread::sleep(Duration::from_millis(50));
    }
}

/// The absolute path of the `sleep` binary, as exec reports it.
pub fn sleep_path() -> PathBuf {
    ["/usr/bin/sleep", "/bin/sleep"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .expect("no sleep binary")
}

/// Waits until `bpftool map show` lists no map called `name` (internal
/// maps are named after their object, so this tracks one object).
pub fn assert_no_map_named(name: &str) {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let output = Command::new("bpftool")
            .args(["map", "show"])
            .output()
            .expect("running bpftool");
        let listing = String::from_utf8_lossy(&output.stdout);
        if !listing.contains(&format!("name {name} ")) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "map {name} still in the kernel:\n{listing}"
        );
        thread::sleep(Duration::from_millis(50));
    }
}

/// Runs one scenario of the test guest (`tests/guests/host-api`); returns `case name => outcome`
/// lines as a map, after checking the guest finished normally.
pub fn scenario(name: &str) -> BTreeMap<String, String> {
    scenario_with(&[], &[name]).1
}

/// Runs the test guest with `wasm-bpf run` options `host_args` and guest
/// arguments `args` (the scenario first); returns the host's pid and the
/// `case name => outcome` lines.
pub fn scenario_with(host_args: &[&str], args: &[&str]) -> (u32, BTreeMap<String, String>) {
    guest_cases("host-api", host_args, args)
}

/// Runs guest `name` that prints `case NAME => OUTCOME` lines and ends
/// with `done <first argument>`; returns the host's pid and the cases.
pub fn guest_cases(
    name: &str,
    host_args: &[&str],
    args: &[&str],
) -> (u32, BTreeMap<String, String>) {
    require_kernel();
    let child = wasm_bpf()
        .arg("run")
        .args(host_args)
        .arg(guest(name))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running wasm-bpf");
    let pid = child.id();
    let output = child.wait_with_output().expect("waiting for wasm-bpf");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let name = args[0];
    assert!(
        output.status.success() && stdout.contains(&format!("done {name}")),
        "scenario {name} failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    (pid, cases(stdout.lines()))
}

/// The `case NAME => OUTCOME` lines among `lines`, by name.
pub fn cases<'a>(lines: impl IntoIterator<Item = &'a str>) -> BTreeMap<String, String> {
    lines
        .into_iter()
        .filter_map(|l| l.strip_prefix("case "))
        .filter_map(|l| l.split_once(" => "))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Asserts case `name` is `ok <value>`.
pub fn ok(cases: &BTreeMap<String, String>, name: &str, value: &str) {
    assert_eq!(
        cases.get(name).map(String::as_str),
        Some(&*format!("ok {value}")),
        "case {name}"
    );
}

/// Asserts case `name` failed with `code` and `errno`, its message
/// containing each of `words`.
pub fn err(cases: &BTreeMap<String, String>, name: &str, code: &str, errno: i32, words: &[&str]) {
    let outcome = cases.get(name).unwrap_or_else(|| panic!("no case {name}"));
    let prefix = format!("err ErrorCode::{code} errno={errno} ");
    assert!(outcome.starts_with(&prefix), "case {name}: {outcome}");
    for word in words {
        assert!(
            outcome.contains(word),
            "case {name} lacks {word:?}: {outcome}"
        );
    }
}
