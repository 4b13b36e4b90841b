//! loader: runs any CO-RE `.bpf.o` with no user-space code of its own. It
//! loads the object, attaches every program whose section names a hook,
//! and sends each record of the object's ring or perf buffer, decoded from
//! the object's BTF, to the consumer it is composed with:
//!
//!     wasm-bpf run --dir ./objs::/objs --sink json.wasm loader.wasm /objs/tool.bpf.o
//!     wasm-bpf run --dir ./objs::/objs --sink stats.wasm --env STATS_KEY=comm \
//!         loader.wasm --type event -t 10 /objs/tool.bpf.o

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _};
use wasm_bpf_guest::probe::LayoutSink;
use wasm_bpf_guest::{LogLevel, MapType, Object};

const USAGE: &str = "\
Usage: loader [-v] [--type STRUCT] [--buffer MAP] [-t SECONDS] OBJECT

Loads and attaches the BPF object OBJECT (a path the run grants with
--dir), and sends every record of its ring or perf buffer, read as the
struct STRUCT of its BTF, to the composed consumer.

      --type=STRUCT    The records' C struct (default: event)
      --buffer=MAP     The ring buffer or perf event array to read, when
                       the object has several
  -t, --time=SECONDS   Stop after this long (default: never)
  -v, --verbose        libbpf's debug output
  -h, --help           Give this help list";

struct Args {
    object: String,
    record: String,
    buffer: Option<String>,
    time: Option<Duration>,
    verbose: bool,
}

/// The arguments, or `None` when `-h` asked for the usage text.
fn parse_args() -> Result<Option<Args>, lexopt::Error> {
    use lexopt::prelude::*;
    let (mut object, mut record, mut buffer, mut time, mut verbose) =
        (None, "event".to_string(), None, None, false);
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next()? {
        match arg {
            Long("type") => record = parser.value()?.parse()?,
            Long("buffer") => buffer = Some(parser.value()?.parse()?),
            Short('t') | Long("time") => {
                time = Some(Duration::from_secs_f64(parser.value()?.parse()?))
            }
            Short('v') | Long("verbose") => verbose = true,
            Short('h') | Long("help") => return Ok(None),
            Value(path) if object.is_none() => object = Some(path.string()?),
            _ => return Err(arg.unexpected()),
        }
    }
    let object = object.ok_or("missing OBJECT")?;
    Ok(Some(Args {
        object,
        record,
        buffer,
        time,
        verbose,
    }))
}

/// The object's one ring buffer or perf event array, or the one named.
fn buffer_map(obj: &Object, named: Option<&str>) -> anyhow::Result<String> {
    if let Some(name) = named {
        return Ok(name.to_string());
    }
    let buffers: Vec<String> = obj
        .maps()
        .into_iter()
        .filter(|m| matches!(m.map_type, MapType::Ringbuf | MapType::PerfEventArray))
        .map(|m| m.name)
        .collect();
    match buffers.as_slice() {
        [one] => Ok(one.clone()),
        [] => bail!("the object has no ring buffer or perf event array to read"),
        several => bail!(
            "the object has several buffers ({}): pick one with --buffer",
            several.join(", ")
        ),
    }
}

fn run(args: &Args) -> anyhow::Result<()> {
    wasm_bpf_guest::set_libbpf_log_level(Some(if args.verbose {
        LogLevel::Debug
    } else {
        LogLevel::Info
    }));
    let elf = std::fs::read(&args.object)
        .with_context(|| format!("reading {} (grant its directory with --dir)", args.object))?;
    let open = Object::open(&elf).context("failed to open BPF object")?;
    // The consumer learns what records come, and may refuse them, before
    // anything reaches the kernel.
    let layout = open.record_layout(&args.record).with_context(|| {
        format!(
            "reading struct {} from the object's BTF (see --type)",
            args.record
        )
    })?;
    let sink = LayoutSink::start(layout).map_err(|e| anyhow!(e))?;
    let obj = open
        .load()
        .context("failed to load BPF object (run with -v for libbpf's log)")?;
    let _links = obj.attach_all().context("failed to attach BPF programs")?;
    let mut events = obj
        .buffer(&buffer_map(&obj, args.buffer.as_deref())?)
        .context("failed to open the buffer")?;

    let end = args.time.map(|t| Instant::now() + t);
    while end.is_none_or(|end| Instant::now() < end) {
        let Some(batch) = events
            .next_batch(Some(Duration::from_millis(100)))
            .context("error polling the buffer")?
        else {
            break;
        };
        sink.send(batch.iter().map(|record| record.bytes()));
    }
    sink.finish();
    Ok(())
}

fn main() -> ExitCode {
    wasm_bpf_guest::cli::main("loader", USAGE, parse_args, |args| run(&args))
}
