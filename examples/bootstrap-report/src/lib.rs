//! bootstrap-report: a typed consumer of bootstrap's events. It exports
//! the `sink` of `wasm-bpf:bootstrap`, the WIT that `wasm-bpf gen wit`
//! derived from bootstrap.bpf.o's BTF and that `bootstrap-typed` imports,
//! so it reads `event.pid` and `event.duration-ns` as fields, not by
//! name from a schema. It prints bootstrap's table:
//!
//!     EVENT COMM             PID     PPID    FILENAME/EXIT CODE
//!     EXEC  sleep            4242    4200    /usr/bin/sleep
//!     EXIT  sleep            4242    4200    [0] (201ms)
//!
//! and, at the end, the processes that ran longest.

use std::cell::RefCell;

wit_bindgen::generate!({
    path: "../bootstrap-typed/wit",
    world: "wasm-bpf:bootstrap/consumer",
});

use exports::wasm_bpf::bootstrap::sink::Guest;
use wasm_bpf::bootstrap::records::Event;

/// How many of the longest-running processes `finish` lists.
const LONGEST: usize = 5;

#[derive(Default)]
struct Totals {
    execs: u64,
    exits: u64,
    /// The exits with the longest durations, longest first.
    longest: Vec<Event>,
}

thread_local! {
    static TOTALS: RefCell<Totals> = RefCell::default();
}

fn millis(ns: u64) -> u64 {
    ns / 1_000_000
}

struct Report;

impl Guest for Report {
    fn start() -> Result<(), String> {
        println!(
            "{:<5} {:<16} {:<7} {:<7} FILENAME/EXIT CODE",
            "EVENT", "COMM", "PID", "PPID"
        );
        Ok(())
    }

    fn push_event(batch: Vec<Event>) {
        TOTALS.with_borrow_mut(|totals| {
            for e in batch {
                if e.exit_event {
                    totals.exits += 1;
                    println!(
                        "{:<5} {:<16} {:<7} {:<7} [{}] ({}ms)",
                        "EXIT",
                        e.comm,
                        e.pid,
                        e.ppid,
                        e.exit_code,
                        millis(e.duration_ns)
                    );
                    let at = totals
                        .longest
                        .partition_point(|l| l.duration_ns >= e.duration_ns);
                    if at < LONGEST {
                        totals.longest.insert(at, e);
                        totals.longest.truncate(LONGEST);
                    }
                } else {
                    totals.execs += 1;
                    println!(
                        "{:<5} {:<16} {:<7} {:<7} {}",
                        "EXEC", e.comm, e.pid, e.ppid, e.filename
                    );
                }
            }
        });
    }

    fn finish() {
        TOTALS.with_borrow(|totals| {
            println!(
                "\n{} processes started, {} exited; longest running:",
                totals.execs, totals.exits
            );
            for e in &totals.longest {
                println!("  {:<16} {:<7} {}ms", e.comm, e.pid, millis(e.duration_ns));
            }
        });
    }
}

export!(Report);
