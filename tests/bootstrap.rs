//! The bootstrap examples end to end, the Rust one (`bootstrap`) and the C
//! one (`bootstrap-c`) under the same assertions: real processes, traced by
//! the real kernel, printed by the guest.

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

/// The two implementations.
const GUESTS: [&str; 2] = ["bootstrap", "bootstrap-c"];

fn start(name: &str, args: &[&str]) -> Running {
    require_kernel();
    let mut running = Running::start(&[], &guest(name), args);
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
    for name in GUESTS {
        traces_a_process_start_and_exit_with(name);
    }
}

fn traces_a_process_start_and_exit_with(name: &str) {
    let mut bootstrap = start(name, &[]);
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
    for name in GUESTS {
        min_duration_hides_execs_and_short_processes_with(name);
    }
}

fn min_duration_hides_execs_and_short_processes_with(name: &str) {
    let mut bootstrap = start(name, &["-d", "1000"]);
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
    for name in GUESTS {
        sigint_stops_it_with(name);
    }
}

fn sigint_stops_it_with(name: &str) {
    let mut bootstrap = start(name, &[]);
    let ids = bpf_ids(bootstrap.pid());
    assert_eq!(ids.progs.len(), 2, "handle_exec and handle_exit: {ids:?}");
    assert_eq!(ids.links.len(), 2, "{ids:?}");
    assert!(
        ids.maps.len() >= 3,
        "{name}: exec_start, rb, .rodata: {ids:?}"
    );

    bootstrap.signal(libc::SIGINT);
    let status = bootstrap
        .wait_exit(Duration::from_secs(1))
        .expect("still running a second after SIGINT");
    // It ends its loop and returns, as natively after Ctrl-C.
    assert_eq!(status.code(), Some(0));
    assert_freed(&ids);
}

#[test]
fn help_prints_the_usage() {
    for name in GUESTS {
        let output = common::wasm_bpf()
            .args(["run"])
            .arg(guest(name))
            .arg("-h")
            .output()
            .expect("running wasm-bpf");
        assert!(output.status.success(), "{name}");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            stdout.starts_with("Usage: bootstrap [-v] [-d MIN-DURATION-MS]"),
            "{name}: {stdout}"
        );
        assert!(stdout.contains("-d, --duration=DURATION-MS"), "{stdout}");
    }
}

/// Both guests running at once print the same lines for the same
/// processes: the time of day aside, and durations within a millisecond
/// (each guest's BPF programs take their own timestamps).
#[test]
fn c_and_rust_print_the_same_lines_for_the_same_processes() {
    let mut guests = GUESTS.map(|name| start(name, &[]));
    let pids = [run_sleep("0.1"), run_sleep("0.3")];
    for pid in pids {
        for event in ["EXEC", "EXIT"] {
            let [rust, c] = guests.each_mut().map(|guest| {
                let line = guest
                    .wait_line(Duration::from_secs(5), |l| is_event(l, event, pid))
                    .unwrap_or_else(|| panic!("no {event} for {pid}: {:#?}", guest.seen));
                parse(&line).expect("a parsable line")
            });
            assert_eq!(
                (&rust.event, &rust.comm, rust.pid, rust.ppid),
                (&c.event, &c.comm, c.pid, c.ppid)
            );
            let split = |rest: &str| match rest.split_once(" (") {
                Some((head, ms)) => (head.to_string(), ms.trim_end_matches("ms)").parse().ok()),
                None => (rest.to_string(), None::<i64>),
            };
            let ((rust_head, rust_ms), (c_head, c_ms)) = (split(&rust.rest), split(&c.rest));
            assert_eq!(rust_head, c_head, "pid {pid} {event}");
            match (rust_ms, c_ms) {
                (Some(a), Some(b)) => assert!((a - b).abs() <= 1, "{a}ms vs {b}ms"),
                (a, b) => assert_eq!(a, b, "pid {pid} {event}: durations"),
            }
        }
    }
}
