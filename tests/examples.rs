//! The examples under `examples/` end to end: each runs as a component
//! under `wasm-bpf run` against the real kernel, and its output must show
//! what the test made happen (a PID, a file name, arguments, a packet
//! count).

mod common;

use std::fs::File;
use std::io::{BufRead as _, BufReader};
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd as _;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{assert_freed, bpf_ids, guest, require_kernel, root, wait_ended, wasm_bpf, Running};

const WAIT: Duration = Duration::from_secs(15);

/// Starts example `name` and waits for its first line (a header or a
/// "started" message) starting with `first`.
fn start(name: &str, host_args: &[&str], args: &[&str], first: &str) -> Running {
    require_kernel();
    let mut running = Running::start(host_args, &guest(name), args);
    let found = running.wait_line(WAIT, |l| l.starts_with(first));
    assert!(
        found.is_some(),
        "{name} did not start; stdout {:?}, stderr {}",
        running.seen,
        running.stderr()
    );
    running
}

/// Waits for a line of `running` for which `want` holds, failing with
/// everything seen.
fn expect_line(running: &mut Running, what: &str, want: impl Fn(&str) -> bool) -> String {
    running
        .wait_line(WAIT, want)
        .unwrap_or_else(|| panic!("no line with {what}; saw {:#?}", running.seen))
}

/// A unique token for names this test creates.
fn token(what: &str) -> String {
    format!("wbpf-{what}-{}", std::process::id())
}

#[test]
fn minimal_writes_to_the_trace_pipe() {
    let minimal = start("minimal", &[], &[], "Successfully started");
    let pid = minimal.pid();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let pipe = File::open("/sys/kernel/tracing/trace_pipe").expect("opening trace_pipe");
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let want = format!("BPF triggered from PID {pid}.");
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if line.contains(&want) => {
                assert!(line.contains("bpf_trace_printk"), "{line}");
                break;
            }
            Ok(_) => {}
            Err(_) => panic!("no `{want}` in the trace pipe"),
        }
    }
}

#[test]
fn task_iter_lists_its_own_process() {
    require_kernel();
    let child = wasm_bpf()
        .arg("run")
        .arg(guest("task_iter"))
        .stdout(Stdio::piped())
        .spawn()
        .expect("running task_iter");
    let pid = child.id();
    let output = child.wait_with_output().expect("task_iter output");
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    let want = format!(
        "Task Info. Pid: {pid}. Tgid: {pid}. Ppid: {}. Process Name: wasm-bpf. Kernel Stack Len: ",
        std::process::id()
    );
    let line = stdout
        .lines()
        .find(|l| l.starts_with(&want))
        .unwrap_or_else(|| panic!("no line starting {want:?} in:\n{stdout}"));
    // The host thread that ran the iterator was inside a system call, so
    // its kernel stack is not empty.
    let depth: u32 = line[want.len()..]
        .split('.')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("bad stack length in {line}"));
    assert!(depth > 0, "{line}");
    assert!(stdout.lines().count() > 10, "too few tasks:\n{stdout}");
}

/// Fields of an opensnoop line: PID COMM FD ERR PATH.
fn opensnoop_fields(line: &str) -> Option<(u32, String, i32, i32, String)> {
    let mut f = line.split_whitespace();
    Some((
        f.next()?.parse().ok()?,
        f.next()?.to_string(),
        f.next()?.parse().ok()?,
        f.next()?.parse().ok()?,
        f.next()?.to_string(),
    ))
}

#[test]
fn opensnoop_reports_failed_opens_with_their_error() {
    let mut snoop = start("opensnoop", &[], &["-x"], "PID");
    let path = format!("/nonexistent/{}", token("opensnoop"));
    let cat = Command::new("cat")
        .arg(&path)
        .stderr(Stdio::null())
        .spawn()
        .expect("spawning cat");
    let pid = cat.id();
    cat.wait_with_output().expect("cat");
    let line = expect_line(&mut snoop, "the cat's open", |l| {
        opensnoop_fields(l).is_some_and(|f| f.0 == pid && f.4 == path)
    });
    let (_, comm, fd, err, _) = opensnoop_fields(&line).unwrap();
    assert_eq!(
        (comm.as_str(), fd, err),
        ("cat", -1, libc::ENOENT),
        "{line}"
    );
    // -x: failed opens only.
    assert!(
        snoop
            .seen
            .iter()
            .filter_map(|l| opensnoop_fields(l))
            .all(|f| f.3 != 0),
        "a successful open with -x: {:#?}",
        snoop.seen
    );
}

#[test]
fn opensnoop_filters_by_pid_in_the_kernel() {
    let target = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "sleep 1; exec cat /nonexistent/{}-target",
            token("pid")
        ))
        .stderr(Stdio::null())
        .spawn()
        .expect("spawning sh");
    let pid = target.id().to_string();
    let mut snoop = start("opensnoop", &[], &["-p", &pid], "PID");
    let other = format!("/nonexistent/{}-other", token("pid"));
    Command::new("cat")
        .arg(&other)
        .stderr(Stdio::null())
        .status()
        .expect("cat");
    expect_line(&mut snoop, "the target's open", |l| l.contains("-target"));
    target.wait_with_output().expect("target");
    for line in &snoop.seen[1..] {
        assert!(line.starts_with(&pid), "another process: {line}");
    }
}

#[test]
fn execsnoop_shows_arguments_and_parent() {
    let mut snoop = start("execsnoop", &[], &[], "PCOMM");
    let arg = token("execsnoop");
    let child = Command::new("/bin/echo")
        .args([&arg, "second"])
        .stdout(Stdio::null())
        .spawn()
        .expect("spawning echo");
    let pid = child.id().to_string();
    child.wait_with_output().expect("echo");
    let line = expect_line(&mut snoop, "the echo", |l| {
        l.split_whitespace().nth(1) == Some(pid.as_str())
    });
    let fields: Vec<&str> = line.split_whitespace().collect();
    let parent = std::process::id().to_string();
    assert_eq!(
        fields,
        ["echo", &pid, &parent, "0", "/bin/echo", &arg, "second"],
        "{line}"
    );
}

/// The Rust runqlat and the C one (libbpf-tools' runqlat.c over the C SDK).
#[test]
fn runqlat_prints_a_histogram_with_samples() {
    for name in ["runqlat", "runqlat-c"] {
        runqlat_prints_a_histogram_with_samples_with(name);
    }
}

fn runqlat_prints_a_histogram_with_samples_with(name: &str) {
    require_kernel();
    let output = wasm_bpf()
        .arg("run")
        .arg(guest(name))
        .args(["1", "2"])
        .output()
        .expect("running runqlat");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{name}: {stdout}");
    assert_eq!(
        stdout
            .matches("     usecs               : count    distribution")
            .count(),
        2,
        "{name}: one histogram per interval:\n{stdout}"
    );
    let mut total = 0u64;
    let mut expected_low = 0u64;
    for line in stdout.lines().filter(|l| l.contains(" -> ")) {
        let (range, rest) = line.split_once(" : ").expect("range : count");
        let (low, high) = range.split_once(" -> ").expect("low -> high");
        let (low, high): (u64, u64) = (low.trim().parse().unwrap(), high.trim().parse().unwrap());
        if low == 0 {
            expected_low = 0;
        }
        assert_eq!(low, expected_low, "{line}");
        assert_eq!(high, (low.max(1) << 1) - 1, "{line}");
        expected_low = high + 1;
        let count: u64 = rest.split_whitespace().next().unwrap().parse().unwrap();
        assert!(rest.contains('|'), "{line}");
        total += count;
    }
    // A machine running this test switches tasks many times a second.
    assert!(total > 10, "{name}: almost no samples:\n{stdout}");
}

/// Without an interval runqlat prints one histogram, when stopped, as the
/// original does at Ctrl-C: the Rust one through the SDK's `sleep`, the C
/// one through its own SIGINT handler, which the C SDK runs, and `sleep()`
/// returning early.
#[test]
fn runqlat_without_an_interval_prints_its_histogram_at_ctrl_c() {
    for name in ["runqlat", "runqlat-c"] {
        runqlat_at_ctrl_c(name);
    }
}

fn runqlat_at_ctrl_c(name: &str) {
    // An hour's grace: the histogram must come from the guest's own
    // stop, however slow the machine.
    let mut running = Running::start(&["--grace", "1h"], &guest(name), &[]);
    let started = running.wait_line(Duration::from_secs(20), |l| l.starts_with("Tracing"));
    assert!(started.is_some(), "{}", running.stderr());
    // Scheduling goes on meanwhile: the histogram will not be empty.
    std::thread::sleep(Duration::from_millis(500));
    running.signal(libc::SIGINT);
    wait_ended(&mut running, Some(0));
    let stdout = running.seen.join("\n");
    assert_eq!(
        stdout.matches("usecs               : count").count(),
        1,
        "{name}: {stdout}"
    );
    assert!(stdout.contains(" -> "), "{name}: {stdout}");
}

/// Builds the uprobe example's target program into a fresh directory.
fn build_uprobe_target() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let status = Command::new("clang-19")
        .args(["-O1", "-g", "-o"])
        .arg(dir.path().join("uprobe_target"))
        .arg(root().join("examples/uprobe/target/uprobe_target.c"))
        .status()
        .expect("running clang-19");
    assert!(status.success(), "building uprobe_target");
    dir
}

#[test]
fn uprobe_shows_arguments_and_return_values() {
    let dir = build_uprobe_target();
    let grant = format!("{}::/app", dir.path().display());
    let mut uprobe = start(
        "uprobe",
        &["--dir", &grant],
        &["/app/uprobe_target"],
        "Successfully started",
    );
    let target = Command::new(dir.path().join("uprobe_target"))
        .arg("5")
        .stdout(Stdio::null())
        .spawn()
        .expect("running uprobe_target");
    let pid = target.id();
    target.wait_with_output().expect("uprobe_target");
    // Round i calls add(i, i + 1) and sub(i * i, i).
    for want in [
        format!("[{pid}] uprobed_add ENTRY: a = 3, b = 4"),
        format!("[{pid}] uprobed_add EXIT: return = 7"),
        format!("[{pid}] uprobed_sub ENTRY: a = 16, b = 4"),
        format!("[{pid}] uprobed_sub EXIT: return = 12"),
        format!("[{pid}] USDT uprobe_target:tick: round = 4, sum = 9"),
    ] {
        expect_line(&mut uprobe, &want, |l| l == want);
    }
}

#[test]
fn uprobe_refuses_a_binary_outside_its_grants() {
    require_kernel();
    let (code, stderr) = common::run_to_end(&[], &guest("uprobe"), &["/usr/bin/true"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("not inside a directory the guest was granted") && stderr.contains("--dir"),
        "{stderr}"
    );
}

#[test]
fn profile_samples_a_busy_process_with_stacks() {
    let mut busy = Command::new("sh")
        .args(["-c", "while :; do :; done"])
        .spawn()
        .expect("spawning a busy loop");
    let pid = busy.id();
    let mut profile = start("profile", &["--dir", "/proc::/proc"], &["-F", "99"], "COMM");
    let sample = format!("COMM: sh (pid={pid}) @ CPU ");
    expect_line(&mut profile, "a sample of the busy loop", |l| {
        l.starts_with(&sample)
    });
    expect_line(&mut profile, "its kernel part", |l| l == "Kernel:");
    expect_line(&mut profile, "its user part", |l| l == "Userspace:");
    let frame = expect_line(&mut profile, "a user frame", |l| !l.is_empty());
    assert!(frame.trim_start().starts_with("0 [<0000"), "{frame}");
    // Some sample somewhere is in the kernel, named through /proc/kallsyms.
    expect_line(&mut profile, "a symbolized kernel frame", |l| {
        l.contains("[<ffff") && l.contains("+0x")
    });
    let _ = busy.kill();
    let _ = busy.wait();
}

/// The counts of a sockfilter/tc line such as `ICMP: 3  UDP: 50` for
/// protocol `proto`.
fn count_of(line: &str, proto: &str) -> Option<u64> {
    let rest = line.split(&format!("{proto}: ")).nth(1)?;
    rest.split_whitespace().next()?.parse().ok()
}

#[test]
fn sockfilter_counts_loopback_udp() {
    let mut filter = start("sockfilter", &["--allow-net", "lo"], &[], "Counting");
    let server = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let client = UdpSocket::bind("127.0.0.1:0").expect("bind");
    const SENT: u64 = 300;
    for _ in 0..SENT {
        client
            .send_to(b"sockfilter", server.local_addr().unwrap())
            .expect("send");
    }
    expect_line(&mut filter, "the UDP packets", |l| {
        count_of(l, "UDP").is_some_and(|n| n >= SENT)
    });
}

/// A veth pair: one end in the host, one in a new network namespace, with
/// addresses 10.<x>.0.1 (host) and 10.<x>.0.2; removed on drop.
struct Veth {
    ns: String,
    host_if: String,
    host_ip: String,
}

fn ip(args: &[&str]) {
    let status = Command::new("ip").args(args).status().expect("running ip");
    assert!(status.success(), "ip {args:?}");
}

impl Veth {
    fn new(tag: &str, subnet: u8) -> Self {
        let id = std::process::id() % 100_000;
        let ns = format!("wbpf-{tag}-{id}");
        let host_if = format!("wb{tag}{id}");
        let peer = format!("{host_if}p");
        let host_ip = format!("10.{subnet}.0.1");
        let _ = Command::new("ip")
            .args(["netns", "del", &ns])
            .stderr(Stdio::null())
            .status();
        ip(&["netns", "add", &ns]);
        let veth = Self {
            ns: ns.clone(),
            host_if: host_if.clone(),
            host_ip: host_ip.clone(),
        };
        ip(&[
            "link", "add", &host_if, "type", "veth", "peer", "name", &peer, "netns", &ns,
        ]);
        ip(&["addr", "add", &format!("{host_ip}/24"), "dev", &host_if]);
        ip(&["link", "set", &host_if, "up"]);
        ip(&[
            "-n",
            &ns,
            "addr",
            "add",
            &format!("10.{subnet}.0.2/24"),
            "dev",
            &peer,
        ]);
        ip(&["-n", &ns, "link", "set", &peer, "up"]);
        veth
    }

    /// Sends `count` UDP datagrams from inside the namespace to the host
    /// end's `port`.
    fn send(&self, port: u16, count: usize) {
        let ns = File::open(format!("/run/netns/{}", self.ns)).expect("opening the netns");
        let dst: SocketAddr = format!("{}:{port}", self.host_ip).parse().unwrap();
        std::thread::spawn(move || {
            // SAFETY: setns changes only this thread's network namespace.
            let ret = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(ret, 0, "setns");
            let socket = UdpSocket::bind("0.0.0.0:0").expect("bind in netns");
            for _ in 0..count {
                socket.send_to(b"veth", dst).expect("send in netns");
            }
        })
        .join()
        .expect("sender thread");
    }

    /// Sends one datagram to a port nobody counts and waits, so the
    /// neighbour entry exists before counted traffic starts.
    fn warm_up(&self) {
        self.send(9, 1);
        std::thread::sleep(Duration::from_millis(300));
    }
}

impl Drop for Veth {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", &self.host_if])
            .status();
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).status();
    }
}

#[test]
fn tc_counts_packets_at_ingress() {
    let veth = Veth::new("tc", 211);
    veth.warm_up();
    let mut tc = start(
        "tc",
        &["--allow-net", &veth.host_if],
        &["-i", &veth.host_if, "-P", "7001"],
        "Counting",
    );
    const SENT: usize = 100;
    veth.send(7001, SENT);
    let line = expect_line(&mut tc, "the sent packets", |l| {
        count_of(l, "UDP").is_some_and(|n| n >= SENT as u64)
    });
    assert_eq!(count_of(&line, "UDP"), Some(SENT as u64), "{line}");
    // 4-byte payload + 8 UDP + 20 IP + 14 Ethernet bytes each.
    assert!(line.contains(&format!("{} bytes", SENT * 46)), "{line}");
}

#[test]
fn xdp_drops_one_port_and_frees_its_link() {
    let veth = Veth::new("xdp", 212);
    veth.warm_up();
    let dropped = UdpSocket::bind(format!("{}:7002", veth.host_ip)).expect("bind");
    let passed = UdpSocket::bind(format!("{}:7003", veth.host_ip)).expect("bind");
    for socket in [&dropped, &passed] {
        socket.set_nonblocking(true).unwrap();
    }
    let mut xdp = start(
        "xdp",
        &["--allow-net", &veth.host_if],
        &["-i", &veth.host_if, "-P", "7002", "--mode", "native"],
        "Dropping",
    );
    let ids = bpf_ids(xdp.pid());
    assert!(!ids.links.is_empty(), "no XDP link held: {ids:?}");
    const SENT: usize = 50;
    veth.send(7002, SENT);
    veth.send(7003, SENT);
    let line = expect_line(&mut xdp, "the drops", |l| {
        l.starts_with(&format!("dropped: {SENT} "))
    });
    let passed_count: usize = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(passed_count >= SENT, "{line}");
    let mut buf = [0u8; 16];
    assert!(dropped.recv(&mut buf).is_err(), "a dropped packet arrived");
    let mut arrived = 0;
    while passed.recv(&mut buf).is_ok() {
        arrived += 1;
    }
    assert_eq!(arrived, SENT, "packets to the other port all pass");

    xdp.signal(libc::SIGINT);
    assert!(xdp.wait_exit(WAIT).is_some(), "xdp did not stop");
    assert_freed(&ids);
}
