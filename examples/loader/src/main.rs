//! loader: runs any CO-RE `.bpf.o` with no user-space code of its own. It
//! loads the object, attaches every program it can (naming those it
//! cannot), and sends each record of the object's ring or perf buffer,
//! decoded from the object's BTF, to the consumer it is composed with:
//!
//!     wasm-bpf run --dir ./objs::/objs --sink json.wasm loader.wasm /objs/tool.bpf.o
//!     wasm-bpf run --dir ./objs::/objs --sink stats.wasm --env STATS_KEY=comm \
//!         loader.wasm --type event -t 10 /objs/tool.bpf.o

mod markers;
mod typed;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _};
use wasm_bpf_guest::gadget::Spec;
use wasm_bpf_guest::probe::{Layout, LayoutSink};
use wasm_bpf_guest::{
    GlobalInfo, Link, LogLevel, MapType, Object, OpenObject, ProgType, UpdateFlags,
};

const USAGE: &str = "\
Usage: loader [-v] [--type STRUCT] [--buffer MAP] [-t SECONDS] [--no-load PROG]...
              [--max-entries MAP=N]... [--value-size MAP=N]... [--param NAME=VALUE]...
              [--mntns ID]... [-i SECONDS]
              OBJECT | --gadget DIR

Loads and attaches the BPF object OBJECT (a path the run grants with
--dir), and sends every record of its ring or perf buffer, read as the
struct STRUCT of its BTF, to the composed consumer. Programs that cannot
be attached are named; only none attached is an error. An object that
marks itself as Inspektor Gadget's gadgets do (gadget_tracer_*,
gadget_param_*) needs no --type or --buffer, and takes --param; one
with a map iterator (gadget_mapiter_<name>___<map>) has its hash map
drained every interval, each entry sent as its key's and value's fields;
one with an iterator (gadget_iter_<name>___<struct>___<program>...) has
its programs run once, their entries sent as a snapshot.

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
      --mntns=ID       Report only what happens in mount namespace ID
                       (repeatable), for an object with Inspektor
                       Gadget's mount namespace filter
  -i, --interval=SECONDS  How often a map iterator's map is drained and
                       its entries sent (default: 1)
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
    /// How often a map iterator's map is drained.
    interval: Duration,
    /// The mount namespaces to report, if not all.
    mntns: Vec<u64>,
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

/// `SECONDS`, a positive number.
fn seconds(text: &str) -> Result<Duration, lexopt::Error> {
    text.parse::<f64>()
        .ok()
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("{text} is not a number of seconds").into())
}

/// The arguments, or `None` when `-h` asked for the usage text.
fn parse_args() -> Result<Option<Args>, lexopt::Error> {
    use lexopt::prelude::*;
    let (mut object, mut record, mut buffer, mut time, mut verbose) =
        (None, None, None, None, false);
    let mut interval = Duration::from_secs(1);
    let mut mntns = Vec::new();
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
            Short('t') | Long("time") => time = Some(seconds(&parser.value()?.string()?)?),
            Short('i') | Long("interval") => interval = seconds(&parser.value()?.string()?)?,
            Long("mntns") => mntns.push(parser.value()?.parse()?),
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
        interval,
        mntns,
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

/// Programs in sections libbpf does not know (`socket1`,
/// `classifier/ingress`, left untyped), typed by their section's prefix as
/// Inspektor Gadget's loader (cilium/ebpf) types them; the rest stay
/// untyped, and `load` names them.
fn type_by_section(open: &OpenObject) -> anyhow::Result<()> {
    for p in open.programs() {
        if p.prog_type != ProgType::Other(0) {
            continue;
        }
        let by_prefix = [
            ("socket", ProgType::SocketFilter),
            ("classifier", ProgType::SchedCls),
            ("action", ProgType::SchedAct),
        ];
        if let Some((_, ty)) = by_prefix
            .iter()
            .find(|(prefix, _)| p.section.starts_with(prefix))
        {
            open.program(&p.name)?.set_prog_type(*ty)?;
        }
    }
    Ok(())
}

/// Sizes each map `<map>` that has a `<map>_max_entries` global (Inspektor
/// Gadget's convention, often declared with no size) from that global's
/// value: the parameter's, else its initial value.
fn size_maps(open: &OpenObject, globals: &[GlobalInfo]) -> anyhow::Result<()> {
    for map in open.maps() {
        let variable = format!("{}_max_entries", map.name);
        let Some(global) = globals.iter().find(|g| g.name == variable) else {
            continue;
        };
        let entries = match global.size {
            4 => open.global::<u32>(&variable)?,
            8 => open
                .global::<u64>(&variable)?
                .try_into()
                .with_context(|| format!("{variable} is more than a map can hold"))?,
            n => bail!("{variable} is {n} bytes; a map's size is 4 or 8"),
        };
        open.map(&map.name)?.set_max_entries(entries)?;
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

/// Where the records come from: a ring or perf buffer (the one named, or
/// the object's only one), or a map iterator's hash map.
enum Feed {
    Buffer(Option<String>),
    MapIter(markers::MapIter),
    Iter(markers::Iter),
}

/// The feed and the records' struct: the command line's, else the
/// markers' (a tracer's buffer and struct, or a map iterator), else the
/// object's one buffer and `struct event`.
fn feed(
    args: &Args,
    open: &OpenObject,
    found: &markers::Markers,
) -> anyhow::Result<(Feed, Layout, Vec<Option<String>>)> {
    let one = |kind: &str, n: usize| -> anyhow::Result<()> {
        if n > 1 {
            bail!("the object declares {n} {kind}; this loader runs objects of one");
        }
        Ok(())
    };
    one("tracers", found.tracers.len())?;
    one("map iterators", found.map_iters.len())?;
    one("iterators", found.iters.len())?;
    let maps: Vec<String> = open.maps().into_iter().map(|m| m.name).collect();
    let exists = |map: &str| -> anyhow::Result<()> {
        if !maps.iter().any(|m| m == map) {
            bail!("its marker names the map `{map}`, which the object does not have");
        }
        Ok(())
    };
    if let (Some(iter), None, None) = (found.map_iters.first(), &args.record, found.tracers.first())
    {
        exists(&iter.map)?;
        let types = open.map_types(&iter.map)?;
        let structs = types.key.zip(types.value).with_context(|| {
            format!(
                "map iterator {}: the keys and values of map `{}` must be named structs",
                iter.name, iter.map
            )
        })?;
        let layout = Layout::joined(
            &iter.name,
            open.record_layout(&structs.0)?,
            open.record_layout(&structs.1)?,
        );
        let mut typedefs = open.field_typedefs(&structs.0)?;
        typedefs.extend(open.field_typedefs(&structs.1)?);
        return Ok((Feed::MapIter(iter.clone()), layout, typedefs));
    }
    if let (Some(iter), None, None) = (found.iters.first(), &args.record, found.tracers.first()) {
        let programs: Vec<String> = open.programs().into_iter().map(|p| p.name).collect();
        if let Some(missing) = iter.programs.iter().find(|p| !programs.contains(p)) {
            bail!(
                "iterator {}: its marker names the program `{missing}`, which the object does \
                 not have",
                iter.name
            );
        }
        let layout = open.record_layout(&iter.record)?;
        let typedefs = open.field_typedefs(&iter.record)?;
        return Ok((Feed::Iter(iter.clone()), layout, typedefs));
    }
    let tracer = found.tracers.first();
    if let Some(t) = tracer {
        exists(&t.map).with_context(|| format!("tracer {}", t.name))?;
        if args.verbose {
            eprintln!(
                "loader: tracer {}: struct {} from map {}",
                t.name, t.record, t.map
            );
        }
    }
    let record = args
        .record
        .clone()
        .or_else(|| tracer.map(|t| t.record.clone()))
        .unwrap_or_else(|| "event".into());
    let layout = open
        .record_layout(&record)
        .with_context(|| format!("reading struct {record} from the object's BTF (see --type)"))?;
    let buffer = args
        .buffer
        .clone()
        .or_else(|| tracer.map(|t| t.map.clone()));
    let typedefs = open.field_typedefs(&record)?;
    Ok((Feed::Buffer(buffer), layout, typedefs))
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
    let found = markers::read(&globals)?;
    let spec = match &args.spec {
        Some(path) => Spec::read(path).map_err(|e| anyhow!(e))?,
        None => None,
    }
    .unwrap_or_default();
    markers::check_spec(&spec, &globals)?;
    if args.verbose {
        for note in markers::unused_annotations(&spec) {
            eprintln!("loader: {note}");
        }
    }
    let (feed, layout, typedefs) = feed(args, &open, &found)?;
    let mut set = Vec::new();
    for (name, value) in &args.params {
        set.push(markers::set_param(
            &mut open,
            &globals,
            &spec,
            &found.params,
            name,
            value,
        )?);
    }
    markers::set_defaults(&mut open, &globals, &spec, &set)?;
    markers::filter_mntns(&mut open, &globals, &args.mntns)?;
    if args.help {
        print!("{}", markers::describe(&spec, &found.params, &layout));
        return Ok(());
    }
    // The consumer learns what records come, and may refuse them, before
    // anything reaches the kernel.
    let size = (layout.name(), layout.size());
    let sink = LayoutSink::start_with(layout, typed::derived(&layout, &typedefs))
        .map_err(|e| anyhow!(e))?;
    for name in &args.no_load {
        open.program(name)?.set_autoload(false)?;
    }
    one_of_each_twin(&open)?;
    type_by_section(&open)?;
    size_maps(&open, &globals)?;
    for (map, n) in &args.max_entries {
        open.map(map)?.set_max_entries(*n)?;
    }
    for (map, n) in &args.value_sizes {
        open.map(map)?.set_value_size(*n)?;
    }
    let obj = open
        .load()
        .context("failed to load BPF object (run with -v for libbpf's log)")?;
    if !args.mntns.is_empty() {
        let filter = obj.map(markers::MNTNS_MAP)?;
        for id in &args.mntns {
            filter.update(id, &1u32, UpdateFlags::empty())?;
        }
    }
    let end = args.time.map(|t| Instant::now() + t);
    match feed {
        Feed::Buffer(buffer) => {
            let _links = attach_what_can_be(&obj)?;
            stream(&obj, buffer.as_deref(), &sink, end)?;
        }
        Feed::MapIter(iter) => {
            let _links = attach_what_can_be(&obj)?;
            drain(&obj, &iter.map, args.interval, &sink, end)?;
        }
        Feed::Iter(iter) => snapshot(&obj, &iter, size.1, &sink)?,
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

/// Sends every record of the buffer until `end` (or Ctrl-C).
fn stream(
    obj: &Object,
    buffer: Option<&str>,
    sink: &LayoutSink,
    end: Option<Instant>,
) -> anyhow::Result<()> {
    let mut events = obj
        .buffer(&buffer_map(obj, buffer)?)
        .context("failed to open the buffer")?;
    while end.is_none_or(|end| Instant::now() < end) {
        let Some(batch) = events
            .next_batch(Some(Duration::from_millis(100)))
            .context("error polling the buffer")?
        else {
            break;
        };
        sink.send(batch.iter().map(|record| record.bytes()));
    }
    Ok(())
}

/// Runs each of the iterator's programs once and sends what they wrote,
/// entries of `size` bytes, as one batch: a snapshot.
fn snapshot(
    obj: &Object,
    iter: &markers::Iter,
    size: usize,
    sink: &LayoutSink,
) -> anyhow::Result<()> {
    let mut output = Vec::new();
    for program in &iter.programs {
        let bytes = obj
            .read_iter(program)
            .with_context(|| format!("running iterator program {program}"))?;
        if bytes.len() % size.max(1) != 0 {
            bail!(
                "iterator program {program} wrote {} bytes, not a whole number of {size}-byte \
                 entries",
                bytes.len()
            );
        }
        output.extend(bytes);
    }
    sink.send(output.chunks_exact(size.max(1)));
    Ok(())
}

/// Every `interval`, until `end` (or Ctrl-C), reads and removes the
/// entries of the hash map `name` and sends them as one batch: each
/// record a key's bytes followed by its value's. A run that ends (its
/// time is up, or Ctrl-C) sends what the map holds then, so the last
/// interval is not lost.
fn drain(
    obj: &Object,
    name: &str,
    interval: Duration,
    sink: &LayoutSink,
    end: Option<Instant>,
) -> anyhow::Result<()> {
    let map = obj.map(name)?;
    loop {
        let next = Instant::now() + interval;
        let until = end.map_or(next, |end| end.min(next));
        let stopped = !wasm_bpf_guest::sleep(until.saturating_duration_since(Instant::now()));
        let entries = map
            .lookup_and_delete_batch_bytes()
            .with_context(|| format!("draining map {name}"))?;
        let records: Vec<Vec<u8>> = entries.into_iter().map(|(k, v)| [k, v].concat()).collect();
        sink.send(records.iter().map(Vec::as_slice));
        if stopped || until < next {
            return Ok(());
        }
    }
}

fn main() -> ExitCode {
    wasm_bpf_guest::cli::main("loader", USAGE, parse_args, |args| run(&args))
}
