//! An event storm against a guest that keeps up and one that is slow: this
//! process calls getppid(2) in a tight loop, each call offering 16 records
//! to a ring or perf buffer (tests/guests/host-api/bpf/storm.bpf.c). The
//! host's memory must stay bounded, every record must be accounted for
//! (received, or refused by the full ring buffer and counted by the BPF
//! side, or reported lost by the perf buffer), and SIGINT must still stop
//! the run at once and free everything.
//!
//! CI storms for `WASM_BPF_STORM_SECONDS` (default 3) per case; the soak
//! run (`make soak`) sets 60.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::{assert_freed, bpf_ids, guest, require_kernel, Running};

fn seconds() -> u64 {
    std::env::var("WASM_BPF_STORM_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3)
}

/// The running totals of a `tick` line.
#[derive(Debug, Default, Clone, Copy)]
struct Tick {
    offered: u64,
    received: u64,
    dropped: u64,
    lost: u64,
    perf_failed: u64,
    discarded: u64,
    leaked: u64,
}

fn parse_tick(line: &str) -> Option<Tick> {
    let mut tick = Tick::default();
    for field in line.strip_prefix("tick ")?.split_whitespace() {
        let (name, value) = field.split_once('=')?;
        let value = value.parse().ok()?;
        match name {
            "offered" => tick.offered = value,
            "received" => tick.received = value,
            "dropped" => tick.dropped = value,
            "lost" => tick.lost = value,
            "perf_failed" => tick.perf_failed = value,
            "discarded" => tick.discarded = value,
            "leaked" => tick.leaked = value,
            _ => return None,
        }
    }
    Some(tick)
}

/// Resident and peak resident memory of `pid`, in KiB.
fn rss_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// The last tick `guest` printed by now.
fn last_tick(guest: &mut Running, wait: Duration) -> Tick {
    let deadline = Instant::now() + wait;
    while Instant::now() < deadline {
        guest.wait_line(Duration::from_millis(100), |_| false);
    }
    guest
        .seen
        .iter()
        .rev()
        .find_map(|l| parse_tick(l))
        .unwrap_or_else(|| panic!("no tick line: {:#?} {}", guest.seen, guest.stderr()))
}

/// Bytes of one record in either buffer at the least: 16 bytes of data
/// and an 8-byte header (a perf sample's is 12, padded to 32 in all).
const RECORD_BYTES: u64 = 24;
/// The fixture's ring buffer (`max_entries` of storm.bpf.c).
const RING_BYTES: u64 = 1 << 20;
/// The guest's perf buffer, per CPU: 64 pages.
const PERF_BYTES_PER_CPU: u64 = 64 * 4096;

/// The most records `kind`'s buffer can hold: the load runs on one CPU
/// ([`pin_to_one_cpu`]), so a perf buffer fills only that CPU's ring.
fn capacity(kind: &str) -> u64 {
    match kind {
        "perf" => PERF_BYTES_PER_CPU / RECORD_BYTES,
        _ => RING_BYTES / RECORD_BYTES,
    }
}

/// Pins the calling thread to the first CPU it may run on, so that every
/// perf record goes to one CPU's ring, and a loss there is reported by
/// that CPU's next sample.
fn pin_to_one_cpu() {
    // SAFETY: the CPU set is a plain bitmask, zeroed, then read and
    // written by the kernel within its size.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        let size = std::mem::size_of::<libc::cpu_set_t>();
        assert_eq!(
            libc::sched_getaffinity(0, size, &mut set),
            0,
            "sched_getaffinity"
        );
        let cpu = (0..libc::CPU_SETSIZE as usize)
            .find(|&cpu| libc::CPU_ISSET(cpu, &set))
            .expect("a CPU to run on");
        libc::CPU_ZERO(&mut set);
        libc::CPU_SET(cpu, &mut set);
        assert_eq!(
            libc::sched_setaffinity(0, size, &set),
            0,
            "sched_setaffinity"
        );
    }
}

struct Report {
    offered_per_sec: f64,
    tick: Tick,
    /// What had been offered when the slow consumer started reading.
    resumed_at: Option<u64>,
    peak_rss_kib: u64,
}

/// The longest the load may take to offer a slow consumer's stall.
const STALL_LIMIT: Duration = Duration::from_secs(120);
/// How long the load goes on once the slow consumer reads again.
const AFTER_RESUMING: Duration = Duration::from_secs(1);

fn storm(kind: &str, speed: &str) -> Report {
    require_kernel();
    let tgid = std::process::id().to_string();
    // The slow consumer reads nothing until four buffers' worth were
    // offered, so it must lose records however fast the machine is.
    let stall = if speed == "slow" {
        4 * capacity(kind)
    } else {
        0
    };
    let mut guest = Running::start(
        &[],
        &guest("host-api"),
        &["storm", kind, speed, &tgid, &stall.to_string()],
    );
    let ready = guest.wait_line(Duration::from_secs(20), |l| l == "ready storm");
    assert!(ready.is_some(), "not ready: {}", guest.stderr());
    let ids = bpf_ids(guest.pid());

    let stop = Arc::new(AtomicBool::new(false));
    let calls = Arc::new(AtomicU64::new(0));
    let load = {
        let (stop, calls) = (Arc::clone(&stop), Arc::clone(&calls));
        thread::spawn(move || {
            pin_to_one_cpu();
            while !stop.load(Ordering::Relaxed) {
                for _ in 0..64 {
                    // SAFETY: getppid has no preconditions.
                    unsafe { libc::getppid() };
                }
                calls.fetch_add(64, Ordering::Relaxed);
            }
        })
    };
    let resumed = |seen: &[String]| {
        seen.iter()
            .find_map(|l| l.strip_prefix("resumed offered="))
            .map(|n| n.parse::<u64>().expect("a count"))
    };
    let started = Instant::now();
    let duration = Duration::from_secs(seconds());
    let mut samples = Vec::new();
    // A slow consumer also reads under load for a while after it resumed,
    // so that the kernel reports the perf buffer's losses.
    let mut resumed_when = None;
    while started.elapsed() < duration
        || (speed == "slow" && resumed_when.is_none_or(|t: Instant| t.elapsed() < AFTER_RESUMING))
    {
        if resumed_when.is_none() && resumed(&guest.seen).is_some() {
            resumed_when = Some(Instant::now());
        }
        assert!(
            started.elapsed() < STALL_LIMIT,
            "{kind}/{speed}: the load did not offer {stall} records in {STALL_LIMIT:?} \
             ({} getppid calls)",
            calls.load(Ordering::Relaxed)
        );
        guest.wait_line(Duration::from_millis(250), |_| false);
        samples.push(rss_kib(guest.pid()).0);
    }
    let before_stop = last_tick(&mut guest, Duration::ZERO);
    let offered_per_sec = before_stop.offered as f64 / started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    load.join().expect("load thread");

    // Let the consumer drain what is left, then read the totals.
    let tick = last_tick(&mut guest, Duration::from_millis(1500));
    let (_, peak_rss_kib) = rss_kib(guest.pid());
    guest.signal(libc::SIGINT);
    let status = guest
        .wait_exit(Duration::from_secs(1))
        .expect("still running a second after SIGINT");
    assert_eq!(status.code(), Some(0), "{}", guest.stderr());
    assert_freed(&ids);

    // Bounded memory: no growth from the first second's samples on.
    let settled = samples.iter().skip(4).copied().min().unwrap_or(0);
    let last = samples.last().copied().unwrap_or(0);
    assert!(
        last <= settled + 32 * 1024,
        "{kind}/{speed}: resident memory grew from {settled} to {last} KiB"
    );
    assert!(
        peak_rss_kib < 512 * 1024,
        "{kind}/{speed}: peak resident memory {peak_rss_kib} KiB"
    );
    eprintln!(
        "storm {kind}/{speed}: {:.2} M records/s offered for {:.1}s ({} getppid calls); \
         {tick:?}; peak RSS {} MiB",
        offered_per_sec / 1e6,
        started.elapsed().as_secs_f64(),
        calls.load(Ordering::Relaxed),
        peak_rss_kib / 1024
    );
    Report {
        offered_per_sec,
        tick,
        resumed_at: resumed(&guest.seen),
        peak_rss_kib,
    }
}

/// One test, the cases in turn: storms at once would share the load (every
/// storm guest filters on this process) and the two cores.
#[test]
fn event_storms_keep_memory_bounded_and_account_for_every_record() {
    ring_buffer_storm_every_record_received_or_counted_dropped();
    perf_buffer_storm_reports_what_it_lost();
}

/// What a consumer that read nothing until `resumed_at` records were
/// offered must have lost: all but what the buffer holds.
fn must_lose(kind: &str, r: &Report) -> u64 {
    let resumed_at = r.resumed_at.expect("the slow consumer resumed");
    assert!(
        resumed_at >= 4 * capacity(kind),
        "{kind}: resumed at {resumed_at}"
    );
    resumed_at - capacity(kind)
}

fn ring_buffer_storm_every_record_received_or_counted_dropped() {
    let fast = storm("ring", "fast");
    let slow = storm("ring", "slow");
    // No floor on the rate offered: it is the machine's, not ours. The
    // accounting below holds at any rate.
    for (speed, r) in [("fast", &fast), ("slow", &slow)] {
        assert!(
            r.offered_per_sec > 0.0 && r.tick.received > 0,
            "ring/{speed}: {:?}",
            r.tick
        );
        // Drained after the load stopped: exact accounting. A quarter of
        // what the ring took was discarded in BPF: it wrapped around the
        // ring with the rest and never reached the guest.
        assert_eq!(
            r.tick.received + r.tick.dropped + r.tick.discarded,
            r.tick.offered,
            "ring/{speed}: {:?}",
            r.tick
        );
        assert!(r.tick.discarded > 0, "ring/{speed}: {:?}", r.tick);
        assert_eq!(r.tick.leaked, 0, "ring/{speed}: discarded records arrived");
        assert!(r.peak_rss_kib > 0);
    }
    assert!(
        slow.tick.dropped >= must_lose("ring", &slow),
        "the stalled consumer's ring refused too few records: {:?}, resumed at {:?}",
        slow.tick,
        slow.resumed_at
    );
}

fn perf_buffer_storm_reports_what_it_lost() {
    let slow = storm("perf", "slow");
    let t = slow.tick;
    assert!(t.received > 0, "{t:?}");
    // Every output either reached the buffer (and, drained, the guest) or
    // failed for a full buffer, which the BPF side counts.
    assert_eq!(t.received + t.perf_failed, t.offered, "{t:?}");
    assert!(
        t.perf_failed >= must_lose("perf", &slow),
        "the stalled perf consumer lost too few records: {t:?}, resumed at {:?}",
        slow.resumed_at
    );
    // The kernel reports losses late, with the CPU's next sample: the load
    // went on after the consumer resumed, on the same CPU.
    assert!(t.lost > 0 && t.lost <= t.perf_failed, "{t:?}");
}

/// Asked to stop in the middle of a storm, a consumer gets one more batch
/// and then `stopping`, so it ends at once: a producer that never pauses
/// cannot hold it until the grace period (here an hour) runs out.
#[test]
fn asked_to_stop_mid_storm_a_consumer_ends_at_once() {
    require_kernel();
    let tgid = std::process::id().to_string();
    let mut guest = Running::start(
        &["--grace", "1h"],
        &guest("host-api"),
        // The slow consumer: it never catches up, so the ring is never
        // empty while the load runs.
        &["storm", "ring", "slow", &tgid, "0"],
    );
    let ready = guest.wait_line(Duration::from_secs(20), |l| l == "ready storm");
    assert!(ready.is_some(), "not ready: {}", guest.stderr());
    let ids = bpf_ids(guest.pid());
    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let stop = Arc::clone(&stop);
        thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                // SAFETY: getppid has no preconditions.
                unsafe { libc::getppid() };
            }
        })
    };
    // Records are flowing: the guest reports them.
    let tick = guest.wait_line(Duration::from_secs(10), |l| {
        parse_tick(l).is_some_and(|t| t.received > 0)
    });
    assert!(tick.is_some(), "no records: {}", guest.stderr());
    guest.signal(libc::SIGINT);
    let status = guest.wait_exit(Duration::from_secs(10));
    stop.store(true, Ordering::Relaxed);
    load.join().expect("load thread");
    let status = status.expect("still running 10 s after SIGINT, with an hour's grace");
    // It ended on its own, not at the end of the grace period.
    assert_eq!(status.code(), Some(0), "{}", guest.stderr());
    assert_freed(&ids);
}
