//! Test guest: drives the BPF host calls of one scenario (the first
//! argument) and prints one line per call, `case <name> => <outcome>`, for
//! `tests/host_api.rs` to check. Errors are printed and the scenario goes
//! on: a bad call must leave the host and the guest working.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::hash::{BuildHasher as _, Hasher as _, RandomState};
use std::io::Write as _;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use wasm_bpf_guest::bindings::object::BpfObject;
use wasm_bpf_guest::{
    c_str, include_object, AttachTarget, AttachType, Binary, Buffer, KprobeTarget, MapType, Object,
    OpenObject, ProgType, Result, TracepointTarget, UpdateFlags, UprobeTarget, XdpMode, XdpTarget,
};

wasm_bpf_guest::include_types!("api");

/// The records `wasm-bpf gen wit` made of api.bpf.o's types, which the
/// generated types convert into.
mod wit {
    wit_bindgen::generate!({
        inline: "package wasm-bpf-test:host-api;
                 world records { import wasm-bpf-test:api/records; }",
        path: "wit/api.wit",
        generate_all,
        // The interface has types only; no function uses them.
        generate_unused_types: true,
    });
}

mod kinds {
    wasm_bpf_guest::include_types!("kinds");
}

mod described {
    wasm_bpf_guest::include_types!("described");
}

fn report<T: Debug>(name: &str, result: Result<T>) {
    match result {
        Ok(value) => println!("case {name} => ok {value:?}"),
        Err(e) => println!(
            "case {name} => err {:?} errno={} {:?}",
            e.code, e.errno, e.message
        ),
    }
}

/// This run's marker token: random, so concurrent runs ignore each other.
fn token() -> u64 {
    static TOKEN: OnceLock<u64> = OnceLock::new();
    *TOKEN.get_or_init(|| RandomState::new().build_hasher().finish())
}

/// The fixture object, named `name`, reporting this run's writes of
/// `marker_len` bytes.
fn open_api(name: &str, marker_len: u64) -> Result<OpenObject> {
    let mut open = Object::open_named(include_object!("api"), name)?;
    open.set_global("marker_len", &marker_len)?;
    open.set_global("marker_token", &token())?;
    Ok(open)
}

/// One write(2) of exactly `len` bytes, starting with the token, which the
/// fixture's tracepoint program reports.
fn marker(len: usize) {
    let mut line = vec![b' '; len];
    line[..8].copy_from_slice(&token().to_ne_bytes());
    line[len - 1] = b'\n';
    std::io::stderr()
        .write_all(&line)
        .expect("writing a marker");
}

/// Polls `buffer` (at most `max` records at a time) until `want` markers
/// arrived or three seconds passed.
fn collect(buffer: &mut Buffer, want: usize, max: u32) -> Result<Vec<Marker>> {
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut got = Vec::new();
    while got.len() < want && Instant::now() < deadline {
        let batch = buffer.poll_max(Some(Duration::from_millis(100)), max)?;
        assert!(
            max == 0 || batch.len() <= max as usize,
            "batch over its cap"
        );
        for record in &batch {
            got.push(*record.decode::<Marker>()?);
        }
    }
    Ok(got)
}

fn maps() -> Result<()> {
    let obj = open_api("maps", 0)?.load()?;
    let counts = obj.map("counts")?;
    report("info", Ok(counts.info()));
    report(
        "update-1",
        counts.update(&1u32, &10u64, UpdateFlags::empty()),
    );
    report(
        "update-2",
        counts.update(&2u32, &20u64, UpdateFlags::empty()),
    );
    report("lookup-1", counts.lookup::<u32, u64>(&1));
    report(
        "noexist-1",
        counts.update(&1u32, &11u64, UpdateFlags::NO_EXIST),
    );
    report("exist-3", counts.update(&3u32, &30u64, UpdateFlags::EXIST));
    report("exist-1", counts.update(&1u32, &12u64, UpdateFlags::EXIST));
    report("lookup-1-again", counts.lookup::<u32, u64>(&1));
    report("delete-2", counts.delete(&2u32));
    report("lookup-2", counts.lookup::<u32, u64>(&2));
    report("delete-2-again", counts.delete(&2u32));
    report("next-first", counts.next_key::<u32>(None));
    report("next-last", counts.next_key(Some(&1u32)));
    report("keys", counts.keys::<u32>());

    let keys: Vec<u32> = (100..110).collect();
    let values: Vec<u64> = keys.iter().map(|&k| u64::from(k) * 2).collect();
    report(
        "update-batch",
        counts.update_batch(&keys, &values, UpdateFlags::empty()),
    );
    let sorted = |mut entries: Vec<(u32, u64)>| {
        entries.sort_unstable();
        entries
    };
    report("lookup-batch", counts.lookup_batch().map(sorted));
    report("delete-batch", counts.delete_batch(&keys[..8]));
    report("lookup-batch-after", counts.lookup_batch().map(sorted));
    report(
        "update-batch-packing",
        counts
            .as_raw()
            .update_batch(2, &[0; 12], &[0; 16], UpdateFlags::empty())
            .map_err(Into::into),
    );
    let big = obj.map("big")?;
    let keys: Vec<u32> = (0..15_000).collect();
    report(
        "big-update-batch",
        big.update_batch(&keys, &keys, UpdateFlags::empty()),
    );
    report(
        "big-lookup-batch",
        big.lookup_batch::<u32, u32>().map(|entries| {
            let all_match = entries.iter().all(|(k, v)| k == v);
            (entries.len(), all_match)
        }),
    );
    let many: Vec<u32> = (200..220).collect();
    report(
        "update-batch-full",
        counts.update_batch(&many, &vec![0u64; many.len()], UpdateFlags::empty()),
    );
    Ok(())
}

/// `elf` with every occurrence of the string `from` replaced by `to`, of
/// the same length.
fn rename(elf: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = elf.to_vec();
    let mut at = 0;
    while let Some(i) = out[at..].windows(from.len()).position(|w| w == from) {
        out[at + i..at + i + to.len()].copy_from_slice(to);
        at += i + to.len();
    }
    out
}

fn errors() -> Result<()> {
    report(
        "garbage-elf",
        Object::open(b"\x7fELF but not really").map(|_| ()),
    );
    report("empty-elf", Object::open(b"").map(|_| ()));
    // Found by fuzzing: libbpf itself would spin forever on this object.
    let looping = include_bytes!(
        "../../../../guest-sdk-rust/build/tests/fuzz-regressions/typedef-loop-hangs-libbpf.bpf.o"
    );
    report("looping-btf", Object::open(looping).map(|_| ()));
    // Found by fuzzing: a `.kconfig` extern of a 4 GiB type made libbpf
    // hand back an error code as an object, which crashed the host.
    let oversized = include_bytes!(
        "../../../../guest-sdk-rust/build/tests/fuzz-regressions/kcfg-extern-size-overflow-crashes-libbpf.bpf.o"
    );
    report("oversized-btf", Object::open(oversized).map(|_| ()));
    // Found by fuzzing: libbpf prints section names, and a name that is
    // not UTF-8 made libbpf-rs's print callback abort the host.
    report(
        "non-utf8-section",
        Object::open(&rename(
            include_object!("api"),
            b"license\0",
            b"lic\xffnse\0",
        ))
        .map(|obj| obj.as_raw().name()),
    );
    let mut open = open_api("errors", 0)?;
    report("set-global-size", open.set_global("marker_len", &1u32));
    report("set-global-unknown", open.set_global("nope", &1u64));
    report("unknown-map", open.map("nope").map(|_| ()));
    report("unknown-program", open.set_autoload("nope", false));
    report(
        "attach-before-load",
        open.as_raw()
            .find_program("on_write")
            .map_err(Into::into)
            .and_then(|p| p.attach().map_err(Into::into))
            .map(|_| ()),
    );
    report(
        "lookup-before-load",
        open.map("counts")?.lookup::<u32, u64>(&1),
    );
    report(
        "info-before-load",
        Ok(open.map("counts")?.info().max_entries),
    );
    let obj = open.load()?;
    report("phase", Ok(obj.as_raw().phase()));
    report("load-twice", obj.as_raw().load().map_err(Into::into));
    report(
        "set-global-after-load",
        obj.as_raw()
            .set_global("marker_len", &[0; 8])
            .map_err(Into::into),
    );
    let counts = obj.map("counts")?;
    report("key-size", counts.lookup_bytes(&[1, 2, 3]));
    report(
        "value-size",
        counts.update_bytes(&1u32.to_ne_bytes(), &[1, 2, 3], UpdateFlags::empty()),
    );
    report("buffer-on-hash", obj.buffer("counts").map(|_| ()));
    report("attach-xdp", obj.attach("pass").map(|_| ()));
    report("attach-all", obj.attach_all().map(|links| links.len()));
    report(
        "still-working",
        counts.update(&5u32, &50u64, UpdateFlags::empty()),
    );
    report("value-type", counts.lookup::<u32, u32>(&5).map(|_| ()));
    // Typed calls go through the `*-small` calls: the same checks.
    report("small-key-size", counts.lookup::<[u8; 3], u64>(&[1, 2, 3]));
    let over = wasm_bpf_guest::bindings::bpf_map::SmallBytes {
        len: 33,
        w0: 5,
        w1: 0,
        w2: 0,
        w3: 0,
    };
    report(
        "small-over-32",
        counts.as_raw().delete_small(over).map_err(Into::into),
    );
    Ok(())
}

fn verifier() -> Result<()> {
    let object = BpfObject::open(include_object!("rejected"), Some("rejected"))?;
    report("load", object.load().map_err(Into::into));
    report("phase", Ok(object.phase()));
    report("load-again", object.load().map_err(Into::into));
    report("maps-after-failure", Ok(object.maps().len()));
    Ok(())
}

/// The sections and sizes of the globals `names` among `globals`.
fn sized(globals: &[wasm_bpf_guest::GlobalInfo], names: &[&str]) -> Vec<(String, String, u32)> {
    names
        .iter()
        .filter_map(|n| globals.iter().find(|g| g.name == *n))
        .map(|g| (g.name.clone(), g.section.clone(), g.size))
        .collect()
}

fn globals() -> Result<()> {
    let mut open = open_api("globals", 0)?;
    report("initial", open.global::<u64>("marker_len"));
    open.set_global("marker_len", &777u64)?;
    report("set", open.global::<u64>("marker_len"));
    report(
        "listed-open",
        open.globals().map(|g| sized(&g, &["marker_len", "seen"])),
    );
    report(
        "map-types",
        open.map_types("counts").map(|t| (t.key, t.value)),
    );
    report("map-types-missing", open.map_types("nope").map(|_| ()));
    report("field-typedefs", open.field_typedefs("layout_probe"));
    let p: LayoutProbe = open.global("probe")?;
    report("probe-tag", Ok(c_str(&p.tag).into_owned()));
    report("probe-inner", Ok((p.r#in.a, p.r#in.b)));
    report("probe-pair", Ok((p.pair[1].a, p.pair[1].b)));
    report("probe-union", Ok((p.u.word(), p.u.bytes())));
    report("probe-bits", Ok((p.lo(), p.neg(), p.hi())));
    report("probe-color", Ok((p.color == Color::BLUE, Color::GREEN.0)));
    report("probe-flag", Ok(p.flag));
    let record = wit::wasm_bpf_test::api::records::LayoutProbe::try_from(&p);
    report("probe-record", Ok(record));
    let mut unnamed = p;
    unnamed.color = Color(42);
    let record = wit::wasm_bpf_test::api::records::LayoutProbe::try_from(&unnamed);
    report(
        "probe-record-unnamed",
        Ok(record.map_err(|e| e.to_string())),
    );
    let obj = open.load()?;
    report("after-load", obj.global::<u64>("marker_len"));
    report(
        "listed-loaded",
        obj.globals().map(|g| sized(&g, &["marker_len", "seen"])),
    );
    report("seen-before", obj.global::<u64>("seen"));
    let _links = obj.attach_all()?;
    marker(777);
    marker(777);
    report("seen-after", obj.global::<u64>("seen"));
    Ok(())
}

fn events() -> Result<()> {
    let a = open_api("evta", 333)?.load()?;
    let b = open_api("evtb", 444)?.load()?;
    let _links_a = a.attach_all()?;
    let _links_b = b.attach_all()?;
    let mut ring_a = a.buffer("ring")?;
    let mut perf_a = a.buffer("perf")?;
    let mut ring_b = b.buffer("ring")?;
    report("kinds", Ok((ring_a.kind(), perf_a.kind())));
    for _ in 0..5 {
        marker(333);
    }
    for _ in 0..3 {
        marker(444);
    }
    let got_ring_a = collect(&mut ring_a, 5, 2)?;
    // Capped too: a perf buffer reads a CPU whole, and keeps what is over
    // the cap for the next polls, which find it without a new sample.
    let got_perf_a = collect(&mut perf_a, 5, 2)?;
    let got_ring_b = collect(&mut ring_b, 3, 0)?;
    let seqs = |m: &[Marker]| m.iter().map(|m| (m.seq, m.len)).collect::<Vec<_>>();
    report("ring-a", Ok(seqs(&got_ring_a)));
    report("perf-a", Ok(seqs(&got_perf_a)));
    report("ring-b", Ok(seqs(&got_ring_b)));
    let pids: BTreeSet<u32> = got_ring_a
        .iter()
        .chain(&got_ring_b)
        .map(|m| m.pid)
        .collect();
    report("pids", Ok(pids.len()));
    report(
        "empty-poll",
        ring_a.poll(Some(Duration::ZERO)).map(|b| b.len()),
    );
    // A poll that does not wait (as a tool that sleeps on its own polls)
    // reads what is there, also after the polls above read every CPU.
    marker(333);
    marker(333);
    let polled = perf_a.poll(Some(Duration::ZERO)).map(|batch| {
        (&batch)
            .into_iter()
            .map(|r| r.decode::<Marker>().map_or(0, |m| m.len))
            .collect::<Vec<_>>()
    });
    report("perf-no-wait", polled);
    Ok(())
}

/// Waiting on two buffers and a timer at once with `wasi:io/poll`.
fn pollables() -> Result<()> {
    let obj = open_api("pollables", 321)?.load()?;
    let _links = obj.attach_all()?;
    let mut ring = obj.buffer("ring")?;
    let mut perf = obj.buffer("perf")?;
    let (ring_ready, perf_ready) = (ring.subscribe(), perf.subscribe());

    let idle = wasm_bpf_guest::timer(Duration::from_millis(200));
    let started = Instant::now();
    let ready = wasm_bpf_guest::wait_any(&[&ring_ready, &perf_ready, &idle]);
    report(
        "idle-timer-only",
        Ok((ready, started.elapsed() >= Duration::from_millis(190))),
    );

    marker(321);
    let timer = wasm_bpf_guest::timer(Duration::from_secs(5));
    let started = Instant::now();
    let mut seen = BTreeSet::new();
    let done = |seen: &BTreeSet<usize>| seen.contains(&2) || seen.is_superset(&[0, 1].into());
    while !done(&seen) {
        let ready = wasm_bpf_guest::wait_any(&[&ring_ready, &perf_ready, &timer]);
        if ready.contains(&0) {
            report(
                "ring-batch",
                ring.poll(Some(Duration::ZERO)).map(|b| b.len()),
            );
        }
        if ready.contains(&1) {
            report(
                "perf-batch",
                perf.poll(Some(Duration::ZERO)).map(|b| b.len()),
            );
        }
        seen.extend(ready);
    }
    report("both-ready-before-timer", Ok(seen));
    report("fast", Ok(started.elapsed() < Duration::from_secs(1)));
    Ok(())
}

fn lost() -> Result<()> {
    let obj = open_api("lost", 555)?.load()?;
    let _links = obj.attach_all()?;
    let mut perf = Buffer::open_with(&obj.map("perf")?, Some(1))?;
    // Far more than one page per CPU holds, with nobody consuming.
    let mut sent = 2000u64;
    for _ in 0..sent {
        marker(555);
    }
    // The kernel reports a CPU's lost samples with the next sample written
    // to that CPU's buffer: when nothing more arrives, write another
    // marker, until everything sent is received or reported lost (or, if
    // the thread never returns to the CPU that overflowed, time is up).
    let (mut received, mut lost) = (0u64, 0u64);
    let deadline = Instant::now() + Duration::from_secs(5);
    while received + lost < sent && Instant::now() < deadline {
        let batch = perf.poll(Some(Duration::from_millis(50)))?;
        received += batch.len() as u64;
        lost += batch.lost();
        if batch.is_empty() && batch.lost() == 0 {
            marker(555);
            sent += 1;
        }
    }
    report("counts", Ok((sent, received, lost)));
    report(
        "accounted",
        Ok((received + lost <= sent, lost > 0, received > 0)),
    );
    Ok(())
}

/// `pin VALUE`: loads an object whose map is pinned by name, reports the
/// value under key 1 (left by an earlier run, if the pin was reused), then
/// stores VALUE there.
fn pin(value: &str) -> Result<()> {
    let value: u64 = value.parse().expect("a number");
    let loaded = Object::open_named(include_object!("pinned"), "pinned")?.load();
    report("load", loaded.as_ref().map(|_| ()).map_err(Clone::clone));
    let Ok(obj) = loaded else { return Ok(()) };
    let map = obj.typed_map::<u32, u64>("wasm_bpf_pin_test")?;
    report("before", map.lookup(&1));
    report("store", map.update(&1, &value, UpdateFlags::empty()));
    Ok(())
}

/// `storm ring|perf fast|slow TGID`: consumes the records the storm
/// fixture offers for every getppid(2) of process TGID, printing running
/// totals every 250 ms (`tick offered=… received=… dropped=… lost=…`;
/// `discarded` ring records, and `leaked`: discarded ones that arrived)
/// until the host stops it. The slow consumer takes at most 256 records
/// per millisecond.
/// Consumes a storm of records as fast as it can, or (`slow`) not at all
/// until `stall` records were offered, then slowly: the slow consumer
/// falls behind by construction, whatever the machine's speed.
fn storm(kind: &str, speed: &str, tgid: &str, stall: &str) -> Result<()> {
    let tgid: u32 = tgid.parse().expect("a process id");
    let stall: u64 = stall.parse().expect("a record count");
    let mut open = Object::open_named(include_object!("storm"), "storm")?;
    open.set_global("targ_tgid", &tgid)?;
    open.set_global("use_perf", &u8::from(kind == "perf"))?;
    let obj = open.load()?;
    let _links = obj.attach_all()?;
    let mut buffer = match kind {
        "perf" => Buffer::open_with(&obj.map("perf")?, Some(64))?,
        _ => obj.buffer("ring")?,
    };
    let slow = speed == "slow";
    let (mut received, mut lost, mut leaked) = (0u64, 0u64, 0u64);
    let mut next_tick = Instant::now();
    println!("ready storm");
    if slow {
        loop {
            let offered: u64 = obj.global("offered")?;
            if offered >= stall {
                println!("resumed offered={offered}");
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    loop {
        let polled = if slow {
            let batch = buffer.poll_max(Some(Duration::from_millis(50)), 256);
            std::thread::sleep(Duration::from_millis(1));
            batch
        } else {
            buffer.poll(Some(Duration::from_millis(50)))
        };
        // Asked to stop: the run ends as a tool's does at Ctrl-C.
        let batch = match polled {
            Err(e) if e.is_stopping() => return Ok(()),
            polled => polled?,
        };
        received += batch.len() as u64;
        lost += batch.lost();
        if kind == "ring" {
            for record in &batch {
                leaked += u64::from(record.read::<u64>()? % 4 == 3);
            }
        }
        if Instant::now() >= next_tick {
            next_tick += Duration::from_millis(250);
            let offered: u64 = obj.global("offered")?;
            let dropped: u64 = obj.global("dropped")?;
            let failed: u64 = obj.global("perf_failed")?;
            let discarded: u64 = obj.global("discarded")?;
            println!(
                "tick offered={offered} received={received} dropped={dropped} \
                 lost={lost} perf_failed={failed} discarded={discarded} leaked={leaked}"
            );
        }
    }
}

/// Loads and attaches an object named `name`, says so, then ends the way
/// `how` says; the host must free the object and its links either way.
fn end(how: &str, name: &str) -> Result<()> {
    let obj = open_api(name, 999)?.load()?;
    let _links = obj.attach_all()?;
    let mut buffer = obj.buffer("ring")?;
    println!("ready {name}");
    // Time for the test to note what the host holds before the end.
    std::thread::sleep(Duration::from_millis(300));
    match how {
        "exit" => wasm_bpf_guest::exit(3),
        "trap" => panic!("trapping on purpose"),
        "oob" => {
            // An out-of-bounds access of linear memory, which no safe code
            // can make: a raw trap, not a panic.
            let far = usize::MAX - 64;
            // SAFETY: none; the host must survive this.
            let byte = unsafe { std::ptr::read_volatile(far as *const u8) };
            println!("read {byte}");
            Ok(())
        }
        "hog" => {
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                hoard.push(vec![1u8; 1 << 20]);
            }
        }
        "wait" => loop {
            std::thread::sleep(Duration::from_secs(1));
        },
        // Computes for ever without calling the host: only a forced stop
        // ends it.
        "spin" => {
            let mut n = 0u64;
            loop {
                n = std::hint::black_box(n.wrapping_add(1));
            }
        }
        // Calls the host as fast as it can until asked to stop.
        "flood" => {
            let mut calls = 0u64;
            while !wasm_bpf_guest::is_stopping() {
                match buffer.poll_max(Some(Duration::ZERO), 16) {
                    Err(e) if e.is_stopping() => break,
                    polled => drop(polled?),
                }
                calls += 1;
            }
            eprintln!("flooded {name} with {calls} calls");
            Ok(())
        }
        // Polls until the host asks it to stop, then has its last word.
        "graceful" => {
            while buffer.next_batch(None)?.is_some() {}
            eprintln!("stopped {name}");
            Ok(())
        }
        // Sees the request and carries on: the host must force the stop.
        "linger" => {
            wasm_bpf_guest::wait_any(&[&wasm_bpf_guest::stopping()]);
            println!("lingering {name}");
            loop {
                std::thread::sleep(Duration::from_secs(1));
            }
        }
        _ => Ok(()),
    }
}

/// The map kinds with calls of their own: per-CPU, queue, stack, bloom
/// filter, LPM trie, map of maps, lookup-and-delete.
fn map_kinds() -> Result<()> {
    let obj = kinds_without_cgroup("kinds")?.load()?;
    let per_cpu = obj.map("per_cpu")?;
    let slots = per_cpu.info().per_cpu_slots;
    report("per-cpu-slots-positive", Ok(slots > 0));
    let values: Vec<u64> = (0..u64::from(slots)).map(|cpu| cpu * 10 + 1).collect();
    report(
        "per-cpu-update",
        per_cpu.update_per_cpu(&0u32, &values, UpdateFlags::empty()),
    );
    report(
        "per-cpu-round-trip",
        per_cpu
            .lookup_per_cpu::<u32, u64>(&0)
            .map(|got| got == Some(values.clone())),
    );
    report(
        "per-cpu-wrong-length",
        per_cpu.update(&0u32, &1u64, UpdateFlags::empty()),
    );
    let per_cpu_hash = obj.map("per_cpu_hash")?;
    let small: Vec<u32> = (0..slots).collect();
    report(
        "per-cpu-hash-update",
        per_cpu_hash.update_per_cpu(&7u32, &small, UpdateFlags::empty()),
    );
    report(
        "per-cpu-hash-batch",
        per_cpu_hash
            .as_raw()
            .lookup_batch()
            .map(|e| (e.count, e.values.len() == 8 * slots as usize))
            .map_err(Into::into),
    );

    let queue = obj.map("queue")?;
    for v in [1u32, 2, 3] {
        report(
            &format!("queue-push-{v}"),
            queue.push(&v, UpdateFlags::empty()),
        );
    }
    report("queue-full", queue.push(&4u32, UpdateFlags::empty()));
    report(
        "queue-push-overwrite",
        queue.push(&4u32, UpdateFlags::EXIST),
    );
    report("queue-peek", queue.peek::<u32>());
    let drained: Result<Vec<Option<u32>>> = (0..4).map(|_| queue.pop()).collect();
    report("queue-pops", drained);
    let stack = obj.map("stack")?;
    for v in [1u32, 2, 3] {
        stack.push(&v, UpdateFlags::empty())?;
    }
    let drained: Result<Vec<Option<u32>>> = (0..4).map(|_| stack.pop()).collect();
    report("stack-pops", drained);
    report("queue-pop-on-hash", obj.map("table")?.pop::<u32>());

    let bloom = obj.map("bloom")?;
    report("bloom-push", bloom.push(&42u64, UpdateFlags::empty()));
    report("bloom-has-42", bloom.contains(&42u64));
    report("bloom-has-7", bloom.contains(&7u64));
    report("bloom-lookup", bloom.lookup::<u32, u64>(&0));

    let routes = obj.map("routes")?;
    let net = |prefixlen: u32, addr: [u8; 4]| kinds::LpmV4 { prefixlen, addr };
    routes.update(&net(8, [10, 0, 0, 0]), &1u32, UpdateFlags::empty())?;
    routes.update(&net(16, [10, 1, 0, 0]), &2u32, UpdateFlags::empty())?;
    report(
        "lpm-10.1.2.3",
        routes.lookup::<_, u32>(&net(32, [10, 1, 2, 3])),
    );
    report(
        "lpm-10.2.0.1",
        routes.lookup::<_, u32>(&net(32, [10, 2, 0, 1])),
    );
    report(
        "lpm-11.0.0.1",
        routes.lookup::<_, u32>(&net(32, [11, 0, 0, 1])),
    );

    let outer = obj.map("outer")?;
    let inner = outer.inner_map(&0u32)?.expect("slot 0 holds `inner`");
    report(
        "inner-info",
        Ok((inner.info().name, inner.info().max_entries)),
    );
    report(
        "inner-update",
        inner.update(&3u32, &33u32, UpdateFlags::empty()),
    );
    report(
        "inner-seen-by-name",
        obj.map("inner")?.lookup::<u32, u32>(&3),
    );
    report(
        "inner-empty-slot",
        outer.inner_map(&1u32).map(|m| m.is_some()),
    );
    report(
        "inner-of-hash",
        obj.map("table")?.inner_map(&0u32).map(|m| m.is_some()),
    );

    let table = obj.map("table")?;
    table.update_batch(
        &[1u32, 2, 3, 4, 5],
        &[10u32, 20, 30, 40, 50],
        UpdateFlags::empty(),
    )?;
    report("lookup-and-delete", table.lookup_and_delete::<u32, u32>(&2));
    report(
        "lookup-and-delete-again",
        table.lookup_and_delete::<u32, u32>(&2),
    );
    report(
        "lookup-and-delete-batch",
        table.lookup_and_delete_batch::<u32, u32>().map(|mut e| {
            e.sort();
            e
        }),
    );
    report("after-drain", table.keys::<u32>());
    report("drain-array", inner.lookup_and_delete_batch::<u32, u32>());
    report("lookup-locked-no-lock", table.lookup_locked::<u32, u32>(&1));

    // The generator's typed handles: types from the maps' BTF.
    let typed_routes = kinds::maps::routes(&obj)?;
    report("typed-lpm", typed_routes.lookup(&net(32, [10, 1, 9, 9])));
    let typed_stack = kinds::maps::stack(&obj)?;
    typed_stack.push(&7, UpdateFlags::empty())?;
    report("typed-stack", typed_stack.pop());
    report(
        "typed-per-cpu",
        kinds::maps::per_cpu(&obj)?
            .lookup_per_cpu(&0)
            .map(|v| v.map(|v| v.len() == slots as usize)),
    );
    report(
        "typed-wrong-size",
        obj.typed_map::<u64, u32>("table").map(|_| ()),
    );
    Ok(())
}

/// Program info and the typed attach targets: good ones attach, bad ones
/// get typed errors. `granted` is a binary inside the guest's `--dir` that
/// defines `function`.
fn attach(granted: &str, function: &str) -> Result<()> {
    let obj = Object::open_named(include_object!("kinds"), "attach")?.load()?;
    let info = obj.program("on_sys_enter")?.info();
    report(
        "info-raw-tp",
        Ok((info.id > 0, info.insn_count > 0, info.attach_type)),
    );
    let iter_info = obj.program("list_tasks")?.info();
    report(
        "info-iter",
        Ok(matches!(iter_info.attach_type, Some(AttachType::TraceIter))),
    );
    let tp_info = obj.program("on_getpid")?.info();
    report("info-tp", Ok(tp_info.attach_type));

    let raw = obj.program("on_sys_enter")?;
    let link = raw.attach_to(&AttachTarget::RawTracepoint("sys_enter".into()))?;
    report("raw-tracepoint", Ok(link.is_attached()));
    std::thread::sleep(Duration::from_millis(50));
    let syscalls: u64 = obj.global("syscalls")?;
    report("raw-tracepoint-fired", Ok(syscalls > 0));
    let id: i64 = obj.global("last_stack")?;
    let stack = obj
        .map("stacks")?
        .stack(u32::try_from(id).unwrap_or(u32::MAX))?;
    report(
        "kernel-stack",
        Ok(stack.is_some_and(|ips| {
            !ips.is_empty() && ips.iter().all(|&ip| ip >= 0xffff_8000_0000_0000)
        })),
    );
    drop(link);

    report(
        "tracepoint",
        obj.program("on_getpid")?
            .attach_to(&AttachTarget::Tracepoint(TracepointTarget {
                category: "syscalls".into(),
                name: "sys_enter_getpid".into(),
            }))
            .map(|l| l.program_name()),
    );
    report(
        "tracepoint-missing",
        obj.program("on_getpid")?
            .attach_to(&AttachTarget::Tracepoint(TracepointTarget {
                category: "syscalls".into(),
                name: "no_such_event".into(),
            }))
            .map(|_| ()),
    );
    report(
        "wrong-program-type",
        raw.attach_to(&AttachTarget::Tracepoint(TracepointTarget {
            category: "syscalls".into(),
            name: "sys_enter_getpid".into(),
        }))
        .map(|_| ()),
    );
    report(
        "kprobe",
        obj.program("on_kernel_function")?
            .attach_to(&AttachTarget::Kprobe(KprobeTarget {
                function: "do_unlinkat".into(),
                retprobe: false,
            }))
            .map(|_| ()),
    );
    let uprobe = |binary: Binary| {
        obj.program("on_kernel_function")?
            .attach_to(&AttachTarget::Uprobe(UprobeTarget {
                binary,
                function: Some(function.into()),
                offset: 0,
                pid: None,
                retprobe: false,
            }))
            .map(|l| l.is_attached())
    };
    report("uprobe-granted", uprobe(Binary::Path(granted.into())));
    report(
        "uprobe-outside-grant",
        uprobe(Binary::Path("/etc/passwd".into())),
    );
    report(
        "uprobe-dotdot",
        uprobe(Binary::Path(format!("{granted}/../../etc/passwd"))),
    );
    report("uprobe-process-missing", uprobe(Binary::Process(i32::MAX)));
    report(
        "xdp-missing-interface",
        obj.program("pass_all")?
            .attach_to(&AttachTarget::Xdp(XdpTarget {
                interface: "nosuchif0".into(),
                mode: XdpMode::Generic,
            }))
            .map(|_| ()),
    );
    let cgroup = obj.attach_to("count_sockets", &AttachTarget::Cgroup("/cgroup".into()))?;
    // The test keeps a process creating sockets in the granted cgroup.
    let started = Instant::now();
    while obj.global::<u64>("sockets_created")? == 0 && started.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    report(
        "cgroup-sockets",
        obj.global::<u64>("sockets_created").map(|n| n > 0),
    );
    drop(cgroup);
    report(
        "cgroup-outside-grant",
        obj.attach_to(
            "count_sockets",
            &AttachTarget::Cgroup("/sys/fs/cgroup".into()),
        )
        .map(|_| ()),
    );
    report(
        "cgroup-not-a-cgroup",
        obj.attach_to("count_sockets", &AttachTarget::Cgroup(granted.into()))
            .map(|_| ()),
    );
    report(
        "cgroup-missing",
        obj.attach_to(
            "count_sockets",
            &AttachTarget::Cgroup("/cgroup/no-such-group".into()),
        )
        .map(|_| ()),
    );
    let iter = obj
        .program("list_tasks")?
        .attach_to(&AttachTarget::Iterator)?;
    let text = String::from_utf8_lossy(&iter.read_iter()?).into_owned();
    let ours: BTreeSet<&str> = text
        .lines()
        .filter_map(|l| l.strip_suffix(" wasm-bpf"))
        .collect();
    report("iter-lists-host", Ok(ours));
    report(
        "iter-again",
        iter.read_iter().map(|t| !t.is_empty()).map_err(Into::into),
    );
    let not_iter = obj.program("on_getpid")?.attach()?;
    report(
        "read-iter-not-iter",
        not_iter.read_iter().map(|_| ()).map_err(Into::into),
    );
    iter.detach()?;
    report(
        "read-iter-detached",
        iter.read_iter().map(|_| ()).map_err(Into::into),
    );
    Ok(())
}

/// fentry and LSM programs: loaded and attached where the kernel allows,
/// otherwise the kernel's refusal as a typed error.
fn refused() -> Result<()> {
    for program in ["on_unlinkat_entry", "on_file_open"] {
        let mut open = Object::open_named(include_object!("refused"), program)?;
        for other in ["on_unlinkat_entry", "on_file_open"] {
            open.set_autoload(other, other == program)?;
        }
        let attached = open.load().and_then(|obj| {
            let link = obj.program(program)?.attach()?;
            Ok(link.is_attached())
        });
        report(program, attached);
    }
    Ok(())
}

/// The kinds object without its cgroup program, which needs
/// `--allow cgroup`.
fn kinds_without_cgroup(name: &str) -> Result<OpenObject> {
    let mut open = Object::open_named(include_object!("kinds"), name)?;
    open.set_autoload("count_sockets", false)?;
    Ok(open)
}

/// `results`: host calls whose whole results are more than the guest may
/// take in one call (run with `--max-memory 32MiB`, so 8 MiB a call).
fn results() -> Result<()> {
    type Page = [u8; 4096];
    let obj = Object::open(include_object!("results"))?.load()?;
    report(
        "wide-lookup-batch",
        obj.map("wide")?
            .lookup_batch::<u32, Page>()
            .map(|entries| entries.len()),
    );
    report(
        "many-keys",
        obj.map("many")?.keys::<u32>().map(|keys| keys.len()),
    );
    let drain = obj.map("drain")?;
    let keys: Vec<u32> = (0..4096).collect();
    for chunk in keys.chunks(256) {
        let values: Vec<Page> = chunk.iter().map(|&k| [k as u8; 4096]).collect();
        drain.update_batch(chunk, &values, UpdateFlags::empty())?;
    }
    let (mut seen, mut calls, mut most) = (BTreeSet::new(), 0, 0);
    loop {
        let part = drain.lookup_and_delete_batch::<u32, Page>()?;
        if part.is_empty() {
            break;
        }
        calls += 1;
        most = most.max(part.len());
        for (key, value) in part {
            assert!(value.iter().all(|&b| b == key as u8), "value of {key}");
            seen.insert(key);
        }
    }
    report("drained", Ok((seen.len(), calls, most)));
    report("left", drain.keys::<u32>().map(|keys| keys.len()));
    Ok(())
}

/// The attacks object with only `program` to load, aimed at `victim`.
fn open_attacks(name: &str, program: &str, victim: u32) -> Result<OpenObject> {
    let mut open = Object::open_named(include_object!("attacks"), name)?;
    open.set_global("victim_tgid", &victim)?;
    for other in ["hidden_helper", "kfunc_signal", "touches_big"] {
        open.set_autoload(other, other == program)?;
    }
    Ok(open)
}

/// What an attack review tried as a hostile guest: `how` names the attack,
/// `victim` the process it would kill.
fn attacks(how: &str, victim: &str) -> Result<()> {
    let victim: u32 = victim.parse().expect("a process id");
    match how {
        "hidden-helper" | "kfunc" => {
            let program = if how == "kfunc" {
                "kfunc_signal"
            } else {
                "hidden_helper"
            };
            match open_attacks("attack", program, victim)?.load() {
                Ok(obj) => {
                    report("load", Ok(()));
                    let _links = obj.attach_all()?;
                    // Time for the victim to make a system call.
                    std::thread::sleep(Duration::from_millis(1000));
                }
                Err(e) => report::<()>("load", Err(e)),
            }
        }
        "fd-values" => {
            let obj = open_attacks("fdvalues", "touches_big", victim)?.load()?;
            // 3 is some fd of the host's, not anything the guest holds.
            for map in ["jumps", "perf"] {
                report(
                    &format!("{map}-update"),
                    obj.map(map)?.update(&0u32, &3u32, UpdateFlags::empty()),
                );
            }
            report(
                "big-update",
                obj.map("big")?
                    .update(&0u32, &[7u8; 4096], UpdateFlags::empty()),
            );
        }
        "kernel-memory" => {
            let mut held = Vec::new();
            let over = loop {
                let name = format!("km{}", held.len());
                match open_attacks(&name, "touches_big", victim)?.load() {
                    Ok(obj) if held.len() < 8 => held.push(obj),
                    Ok(_) => break None,
                    Err(e) => break Some(e),
                }
            };
            report("objects-loaded", Ok(held.len()));
            report::<()>("object-over-cap", over.map_or(Ok(()), Err));
            let perf = held[0].map("perf")?;
            let mut buffers = Vec::new();
            let over = loop {
                match Buffer::open_with(&perf, Some(1024)) {
                    Ok(buffer) if buffers.len() < 64 => buffers.push(buffer),
                    Ok(_) => break None,
                    Err(e) => break Some(e),
                }
            };
            report("perf-buffers", Ok(buffers.len()));
            report::<()>("perf-over-cap", over.map_or(Ok(()), Err));
            println!("holding");
            let _ = std::io::stdout().flush();
            // Time for the test to read what the kernel holds for us.
            std::thread::sleep(Duration::from_millis(1500));
            // Dropping an object (and what was taken from it) gives its
            // memory back.
            drop((buffers, perf));
            held.pop();
            report(
                "after-drop",
                open_attacks("kmagain", "touches_big", victim)?
                    .load()
                    .map(|_| ()),
            );
        }
        other => panic!("unknown attack {other:?}"),
    }
    Ok(())
}

/// The per-guest caps: objects, maps and programs held at once, perf
/// buffer sizes.
fn caps() -> Result<()> {
    let mut held = Vec::new();
    let over = loop {
        match Object::open_named(include_object!("api"), &format!("cap{}", held.len())) {
            Ok(open) => held.push(open),
            Err(e) => break e,
        }
    };
    report("objects-held", Ok(held.len()));
    report::<()>("object-over-cap", Err(over));
    held.pop();
    report(
        "object-after-drop",
        Object::open_named(include_object!("api"), "capagain").map(|_| ()),
    );
    drop(held);
    let obj = open_api("caps", 0)?.load()?;
    let perf = obj.map("perf")?;
    report(
        "perf-pages-3",
        Buffer::open_with(&perf, Some(3)).map(|_| ()),
    );
    report(
        "perf-pages-huge",
        Buffer::open_with(&perf, Some(1 << 20)).map(|_| ()),
    );
    report(
        "perf-pages-8",
        Buffer::open_with(&perf, Some(8)).map(|_| ()),
    );
    let mut huge = open_api("caps_huge", 0)?;
    huge.set_max_entries("counts", 1 << 31)?;
    report("huge-map", huge.load().map(|_| ()));
    // `perf` is one of the maps held.
    let mut maps = vec![perf];
    let over = loop {
        match obj.map("counts") {
            Ok(map) => maps.push(map),
            Err(e) => break e,
        }
    };
    report("maps-held", Ok(maps.len()));
    report::<()>("map-over-cap", Err(over));
    maps.pop();
    report("map-after-drop", obj.map("counts").map(|_| ()));
    let mut programs = Vec::new();
    let over = loop {
        match obj.program("on_write") {
            Ok(program) => programs.push(program),
            Err(e) => break e,
        }
    };
    report("programs-held", Ok(programs.len()));
    report::<()>("program-over-cap", Err(over));
    Ok(())
}

/// What the run's policy allows; the test runs it with and without grants.
fn policy() -> Result<()> {
    let only = |program: &str| -> Result<OpenObject> {
        let mut open = Object::open_named(include_object!("policy"), program)?;
        for other in ["signaller", "probe_true"] {
            open.set_autoload(other, other == program)?;
        }
        Ok(open)
    };
    report("dangerous-helper", only("signaller")?.load().map(|_| ()));
    let probe = only("probe_true")?.load()?;
    report("section-binary", probe.attach("probe_true").map(|_| ()));

    report(
        "cgroup-program",
        Object::open_named(include_object!("kinds"), "policy")?
            .load()
            .map(|_| ()),
    );
    let obj = kinds_without_cgroup("policy")?.load()?;
    report(
        "kprobe",
        obj.attach_to(
            "on_kernel_function",
            &AttachTarget::Kprobe(KprobeTarget {
                function: "do_unlinkat".into(),
                retprobe: false,
            }),
        )
        .map(|_| ()),
    );
    report(
        "xdp-lo",
        obj.attach_to(
            "pass_all",
            &AttachTarget::Xdp(XdpTarget {
                interface: "lo".into(),
                mode: XdpMode::Generic,
            }),
        )
        .map(|_| ()),
    );
    report(
        "process-binary",
        obj.attach_to(
            "on_kernel_function",
            &AttachTarget::Uprobe(UprobeTarget {
                binary: Binary::Process(1),
                function: None,
                offset: 0,
                pid: None,
                retprobe: false,
            }),
        )
        .map(|_| ()),
    );
    for program in ["on_unlinkat_entry", "on_file_open"] {
        let mut open = Object::open_named(include_object!("refused"), program)?;
        for other in ["on_unlinkat_entry", "on_file_open"] {
            open.set_autoload(other, other == program)?;
        }
        report(&format!("load-{program}"), open.load().map(|_| ()));
    }
    Ok(())
}

/// Each field of `described.bpf.c`'s `every_kind`, as the generated
/// `Described` impl tells a consumer: `field <name> => ok <type> = <value>`,
/// decoded from the global's initial value in the object.
fn described() -> Result<()> {
    use wasm_bpf_guest::probe::Described as _;
    let open = Object::open_named(include_object!("described"), "described")?;
    let value: described::EveryKind = open.global("described")?;
    let schema = described::EveryKind::schema();
    let batch = described::EveryKind::batch([&value]);
    for record in batch.records() {
        for (field, cell) in schema.fields.iter().zip(record.cells()) {
            println!("case field {} => ok {:?} = {cell:?}", field.name, field.ty);
        }
    }
    let mut set = value;
    set.set_low(2);
    set.set_high(31);
    set.color = described::Color::RED;
    let set_batch = described::EveryKind::batch([&set]);
    report(
        "accessors",
        Ok((
            value.low(),
            value.high(),
            value.color == described::Color::BLUE,
            set.low(),
            set.high(),
            set_batch.records().next().and_then(|r| r.get(4)),
        )),
    );
    Ok(())
}

/// Configuring an opened object as libbpf tools do before `load` (each
/// call a case), then what the kernel made of it.
fn configure() -> Result<()> {
    const DEPTH: u32 = 32;
    report(
        "default-name",
        Object::open(include_object!("configure")).map(|o| o.as_raw().name()),
    );
    let open = Object::open_named(include_object!("configure"), "cfg")?;
    let stacks = open.map("stacks")?;
    report("stack-value-size-before", Ok(stacks.info().value_size));
    report("set-value-size", stacks.set_value_size(DEPTH * 8));
    report("stack-value-size", Ok(stacks.info().value_size));
    let table = open.map("table")?;
    report("set-map-type", table.set_map_type(MapType::LruHash));
    // BPF_F_NO_COMMON_LRU: an LRU list per CPU.
    report("set-map-flags", table.set_map_flags(2));
    report("set-numa-node", table.set_numa_node(0));
    report("set-key-size", table.set_key_size(4));
    report("set-autocreate", open.map("spare")?.set_autocreate(false));
    report("set-map-extra", open.map("bloom")?.set_map_extra(5));
    let data = open.map("cfg.data")?;
    let initial = data.initial_value()?;
    report("initial-value", Ok(initial.len()));
    let mut changed = initial.clone();
    // `hits` follows `last_stack` in .data: start it at 1000.
    changed[8..16].copy_from_slice(&1000u64.to_ne_bytes());
    report("set-initial-value", data.set_initial_value(&changed));
    report(
        "set-initial-value-short",
        data.set_initial_value(&changed[..4]),
    );
    report(
        "initial-value-of-hash",
        table.initial_value().map(|v| v.len()),
    );
    let on_enter = open.program("on_enter")?;
    report(
        "set-attach-target-none",
        on_enter.set_attach_target(None, None),
    );
    report(
        "set-attach-target-missing",
        on_enter.set_attach_target(Some("no_such_tracepoint"), None),
    );
    report(
        "set-attach-target",
        on_enter.set_attach_target(Some("sys_enter"), None),
    );
    report("set-log-level", on_enter.set_log_level(1));
    // BPF_F_TEST_RND_HI32: a verifier test flag any program may carry.
    report("set-flags", on_enter.set_flags(4));
    report("flags", Ok(on_enter.flags()));
    report(
        "set-autoload-turned",
        open.program("turned")?.set_autoload(false),
    );

    let obj = open.load()?;
    report("set-value-size-loaded", stacks.set_value_size(8));
    report("map-type", Ok(obj.map("table")?.info().map_type));
    report("map-flags", Ok(obj.map("table")?.info().map_flags));
    report(
        "spare-created",
        obj.map("spare")?.lookup::<u32, u64>(&0).map(|_| ()),
    );
    let log = on_enter.verifier_log().unwrap_or_default();
    report(
        "verifier-log",
        Ok(log.contains("processed ") && log.contains(" insns")),
    );
    report(
        "verifier-log-none",
        Ok(obj.program("turned")?.verifier_log()),
    );
    let hits_before: u64 = obj.global("hits")?;
    report("initial-hits", Ok(hits_before));
    let _link = on_enter.attach()?;
    std::thread::sleep(Duration::from_millis(20));
    let id: i64 = obj.global("last_stack")?;
    let hits: u64 = obj.global("hits")?;
    report("hits", Ok(hits > hits_before));
    let stack = obj
        .map("stacks")?
        .stack(u32::try_from(id).unwrap_or(u32::MAX))?;
    report(
        "stack",
        Ok(stack.is_some_and(|ips| {
            !ips.is_empty()
                && ips.len() <= DEPTH as usize
                && ips.iter().all(|&ip| ip >= 0xffff_8000_0000_0000)
        })),
    );
    // A typed lookup whose type is smaller than the map's 256-byte values
    // says so, as for any map (the small-bytes call does not fit them).
    report(
        "stack-as-u64",
        obj.map("stacks")?
            .lookup::<u32, u64>(&u32::try_from(id).unwrap_or(u32::MAX))
            .map(|_| ()),
    );

    // The policy sees the program as it will be loaded: a tracepoint
    // program made an LSM one needs --allow lsm.
    let open = Object::open_named(include_object!("configure"), "turned")?;
    open.program("on_enter")?.set_autoload(false)?;
    open.map("stacks")?.set_value_size(8)?;
    let turned = open.program("turned")?;
    report("set-prog-type", turned.set_prog_type(ProgType::Lsm));
    report(
        "set-expected-attach-type",
        turned.set_expected_attach_type(AttachType::LsmMac),
    );
    report(
        "set-attach-target-lsm",
        turned.set_attach_target(Some("file_open"), None),
    );
    report("load-turned", open.load().map(|_| ()));

    // Settings are checked at load as declarations are: a map made a
    // struct_ops map needs its grant, a stack map made huge the size cap.
    let open = Object::open_named(include_object!("configure"), "hostile")?;
    open.program("turned")?.set_autoload(false)?;
    open.program("on_enter")?
        .set_attach_target(Some("sys_enter"), None)?;
    open.map("stacks")?.set_value_size(8)?;
    open.map("spare")?.set_map_type(MapType::StructOps)?;
    report("load-struct-ops", open.load().map(|_| ()));
    let open = Object::open_named(include_object!("configure"), "hostile")?;
    open.program("turned")?.set_autoload(false)?;
    open.program("on_enter")?
        .set_attach_target(Some("sys_enter"), None)?;
    // A tp_btf program made an fentry one needs --allow fentry.
    let open = Object::open_named(include_object!("configure"), "hostile")?;
    open.program("turned")?.set_autoload(false)?;
    open.map("stacks")?.set_value_size(8)?;
    let on_enter = open.program("on_enter")?;
    on_enter.set_expected_attach_type(AttachType::TraceFentry)?;
    report(
        "set-attach-target-fentry",
        on_enter.set_attach_target(Some("do_unlinkat"), None),
    );
    report("load-fentry", open.load().map(|_| ()));
    let open = Object::open_named(include_object!("configure"), "hostile")?;
    open.program("turned")?.set_autoload(false)?;
    open.program("on_enter")?
        .set_attach_target(Some("sys_enter"), None)?;
    // 64 entries of 64 MiB: 4 GiB.
    open.map("stacks")?.set_value_size(64 << 20)?;
    report("load-huge-stack", open.load().map(|_| ()));

    // map_extra reaches the kernel: 16 hash functions are past its limit.
    let open = Object::open_named(include_object!("configure"), "bloom")?;
    open.program("on_enter")?.set_autoload(false)?;
    open.program("turned")?.set_autoload(false)?;
    open.map("stacks")?.set_value_size(8)?;
    open.map("bloom")?.set_map_extra(16)?;
    report("load-bloom-16", open.load().map(|_| ()));
    Ok(())
}

/// A program replacing a function of another object's loaded program:
/// what `pick` returns to `caller` before, while and after the
/// replacement is attached.
fn freplace() -> Result<()> {
    let settle = || std::thread::sleep(Duration::from_millis(50));
    let open = Object::open_named(include_object!("freplace"), "target")?;
    open.program("replacement")?.set_autoload(false)?;
    let target = open.load()?;
    let caller = target.program("caller")?;
    let _caller_link = caller.attach()?;
    settle();
    report("before", target.global::<i32>("picked"));

    let open = Object::open_named(include_object!("freplace"), "replacer")?;
    open.program("caller")?.set_autoload(false)?;
    let replacement = open.program("replacement")?;
    report(
        "same-object",
        replacement.set_attach_target(Some("pick"), Some(&open.program("caller")?)),
    );
    report(
        "set-attach-target",
        replacement.set_attach_target(Some("pick"), Some(&caller)),
    );
    let loaded = open.load();
    report(
        "load-replacer",
        loaded.as_ref().map(|_| ()).map_err(Clone::clone),
    );
    let Ok(replacer) = loaded else {
        return Ok(());
    };
    let link = replacer.program("replacement")?.attach()?;
    settle();
    report("replaced", target.global::<i32>("picked"));
    drop(link);
    settle();
    report("restored", target.global::<i32>("picked"));
    Ok(())
}

/// `kernel-btf [PATH]`: loads a CO-RE object relocated against the kernel
/// BTF file PATH (a guest path), or the run's (`--kernel-btf`).
fn kernel_btf(path: Option<&String>) -> Result<()> {
    let options = wasm_bpf_guest::OpenOptions {
        name: None,
        kernel_btf: path.cloned(),
    };
    let loaded = Object::open_with(include_object!("core"), &options).and_then(|o| o.load());
    report("load", loaded.map(|_| ()));
    Ok(())
}

/// Attaching by sections whose failure must be explained rightly.
fn sections() -> Result<()> {
    let obj = Object::open(include_object!("sections"))?.load()?;
    for program in ["no_colon", "self_exe", "no_hook", "libc_multi"] {
        report(program, obj.attach(program).map(|_| ()));
    }
    let malloc = obj.attach("libc_malloc");
    report(
        "libc_malloc",
        malloc.as_ref().map(|_| ()).map_err(Clone::clone),
    );
    if malloc.is_ok() {
        // The host allocates as it serves these calls.
        std::thread::sleep(Duration::from_millis(50));
        report("mallocs", obj.global::<i64>("mallocs").map(|n| n > 0));
    }
    Ok(())
}

/// The configure fixture with only its `table` map in use, pinned at
/// `path` (set-pin-path).
fn pinned_table(path: &str) -> Result<Result<Object>> {
    let open = Object::open_named(include_object!("configure"), "pinpath")?;
    open.map("stacks")?.set_value_size(8)?;
    open.program("on_enter")?.set_autoload(false)?;
    open.program("turned")?.set_autoload(false)?;
    open.map("table")?.set_pin_path(path)?;
    Ok(open.load())
}

/// `pin-path DIR`: pins outside DIR (`..`, a symbolic link) are refused;
/// one inside is made, and a second object reuses it.
fn pin_path(dir: &str) -> Result<()> {
    for (case, path) in [
        ("escape", format!("{dir}/../escaped_table")),
        ("symlink", format!("{dir}/link/table")),
    ] {
        report(case, pinned_table(&path)?.map(|_| ()));
    }
    let path = format!("{dir}/custom_table");
    let first = pinned_table(&path)?;
    report("custom", first.as_ref().map(|_| ()).map_err(Clone::clone));
    if let Ok(obj) = first {
        report(
            "store",
            obj.map("table")?
                .update(&0u32, &42u64, UpdateFlags::empty()),
        );
    }
    let second = pinned_table(&path)?;
    report(
        "reused",
        second.and_then(|obj| obj.map("table")?.lookup::<u32, u64>(&0)),
    );
    Ok(())
}

/// The sandbox fixture without its iterator, which needs a grant.
fn sandbox_object(name: &str) -> Result<OpenObject> {
    let mut open = Object::open_named(include_object!("sandbox"), name)?;
    open.set_autoload("mark_sockets", false)?;
    Ok(open)
}

/// `sandbox CASE [ARG]`: what the third attack review got through.
fn sandbox(case: &str, arg: Option<&String>) -> Result<()> {
    match case {
        // An iterator calling bpf_setsockopt on the sockets of local port
        // ARG (the test's own), which it does not own.
        "iter-setsockopt" => {
            let port: u16 = arg.expect("a port").parse().expect("a port number");
            let mut open = Object::open_named(include_object!("sandbox"), "sbx_iter")?;
            open.set_global("victim_port", &port)?;
            match open.load() {
                Ok(obj) => {
                    report("load", Ok(()));
                    report("read", obj.read_iter("mark_sockets").map(|out| out.len()));
                    report("marked", obj.global::<u64>("marked"));
                }
                Err(e) => report::<()>("load", Err(e)),
            }
        }
        // The global sections libbpf maps into the host, grown or retyped
        // before load.
        "internal-maps" => {
            let open = sandbox_object("sbx_bss")?;
            report("grow", open.map("sbx_bss.bss")?.set_max_entries(4096));
            report("load-grown", open.load().map(|_| ()));
            let open = sandbox_object("sbx_type")?;
            report(
                "retype",
                open.map("sbx_type.bss")?.set_map_type(MapType::Arena),
            );
            report("load-retyped", open.load().map(|_| ()));
            let open = sandbox_object("sbx_ok")?;
            report("resize-value", open.map("sbx_ok.bss")?.set_value_size(4096));
            report("load-resized", open.load().map(|_| ()));
        }
        // An arena placed where the object says, then one shrunk and one
        // made of another map.
        "arena" => {
            let open = Object::open_named(include_object!("arena"), "sbx_arena")?;
            report("load", open.load().map(|_| ()));
            let open = Object::open_named(include_object!("arena"), "sbx_small")?;
            report("shrink", open.map("arena")?.set_max_entries(1));
            report("load-shrunk", open.load().map(|_| ()));
        }
        // ARG times update-cgroup of `/g/c`, which the test keeps swapping
        // between a directory of the grant and a link to the root cgroup.
        "race-cgroup" => {
            let rounds: u32 = arg.expect("a count").parse().expect("a number");
            let obj = sandbox_object("sbx_race")?.load()?;
            let map = obj.map("cgroups")?;
            let outcomes = tally(rounds, || {
                let key = 0u32.to_ne_bytes();
                map.as_raw()
                    .update_cgroup(&key, "/g/c", UpdateFlags::empty())
                    .map(|()| "stored")
                    .map_err(Into::into)
            });
            println!("case outcomes => ok {outcomes:?}");
        }
        // The same race, attaching a cgroup program (run with --allow
        // cgroup).
        "race-attach" => {
            let rounds: u32 = arg.expect("a count").parse().expect("a number");
            let obj = Object::open_named(include_object!("kinds"), "sbx_attach")?.load()?;
            let program = obj.program("count_sockets")?;
            let outcomes = tally(rounds, || {
                program
                    .attach_to(&AttachTarget::Cgroup("/g/c".into()))
                    .map(|_link| "attached")
            });
            println!("case outcomes => ok {outcomes:?}");
        }
        // A FIFO where the host reads a file: as kernel BTF, as a binary
        // to probe.
        "fifo" => {
            let path = arg.expect("a FIFO's guest path");
            let options = wasm_bpf_guest::OpenOptions {
                name: Some("sbx_fifo_btf".into()),
                kernel_btf: Some(path.clone()),
            };
            report(
                "kernel-btf",
                Object::open_with(include_object!("sandbox"), &options).map(|_| ()),
            );
            let obj = sandbox_object("sbx_fifo")?.load()?;
            let target = AttachTarget::Uprobe(UprobeTarget {
                binary: Binary::Path(path.clone()),
                function: Some("main".into()),
                offset: 0,
                retprobe: false,
                pid: None,
            });
            report("uprobe", obj.attach_to("probe_binary", &target).map(|_| ()));
        }
        // Holds an object, then reads the FIFO ARG through WASI, which
        // blocks until a writer comes: none does.
        "fifo-wasi" => {
            let path = arg.expect("a FIFO's guest path");
            let _obj = sandbox_object("sbx_wasi")?.load()?;
            println!("holding");
            let _ = std::io::stdout().flush();
            match std::fs::read(path) {
                Ok(bytes) => println!("case read => ok {}", bytes.len()),
                Err(e) => println!("case read => err {e}"),
            }
        }
        // The layout of a struct whose nested members flatten into 9
        // million fields.
        "layout-bomb" => {
            let open = Object::open_named(include_object!("bomb"), "sbx_bomb")?;
            report("outer", open.record_layout("outer").map(|_| ()));
            report("inner", open.record_layout("inner").map(|l| l.size()));
            report(
                "big-global",
                open.as_raw()
                    .get_global("big_global")
                    .map(|b| b.len())
                    .map_err(Into::into),
            );
            report(
                "big-initial-value",
                open.map("sbx_bomb.bss")?.initial_value().map(|b| b.len()),
            );
            report(
                "small-global",
                open.as_raw()
                    .get_global("bomb")
                    .map(|b| b.len())
                    .map_err(Into::into),
            );
        }
        // A program of a type wasm-bpf never attaches.
        "never-runs" => {
            let obj = sandbox_object("sbx_never")?.load()?;
            report("attach", obj.attach("steer").map(|_| ()));
            report("attach-all", obj.attach_all().map(|links| links.len()));
        }
        // A lookup of a value of 3 MiB.
        "big-value" => {
            let obj = sandbox_object("sbx_value")?.load()?;
            let map = obj.map("big_values")?;
            report(
                "lookup",
                map.as_raw()
                    .lookup(&0u32.to_ne_bytes(), wasm_bpf_guest::LookupFlags::empty())
                    .map(|v| v.map(|v| v.len()))
                    .map_err(Into::into),
            );
        }
        // A helper number no kernel has, and libbpf's poisoned call.
        "unknown-helpers" => {
            for program in ["unknown_helper", "poisoned_call"] {
                let mut open = Object::open_named(include_object!("unknown"), "sbx_unknown")?;
                for other in ["unknown_helper", "poisoned_call"] {
                    open.set_autoload(other, other == program)?;
                }
                report(program, open.load().map(|_| ()));
            }
        }
        other => panic!("unknown sandbox case {other:?}"),
    }
    Ok(())
}

/// How often each outcome of `attempt` came in `rounds` tries, errors by
/// their code.
fn tally(rounds: u32, mut attempt: impl FnMut() -> Result<&'static str>) -> BTreeMap<String, u32> {
    let mut outcomes = BTreeMap::new();
    for _ in 0..rounds {
        let outcome = match attempt() {
            Ok(what) => what.to_string(),
            Err(e) => format!("{:?}", e.code),
        };
        *outcomes.entry(outcome).or_insert(0) += 1;
    }
    outcomes
}

/// Declares and updates metrics as a careless or hostile guest would,
/// reporting each call; then, attaching nothing, waits to be stopped, so
/// that the test can scrape what the host serves meanwhile.
fn metrics() -> Result<()> {
    use wasm_bpf_guest::metrics::{Counter, Gauge, Histogram};
    let declared = |r: Result<Counter>| r.map(|_| ());
    report("bad-name", declared(Counter::new("bad name", "", &[])));
    report("reserved", declared(Counter::new("wasm_bpf_maps", "", &[])));
    report(
        "help-newline",
        declared(Counter::new("fine", "one\nfake_metric 1", &[])),
    );
    report(
        "label-le",
        Histogram::new("h", "", &["le"], &[1.0]).map(|_| ()),
    );
    report(
        "bounds",
        Histogram::new("h", "", &[], &[2.0, 1.0]).map(|_| ()),
    );
    let hostile = Counter::new("hostile_total", "Hostile label values", &["v"])?;
    report("injected", hostile.inc(&["x\"} 1\nfake_metric 1\n"], 2));
    report("arity", hostile.inc(&[], 1));
    report("redeclared", Gauge::new("hostile", "", &[]).map(|_| ()));
    let series = Gauge::new("series", "One series per number", &["n"])?;
    let mut made = 0u32;
    let full = loop {
        match series.set(&[&made.to_string()], f64::from(made)) {
            Ok(()) => made += 1,
            Err(e) => break e,
        }
    };
    println!("case series-made => ok {made}");
    report("series-full", Err::<(), _>(full));
    let mut handles = Vec::new();
    let most = loop {
        match Counter::new("hostile", "Hostile label values", &["v"]) {
            Ok(handle) => handles.push(handle),
            Err(e) => break e,
        }
    };
    // With the two handles held above.
    println!("case handles-made => ok {}", handles.len() + 2);
    report("handles-full", Err::<(), _>(most));
    drop(handles);
    report(
        "handle-again",
        declared(Counter::new("hostile", "Hostile label values", &["v"])),
    );
    println!("ready metrics");
    wasm_bpf_guest::wait_any(&[&wasm_bpf_guest::stopping()]);
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let scenario = args.get(1).cloned().unwrap_or_default();
    match scenario.as_str() {
        "end" => end(&args[2], &args[3])?,
        "maps" => maps()?,
        "errors" => errors()?,
        "verifier" => verifier()?,
        "globals" => globals()?,
        "events" => events()?,
        "lost" => lost()?,
        "map-kinds" => map_kinds()?,
        "caps" => caps()?,
        "policy" => policy()?,
        "pollables" => pollables()?,
        "attach" => attach(&args[2], &args[3])?,
        "refused" => refused()?,
        "storm" => storm(&args[2], &args[3], &args[4], &args[5])?,
        "pin" => pin(&args[2])?,
        "attacks" => attacks(&args[2], &args[3])?,
        "results" => results()?,
        "described" => described()?,
        "configure" => configure()?,
        "pin-path" => pin_path(&args[2])?,
        "freplace" => freplace()?,
        "sections" => sections()?,
        "kernel-btf" => kernel_btf(args.get(2))?,
        "metrics" => metrics()?,
        "sandbox" => sandbox(&args[2], args.get(3))?,
        // Whether a stop was asked for before the guest started, then
        // waits for one.
        "timed" => {
            println!(
                "case stopping-at-start => ok {}",
                wasm_bpf_guest::is_stopping()
            );
            wasm_bpf_guest::sleep(Duration::from_secs(3600));
            println!("case stopped => ok {}", wasm_bpf_guest::is_stopping());
        }
        other => panic!("unknown scenario {other:?}"),
    }
    println!("done {scenario}");
    Ok(())
}
