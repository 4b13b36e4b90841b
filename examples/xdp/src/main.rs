//! xdp: drops the UDP packets to one port at an interface's XDP hook and
//! prints, every second, how many packets it dropped and let through.
//!
//!     wasm-bpf run xdp.wasm -i IFACE -P PORT [--mode generic|native] [-c COUNT]

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use wasm_bpf_guest::{include_object, AttachTarget, Object, XdpMode, XdpTarget};

const USAGE: &str = "\
Usage: xdp -i IFACE -P PORT [--mode MODE] [-c COUNT]

Drops UDP packets to PORT arriving on IFACE; prints the drop and pass
counts every second.

  -i, --interface=IFACE   Interface to attach to
  -P, --port=PORT         UDP port whose packets are dropped
      --mode=MODE         default, generic, native or offload
  -c, --count=COUNT       Stop after COUNT reports
  -h, --help              Give this help list";

struct Args {
    interface: String,
    port: u16,
    mode: XdpMode,
    count: Option<u64>,
}

fn parse_args() -> Result<Option<Args>, lexopt::Error> {
    use lexopt::prelude::*;
    let (mut interface, mut port, mut mode, mut count) = (None, None, XdpMode::Default, None);
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next()? {
        match arg {
            Short('i') | Long("interface") => interface = Some(parser.value()?.string()?),
            Short('P') | Long("port") => port = Some(parser.value()?.parse()?),
            Long("mode") => {
                mode = match parser.value()?.string()?.as_str() {
                    "default" => XdpMode::Default,
                    "generic" => XdpMode::Generic,
                    "native" => XdpMode::Native,
                    "offload" => XdpMode::Offload,
                    other => return Err(format!("unknown XDP mode {other:?}").into()),
                }
            }
            Short('c') | Long("count") => count = Some(parser.value()?.parse()?),
            Short('h') | Long("help") => return Ok(None),
            _ => return Err(arg.unexpected()),
        }
    }
    Ok(Some(Args {
        interface: interface.ok_or("missing -i IFACE")?,
        port: port.ok_or("missing -P PORT")?,
        mode,
        count,
    }))
}

fn run(args: &Args) -> anyhow::Result<()> {
    let mut open =
        Object::open_named(include_object!("xdp"), "xdp").context("failed to open BPF object")?;
    open.set_global("drop_port", &args.port)?;
    let obj = open.load().context("failed to load BPF object")?;
    let target = AttachTarget::Xdp(XdpTarget {
        interface: args.interface.clone(),
        mode: args.mode,
    });
    let _link = obj
        .attach_to("drop_udp_port", &target)
        .with_context(|| format!("failed to attach to {}", args.interface))?;
    let verdicts = obj.map("verdicts")?;

    println!(
        "Dropping UDP packets to port {} on {}...",
        args.port, args.interface
    );
    let mut reports = 0;
    while args.count.is_none_or(|c| reports < c) {
        if !wasm_bpf_guest::sleep(Duration::from_secs(1)) {
            break;
        }
        let total = |verdict: u32| -> anyhow::Result<u64> {
            let per_cpu: Vec<u64> = verdicts.lookup_per_cpu(&verdict)?.unwrap_or_default();
            Ok(per_cpu.iter().sum())
        };
        println!("dropped: {}  passed: {}", total(1)?, total(0)?);
        reports += 1;
    }
    Ok(())
}

fn main() -> ExitCode {
    wasm_bpf_guest::cli::main("xdp", USAGE, parse_args, |args| run(&args))
}
