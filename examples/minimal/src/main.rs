//! minimal: attaches a tracepoint program that calls `bpf_printk` on every
//! write(2) of the traced process; read its lines from the kernel's trace
//! pipe. libbpf-bootstrap's first example as a wasm-bpf component.
//!
//!     wasm-bpf run minimal.wasm [-p PID]
//!     cat /sys/kernel/tracing/trace_pipe

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use wasm_bpf_guest::{include_object, Object};

const USAGE: &str = "\
Usage: minimal [-p PID]

Reports each write(2) of one process to the kernel's trace pipe. By
default the process is this runtime (the dots it prints are its writes).

  -p, --pid=PID   Trace process PID instead
  -h, --help      Give this help list";

/// The PID to trace (`Some(None)`: this runtime), or `None` for `-h`.
fn parse_args() -> Result<Option<Option<i32>>, lexopt::Error> {
    use lexopt::prelude::*;
    let mut pid = None;
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next()? {
        match arg {
            Short('p') | Long("pid") => pid = Some(parser.value()?.parse()?),
            Short('h') | Long("help") => return Ok(None),
            _ => return Err(arg.unexpected()),
        }
    }
    Ok(Some(pid))
}

fn run(pid: Option<i32>) -> anyhow::Result<()> {
    let mut open = Object::open_named(include_object!("minimal"), "minimal")
        .context("failed to open BPF object")?;
    if let Some(pid) = pid {
        open.set_global("target_pid", &pid)
            .context("failed to set target_pid")?;
    }
    let obj = open.load().context("failed to load BPF object")?;
    let _links = obj.attach_all().context("failed to attach BPF programs")?;

    println!(
        "Successfully started! Please run `cat /sys/kernel/tracing/trace_pipe` \
         to see output of the BPF programs."
    );
    loop {
        // Each dot is a write(2), which the program reports.
        eprint!(".");
        std::io::stderr().flush()?;
        if !wasm_bpf_guest::sleep(Duration::from_secs(1)) {
            return Ok(());
        }
    }
}

fn main() -> ExitCode {
    wasm_bpf_guest::cli::main("minimal", USAGE, parse_args, run)
}
