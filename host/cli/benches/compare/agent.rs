//! One agent process hosting N bootstrap apps against N native processes
//! (`wasm-bpf agent`): memory, CPU per traced process, and the start of
//! one more app through the API against spawning the native tool.

use std::cell::Cell;
use std::io::{Read as _, Write as _};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::growth::{plural, run_apps, traced_load, TRACED};
use crate::measure::Proc;
use crate::{pinned, Row, Setup, CONSUMER_CPU, RUNS};

/// The app counts measured; the memory goal is at 16.
const COUNTS: [usize; 4] = [1, 4, 16, 64];

/// A running agent with `n` bootstrap apps, every one attached.
struct Agent {
    proc: Proc,
    dir: tempfile::TempDir,
}

impl Agent {
    fn start(setup: &Setup, n: usize) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let apps = dir.path().join("apps");
        std::fs::create_dir(&apps).expect("apps dir");
        for i in 0..n {
            let text = format!(
                "source = {:?}\n",
                setup.bootstrap_wasm.display().to_string()
            );
            std::fs::write(apps.join(format!("b{i}.toml")), text).expect("app file");
        }
        let mut cmd = std::process::Command::new(&setup.wasm_bpf);
        cmd.arg("agent")
            .arg("--apps")
            .arg(&apps)
            .arg("--api")
            .arg(dir.path().join("run/agent.sock"));
        let mut proc = Proc::spawn(pinned(cmd, CONSUMER_CPU));
        for _ in 0..n {
            proc.until(|line| line.contains("] TIME "));
        }
        Self { proc, dir }
    }

    fn socket(&self) -> std::path::PathBuf {
        self.dir.path().join("run/agent.sock")
    }

    fn stop(self) {
        self.proc.signal(libc::SIGTERM);
        self.proc.finish();
    }
}

/// The agent's memory (KiB) and CPU per traced process (µs) with `n`
/// apps.
fn run_agent(setup: &Setup, n: usize) -> (f64, f64) {
    let mut agent = Agent::start(setup, n);
    let before = agent.proc.cpu_ns();
    let last = traced_load();
    let seen = Cell::new(0);
    agent.proc.until(|line| {
        if line.contains(" EXIT ") && line.split_whitespace().any(|w| w == last) {
            seen.set(seen.get() + 1);
        }
        seen.get() == n
    });
    let used = agent.proc.cpu_ns() - before;
    let kib = agent.proc.pss_kib();
    agent.stop();
    (kib, used as f64 / 1e3 / f64::from(TRACED))
}

/// `POST /apps/NAME/start` with `body`, over the agent's socket.
fn start_app(socket: &Path, name: &str, body: &str) {
    let mut stream = UnixStream::connect(socket).expect("connecting to the agent");
    write!(
        stream,
        "POST /apps/{name}/start HTTP/1.1\r\nHost: agent\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("sending the request");
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .expect("reading the answer");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

pub fn agent(setup: &Setup, rows: &mut Vec<Row>) {
    let mut memory: Vec<Row> = COUNTS
        .iter()
        .map(|&n| {
            Row::new(
                format!("agent, {n} bootstrap app{}: memory (Pss)", plural(n)),
                "KiB",
                (n == 16).then_some((false, 1.0)),
            )
        })
        .collect();
    let mut cpu: Vec<Row> = COUNTS
        .iter()
        .map(|&n| {
            Row::new(
                format!(
                    "agent, {n} bootstrap app{}: CPU per traced process",
                    plural(n)
                ),
                "µs",
                Some((false, 1.2)),
            )
        })
        .collect();
    let mut added = Row::new(
        "agent, 1 → 64 bootstrap apps: memory per added app",
        "KiB",
        Some((false, 1.0)),
    );
    for _ in 0..RUNS.min(3) {
        for wasm in [false, true] {
            let mut taken = Vec::new();
            for (i, &n) in COUNTS.iter().enumerate() {
                let (kib, us) = if wasm {
                    run_agent(setup, n)
                } else {
                    run_apps(setup, false, n)
                };
                memory[i].side(wasm).push(kib);
                cpu[i].side(wasm).push(us);
                taken.push(kib);
            }
            let apps = (COUNTS[COUNTS.len() - 1] - COUNTS[0]) as f64;
            added
                .side(wasm)
                .push((taken[COUNTS.len() - 1] - taken[0]) / apps);
        }
    }
    rows.extend(memory);
    rows.extend(cpu);
    rows.push(added);
    rows.push(start_one_more(setup));
}

/// One more bootstrap app through the API of an agent that runs one
/// (warm cache), until its header (printed once attached), against
/// spawning the native tool until its header.
fn start_one_more(setup: &Setup) -> Row {
    let mut row = Row::new(
        "agent: start of one more app through the API, warm → attached",
        "ms",
        Some((false, 1.0)),
    );
    let mut agent = Agent::start(setup, 1);
    let body = format!(
        "{{\"source\": {:?}}}",
        setup.bootstrap_wasm.display().to_string()
    );
    for run in 0..RUNS {
        let start = Instant::now();
        let mut native = Proc::spawn(pinned(
            setup.native(&[
                "bootstrap".into(),
                setup.bootstrap_obj.display().to_string(),
            ]),
            CONSUMER_CPU,
        ));
        native.expect("TIME");
        row.native.push(start.elapsed().as_secs_f64() * 1e3);
        native.signal(libc::SIGINT);
        native.finish();

        let name = format!("more{run}");
        let start = Instant::now();
        start_app(&agent.socket(), &name, &body);
        let header = format!("[{name}] TIME");
        agent.proc.until(|line| line.starts_with(&header));
        row.wasm.push(start.elapsed().as_secs_f64() * 1e3);
        std::thread::sleep(Duration::from_millis(100));
    }
    agent.stop();
    row
}
