//! loader: runs any CO-RE `.bpf.o` with no user-space code of its own. It
//! loads the object, attaches every program it can (naming those it
//! cannot), and sends each record of the object's ring or perf buffer,
//! decoded from the object's BTF, to the consumer it is composed with:
//!
//!     wasm-bpf run --dir ./objs::/objs --sink json.wasm loader.wasm /objs/tool.bpf.o
//!     wasm-bpf run --dir ./objs::/objs --sink stats.wasm --env STATS_KEY=comm \
//!         loader.wasm --type event -t 10 /objs/tool.bpf.o

mod markers;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _};
use wasm_bpf_guest::gadget::Spec;
use wasm_bpf_guest::probe::LayoutSink;
use wasm_bpf_guest::{Link, LogLevel, MapType, Object, OpenObject};

const USAGE: &str = "\
Usage: loader [-v] [--type STRUCT] [--buffer MAP] [-t SECONDS] [--no-load PROG]...
              [--max-entries MAP=N]... [--value-size MAP=N]... [--param NAME=VALUE]...
              OBJECT | --gadget DIR

Loads and attaches the BPF object OBJECT (a path the run grants with
--dir), and sends every record of its ring or perf buffer, read as the
struct STRUCT of its BTF, to the composed consumer. Programs that cannot
be attached are named; only none attached is an error. An object that
marks itself as Inspektor Gadget's gadgets do (gadget_tracer_*,
gadget_param_*) needs no --type or --buffer, and takes --param.

      --type=STRUCT    The records' C struct (default: the tracer
                       marker's, else event)
      --buffer=MAP     The ring buffer or perf event array to read, when
                       the object has several (default: the tracer
                       marker's)
      --param=NAME=VALUE  Set the parameter NAME (a global the object
                       marks with gadget_param_NAME, or its key or alias
                       in gadget.yaml, in any case) before loading
      --gadget=DIR     Run the gadget in DIR: its object program.bpf.o,
                       and its gadget.yaml if it has one (parameters'
                       names and defaults); -h then lists its parameters
                       and fields
      --no-load=PROG   Do not load the program PROG (repeatable)
      --max-entries=MAP=N  Size the map MAP for N entries before loading
      --value-size=MAP=N   Make the map MAP's values N bytes
  -t, --time=SECONDS   Stop after this long (default: never)
  -v, --verbose        libbpf's debug output
  -h, --help           Give this help list";

struct Args {
    object: String,
    /// The gadget's `gadget.yaml`, when running a gadget.
    spec: Option<String>,
    /// With a gadget: list its parameters and fields, run nothing.
    help: bool,
    record: Option<String>,
    buffer: Option<String>,
    time: Option<Duration>,
    verbose: bool,
    no_load: Vec<String>,
    max_entries: Vec<(String, u32)>,
    value_sizes: Vec<(String, u32)>,
    params: Vec<(String, String)>,
}

/// `MAP=N`.
fn map_setting(text: &str) -> Result<(String, u32), lexopt::Error> {
    let (map, n) = text
        .split_once('=')
        .ok_or_else(|| format!("{text}: expected MAP=N"))?;
    let n = n
        .parse()
        .map_err(|e| format!("{text}: {n} is not a number: {e}"))?;
    Ok((map.to_string(), n))
}

/// The arguments, or `None` when `-h` asked for the usage text.
fn parse_args() -> Result<Option<Args>, lexopt::Error> {
    use lexopt::prelude::*;
    let (mut object, mut record, mut buffer, mut time, mut verbose) =
        (None, None, None, None, false);
    let (mut no_load, mut max_entries, mut value_sizes) = (Vec::new(), Vec::new(), Vec::new());
    let (mut params, mut gadget, mut help) = (Vec::new(), None, false);
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next()? {
        match arg {
            Long("type") => record = Some(parser.value()?.parse()?),
            Long("param") => {
                let text = parser.value()?.string()?;
                let (name, value) = text
                    .split_once('=')
                    .ok_or_else(|| format!("{text}: expected NAME=VALUE"))?;
                params.push((name.to_string(), value.to_string()));
            }
            Long("buffer") => buffer = Some(parser.value()?.parse()?),
            Short('t') | Long("time") => {
                time = Some(Duration::from_secs_f64(parser.value()?.parse()?))
            }
            Short('v') | Long("verbose") => verbose = true,
            Long("no-load") => no_load.push(parser.value()?.string()?),
            Long("max-entries") => max_entries.push(map_setting(&parser.value()?.string()?)?),
            Long("value-size") => value_sizes.push(map_setting(&parser.value()?.string()?)?),
            Long("gadget") => gadget = Some(parser.value()?.string()?),
            Short('h') | Long("help") => help = true,
            Value(path) if object.is_none() => object = Some(path.string()?),
            _ => return Err(arg.unexpected()),
        }
    }
    let (object, spec) = match (object, gadget) {
        (_, None) if help => return Ok(None),
        (Some(object), None) => (object, None),
        (None, Some(dir)) => (
            format!("{dir}/program.bpf.o"),
            Some(format!("{dir}/gadget.yaml")),
        ),
        (Some(_), Some(_)) => return Err("give OBJECT or --gadget, not both".into()),
        (None, None) => return Err("missing OBJECT".into()),
    };
    Ok(Some(Args {
        object,
        spec,
        help,
        record,
        buffer,
        time,
        verbose,
        no_load,
        max_entries,
        value_sizes,
        params,
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

/// Of a program written twice, for `tp_btf` and for `raw_tp` on one
/// tracepoint (libbpf-tools pick one by what the kernel supports), loads
/// only the `tp_btf` one, which this kernel (with BTF) runs.
fn one_of_each_twin(open: &OpenObject) -> anyhow::Result<()> {
    let programs = open.programs();
    let btf_hooks: Vec<&str> = programs
        .iter()
        .filter(|p| p.autoload)
        .filter_map(|p| p.section.strip_prefix("tp_btf/"))
        .collect();
    for p in &programs {
        let raw = p
            .section
            .strip_prefix("raw_tp/")
            .or_else(|| p.section.strip_prefix("raw_tracepoint/"));
        if raw.is_some_and(|hook| btf_hooks.contains(&hook)) && p.autoload {
            open.program(&p.name)?.set_autoload(false)?;
        }
    }
    Ok(())
}

/// Attaches every loaded program it can, as `ig` does: each one that
/// cannot be (its section names no hook, its target is missing, the
/// policy refuses it) is named, and only none attached at all is an error.
fn attach_what_can_be(obj: &Object) -> anyhow::Result<Vec<Link>> {
    let mut links = Vec::new();
    for p in obj.programs().into_iter().filter(|p| p.autoload) {
        match obj.attach(&p.name) {
            Ok(link) => links.push(link),
            Err(e) => eprintln!("loader: {} ({}) not attached: {e}", p.name, p.section),
        }
    }
    if links.is_empty() {
        bail!("no program of the object attached");
    }
    Ok(links)
}

fn run(args: &Args) -> anyhow::Result<()> {
    wasm_bpf_guest::set_libbpf_log_level(Some(if args.verbose {
        LogLevel::Debug
    } else {
        LogLevel::Info
    }));
    let elf = std::fs::read(&args.object)
        .with_context(|| format!("reading {} (grant its directory with --dir)", args.object))?;
    let mut open = Object::open(&elf).context("failed to open BPF object")?;
    let globals = open.globals().context("reading the object's globals")?;
    let (tracers, params) = markers::read(&globals)?;
    let spec = match &args.spec {
        Some(path) => Spec::read(path).map_err(|e| anyhow!(e))?,
        None => None,
    }
    .unwrap_or_default();
    markers::check_spec(&spec, &globals)?;
    let tracer = match tracers.as_slice() {
        [] => None,
        [one] => Some(one),
        several => bail!(
            "the object declares {} tracers; this loader runs objects of one",
            several.len()
        ),
    };
    if let (Some(t), true) = (tracer, args.verbose) {
        eprintln!(
            "loader: tracer {}: struct {} from map {}",
            t.name, t.record, t.map
        );
    }
    let record = args
        .record
        .clone()
        .or_else(|| tracer.map(|t| t.record.clone()))
        .unwrap_or_else(|| "event".into());
    let buffer = args
        .buffer
        .clone()
        .or_else(|| tracer.map(|t| t.map.clone()));
    let mut set = Vec::new();
    for (name, value) in &args.params {
        set.push(markers::set_param(
            &mut open, &globals, &spec, &params, name, value,
        )?);
    }
    markers::set_defaults(&mut open, &globals, &spec, &set)?;
    // The consumer learns what records come, and may refuse them, before
    // anything reaches the kernel.
    let layout = open
        .record_layout(&record)
        .with_context(|| format!("reading struct {record} from the object's BTF (see --type)"))?;
    if args.help {
        print!("{}", markers::describe(&spec, &params, &layout));
        return Ok(());
    }
    let size = (layout.name(), layout.size());
    let sink = LayoutSink::start(layout).map_err(|e| anyhow!(e))?;
    for name in &args.no_load {
        open.program(name)?.set_autoload(false)?;
    }
    one_of_each_twin(&open)?;
    for (map, n) in &args.max_entries {
        open.map(map)?.set_max_entries(*n)?;
    }
    for (map, n) in &args.value_sizes {
        open.map(map)?.set_value_size(*n)?;
    }
    let obj = open
        .load()
        .context("failed to load BPF object (run with -v for libbpf's log)")?;
    let _links = attach_what_can_be(&obj)?;
    let mut events = obj
        .buffer(&buffer_map(&obj, buffer.as_deref())?)
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
    if sink.short() > 0 {
        eprintln!(
            "loader: {} records were shorter than struct {} ({} bytes); the fields past \
             their end read as zero or empty",
            sink.short(),
            size.0,
            size.1
        );
    }
    sink.finish();
    Ok(())
}

fn main() -> ExitCode {
    wasm_bpf_guest::cli::main("loader", USAGE, parse_args, |args| run(&args))
}
