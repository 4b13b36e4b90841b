//! sockfilter: a socket filter on a raw socket of one interface (loopback
//! by default) that counts IPv4 packets by protocol, printed every second.
//! After libbpf-bootstrap's sockfilter, as a wasm-bpf component; the host
//! opens the raw socket, so the component needs no socket rights.
//!
//!     wasm-bpf run sockfilter.wasm [-i IFACE] [-c COUNT]

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use wasm_bpf_guest::{include_object, AttachTarget, Object};

const USAGE: &str = "\
Usage: sockfilter [-i IFACE] [-c COUNT]

Counts the IPv4 packets arriving on an interface, by protocol, every
second.

  -i, --interface=IFACE   Interface to watch (default lo)
  -c, --count=COUNT       Stop after COUNT reports
  -h, --help              Give this help list";

struct Args {
    interface: String,
    count: Option<u64>,
}

fn parse_args() -> Result<Option<Args>, lexopt::Error> {
    use lexopt::prelude::*;
    let mut args = Args {
        interface: "lo".into(),
        count: None,
    };
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next()? {
        match arg {
            Short('i') | Long("interface") => args.interface = parser.value()?.string()?,
            Short('c') | Long("count") => args.count = Some(parser.value()?.parse()?),
            Short('h') | Long("help") => return Ok(None),
            _ => return Err(arg.unexpected()),
        }
    }
    Ok(Some(args))
}

/// The name of an IP protocol number.
fn protocol(number: u32) -> String {
    match number {
        1 => "ICMP".into(),
        6 => "TCP".into(),
        17 => "UDP".into(),
        other => format!("IP-{other}"),
    }
}

fn run(args: &Args) -> anyhow::Result<()> {
    let obj = Object::open_named(include_object!("sockfilter"), "sockfilter")
        .context("failed to open BPF object")?
        .load()
        .context("failed to load BPF object")?;
    let _link = obj
        .attach_to(
            "count_packets",
            &AttachTarget::Socket(args.interface.clone()),
        )
        .with_context(|| format!("failed to attach to {}", args.interface))?;
    let counts = obj.map("counts")?;

    println!("Counting IPv4 packets on {}...", args.interface);
    let mut reports = 0;
    while args.count.is_none_or(|c| reports < c) {
        if !wasm_bpf_guest::sleep(Duration::from_secs(1)) {
            break;
        }
        let line: Vec<String> = counts
            .lookup_batch::<u32, u64>()?
            .into_iter()
            .filter(|&(_, n)| n > 0)
            .map(|(proto, n)| format!("{}: {n}", protocol(proto)))
            .collect();
        println!("{}", line.join("  "));
        reports += 1;
    }
    Ok(())
}

fn main() -> ExitCode {
    wasm_bpf_guest::cli::main("sockfilter", USAGE, parse_args, |args| run(&args))
}
