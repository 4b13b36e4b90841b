//! The bootstrap example end to end: real processes, traced by the real
//! kernel, printed by the guest.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{assert_freed, bpf_ids, guest, require_kernel, sleep_path, Running};

const HEADER: &str = "TIME     EVENT COMM             PID     PPID    FILENAME/EXIT CODE";

/// One output line: TIME EVENT COMM PID PPID and the rest.
#[derive(Debug)]
struct Line {
    event: String,
    comm: String,
    pid: u32,
    ppid: u32,
    rest: String,
}

fn parse(line: &str) -> Option<Line> {
    let mut fields = line.split_whitespace();
    let _time = fields.next()?;
    let event = fields.next()?.to_string();
    let comm = fields.next()?.to_string();
    let pid = fields.next()?.parse().ok()?;
    let ppid = fields.next()?.parse().ok()?;
    let rest = fields.collect::<Vec<_>>().join(" ");
    Some(Line {
        event,
        comm,
        pid,
        ppid,
        rest,
    })
}

fn is_event(line: &str, event: &str, pid: u32) -> bool {
    parse(line).is_some_and(|l| l.event == event && l.pid == pid)
}

fn start(args: &[&str]) -> Running {
    require_kernel();
    let mut running = Running::start(&[], &guest("bootstrap"), args);
    let header = running.wait_line(Duration::from_secs(20), |l| l.starts_with("TIME"));
    assert_eq!(
        header.as_deref(),
        Some(HEADER),
        "stderr: {}",
        running.stderr()
    );
    running
}

/// Runs `sleep <secs>` from this process and returns its pid.
fn run_sleep(secs: &str) -> u32 {
    let mut child = Command::new(sleep_path())
        .arg(secs)
        .spawn()
        .expect("spawning sleep");
    let pid = child.id();
    assert!(child.wait().expect("waiting for sleep").success());
    pid
}

#[test]
fn traces_a_process_start_and_exit() {
    let mut bootstrap = start(&[]);
    let child = run_sleep("0.2");

    let exec = bootstrap
        .wait_line(Duration::from_secs(5), |l| is_event(l, "EXEC", child))
        .unwrap_or_else(|| panic!("no EXEC line for pid {child}; saw {:#?}", bootstrap.seen));
    let exec = parse(&exec).expect("parsed EXEC line");
    assert_eq!(exec.comm, "sleep");
    assert_eq!(exec.ppid, std::process::id(), "the parent is this test");
    assert_eq!(exec.rest, sleep_path().to_str().expect("utf-8 path"));

    let exit = bootstrap
        .wait_line(Duration::from_secs(5), |l| is_event(l, "EXIT", child))
        .unwrap_or_else(|| panic!("no EXIT line for pid {child}; saw {:#?}", bootstrap.seen));
    let exit = parse(&exit).expect("parsed EXIT line");
    assert_eq!(exit.ppid, std::process::id());
    let (code, duration) = exit.rest.split_once(' ').expect("code and duration");
    assert_eq!(code, "[0]");
    let ms: u64 = duration
        .strip_prefix('(')
        .and_then(|d| d.strip_suffix("ms)"))
        .and_then(|d| d.parse().ok())
        .unwrap_or_else(|| panic!("bad duration {duration:?}"));
    assert!((200..5000).contains(&ms), "sleep 0.2 lived {ms}ms");
}

#[test]
fn min_duration_hides_execs_and_short_processes() {
    let mut bootstrap = start(&["-d", "1000"]);
    let short = run_sleep("0.2");
    let long = run_sleep("1.1");

    let exit = bootstrap
        .wait_line(Duration::from_secs(5), |l| is_event(l, "EXIT", long))
        .unwrap_or_else(|| panic!("no EXIT line for pid {long}; saw {:#?}", bootstrap.seen));
    assert!(exit.contains("[0]"), "{exit}");
    // The ring buffer is ordered: the short sleep exited before the long
    // one, so anything it produced was printed already.
    for line in &bootstrap.seen {
        let parsed = parse(line);
        assert!(
            parsed.as_ref().is_none_or(|l| l.pid != short),
            "short sleep reported: {line}"
        );
        assert!(
            parsed.is_none_or(|l| l.event != "EXEC"),
            "EXEC with -d: {line}"
        );
    }
}

#[test]
fn sigint_stops_it_within_a_second_and_frees_everything() {
    let mut bootstrap = start(&[]);
    let ids = bpf_ids(bootstrap.pid());
    assert_eq!(ids.progs.len(), 2, "handle_exec and handle_exit: {ids:?}");
    assert_eq!(ids.links.len(), 2, "{ids:?}");
    assert!(ids.maps.len() >= 3, "exec_start, rb, .rodata: {ids:?}");

    bootstrap.signal(libc::SIGINT);
    let status = bootstrap
        .wait_exit(Duration::from_secs(1))
        .expect("still running a second after SIGINT");
    assert_eq!(status.code(), Some(130));
    assert_freed(&ids);
}

#[test]
fn help_prints_the_usage() {
    let output = common::wasm_bpf()
        .args(["run"])
        .arg(guest("bootstrap"))
        .arg("-h")
        .output()
        .expect("running wasm-bpf");
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.starts_with("Usage: bootstrap [-v] [-d MIN-DURATION-MS]"),
        "{stdout}"
    );
    assert!(stdout.contains("-d, --duration=DURATION-MS"), "{stdout}");
}
