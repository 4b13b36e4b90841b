//! `wasm-bpf run --metrics`: what a scrape of `/metrics` and `/healthz`
//! shows for real apps on the kernel, the app's own metrics (the `metrics`
//! consumer, runqlat's histogram), and what a hostile guest cannot do to
//! the text a scraper reads.

mod common;

use std::process::Command;
use std::time::Duration;

use common::http::{buckets, free_address, get, get_until, sample};
use common::*;

/// Long enough for a cold start on a slow machine; every wait ends as soon
/// as its condition holds.
const PATIENCE: Duration = Duration::from_secs(60);

fn addr_arg(address: std::net::SocketAddr) -> String {
    address.to_string()
}

/// The `metrics` consumer after bootstrap's probe, labelled by command:
/// the count of records for a program only this test runs is exactly its
/// execs and exits, the histogram of their durations has them in the
/// right buckets, and the host's own figures (buffer records, maps,
/// programs, links, program run counts) are the kernel's.
#[test]
fn a_scrape_counts_the_records_of_processes_the_test_started() {
    require_kernel();
    let dir = tempfile::tempdir().expect("temp dir");
    let name = "metricsnap";
    let napper = dir.path().join(name);
    std::fs::copy(sleep_path(), &napper).expect("copying sleep");
    let address = free_address();
    let consumer = guest("metrics");
    let host_args = [
        "--metrics",
        &addr_arg(address),
        "--program-stats",
        "--env",
        "METRICS_BY=comm",
        "--env",
        "METRICS_HISTOGRAM=duration_ns",
        "--sink",
        consumer.to_str().expect("utf-8 path"),
    ];
    let mut running = Running::start(&host_args, &guest("bootstrap-probe"), &[]);
    let health = get_until(address, "/healthz", PATIENCE, |r| r.status == 200);
    assert_eq!(health.map(|r| r.body), Some("ok\n".to_string()));
    for _ in 0..3 {
        let status = Command::new(&napper).arg("0.2").status().expect("napping");
        assert!(status.success());
    }
    let records = format!("probe_records_total{{comm=\"{name}\"}}");
    let scrape = get_until(address, "/metrics", PATIENCE, |r| {
        sample(&r.body, &records) >= Some(6.0)
    })
    .expect("a scrape");
    let body = &scrape.body;
    // 3 execs and 3 exits, nothing else.
    assert_eq!(sample(body, &records), Some(6.0), "{body}");
    let labels = format!("comm=\"{name}\",");
    let histogram = buckets(body, "probe_duration_ns", &labels);
    let at = |le: f64| histogram.iter().find(|(b, _)| *b == le).map(|(_, n)| *n);
    // Execs have no duration (bucket 1); the exits lasted 0.2 s, in
    // [2^27, 2^28) ns: the bucket 2^28 - 1 has them, 2^27 - 1 does not.
    assert_eq!(at(1.0), Some(3.0), "{body}");
    assert_eq!(at(134_217_727.0), Some(3.0), "{body}");
    assert_eq!(at(268_435_455.0), Some(6.0), "{body}");
    assert_eq!(at(f64::INFINITY), Some(6.0), "{body}");
    let host =
        |series: &str| sample(body, series).unwrap_or_else(|| panic!("no {series}:\n{body}"));
    assert!(host("wasm_bpf_buffer_records_total{map=\"rb\",kind=\"ring\"}") >= 6.0);
    assert_eq!(host("wasm_bpf_programs"), 2.0, "{body}");
    assert_eq!(host("wasm_bpf_links"), 2.0, "{body}");
    // The ring buffer, the probe's filter map and its globals.
    assert!(host("wasm_bpf_maps") >= 2.0, "{body}");
    assert!(host("wasm_bpf_kernel_memory_bytes") > 0.0, "{body}");
    assert!(host("wasm_bpf_guest_memory_bytes") > 0.0, "{body}");
    assert_eq!(host("wasm_bpf_ready"), 1.0, "{body}");
    let execs = body
        .lines()
        .find(|l| l.starts_with("wasm_bpf_program_runs_total{program=\"handle_exec\","))
        .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok());
    assert!(execs >= Some(3.0), "{body}");
    running.signal(libc::SIGINT);
    wait_ended(&mut running, Some(0));
}

/// runqlat's `--metrics`: its log2 histogram as a Prometheus histogram,
/// in OpenMetrics when the scraper asks for it (as Prometheus does).
#[test]
fn runqlat_exports_its_latency_histogram() {
    require_kernel();
    let address = free_address();
    let mut running = Running::start(
        &["--metrics", &addr_arg(address)],
        &guest("runqlat"),
        &["--metrics"],
    );
    // The scheduler runs something every few milliseconds on any machine.
    let scrape = get_until(address, "/metrics", PATIENCE, |r| {
        sample(&r.body, "runqlat_latency_microseconds_count") > Some(0.0)
    })
    .expect("a scrape");
    let body = &scrape.body;
    let count = sample(body, "runqlat_latency_microseconds_count").expect("a count");
    let histogram = buckets(body, "runqlat_latency_microseconds", "");
    assert_eq!(histogram.len(), 27, "26 slots and +Inf:\n{body}");
    assert!(histogram.windows(2).all(|w| w[0].1 <= w[1].1), "{body}");
    assert_eq!(histogram.last(), Some(&(f64::INFINITY, count)), "{body}");
    assert_eq!(histogram[1].0, 3.0, "log2 bounds 1, 3, 7, ...");
    assert!(
        scrape
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/plain; version=0.0.4")),
        "{scrape:?}"
    );

    let open = get(
        address,
        "/metrics",
        &["Accept: application/openmetrics-text; version=1.0.0"],
    )
    .expect("an OpenMetrics scrape");
    assert!(
        open.header("content-type")
            .is_some_and(|t| t.starts_with("application/openmetrics-text")),
        "{open:?}"
    );
    assert!(open.body.ends_with("# EOF\n"), "{}", open.body);
    assert_eq!(get(address, "/nope", &[]).map(|r| r.status), Some(404));
    running.signal(libc::SIGINT);
    wait_ended(&mut running, Some(0));
    // runqlat still prints its histogram at Ctrl-C.
    assert!(
        running
            .seen
            .iter()
            .any(|l| l.contains("usecs") && l.contains("distribution")),
        "{:?}",
        running.seen
    );
}

/// A guest that declares what would break the text format or grow the
/// host without bound is refused call by call; what a hostile label value
/// holds stays inside its quotes; an app that attached nothing is not
/// ready.
#[test]
fn hostile_metrics_are_refused_and_cannot_forge_samples() {
    require_kernel();
    let address = free_address();
    let mut running = Running::start(
        &["--metrics", &addr_arg(address)],
        &guest("host-api"),
        &["metrics"],
    );
    running
        .wait_line(PATIENCE, |l| l == "ready metrics")
        .unwrap_or_else(|| panic!("never ready: {:?}\n{}", running.seen, running.stderr()));
    let cases = cases(running.seen.iter().map(String::as_str));
    err(
        &cases,
        "bad-name",
        "InvalidArgument",
        libc::EINVAL,
        &["not a Prometheus name"],
    );
    err(
        &cases,
        "reserved",
        "InvalidArgument",
        libc::EINVAL,
        &["`wasm_bpf_` is the host's own"],
    );
    err(
        &cases,
        "help-newline",
        "InvalidArgument",
        libc::EINVAL,
        &["one line"],
    );
    err(
        &cases,
        "label-le",
        "InvalidArgument",
        libc::EINVAL,
        &["`le`"],
    );
    err(
        &cases,
        "bounds",
        "InvalidArgument",
        libc::EINVAL,
        &["strictly increasing"],
    );
    ok(&cases, "injected", "()");
    err(
        &cases,
        "arity",
        "InvalidArgument",
        libc::EINVAL,
        &["has 1 labels (v), not 0"],
    );
    err(
        &cases,
        "redeclared",
        "AlreadyExists",
        libc::EEXIST,
        &["already declared"],
    );
    ok(&cases, "series-made", "9999");
    err(
        &cases,
        "series-full",
        "LimitExceeded",
        libc::ENOSPC,
        &["10000 series"],
    );
    ok(&cases, "handles-made", "1024");
    err(
        &cases,
        "handles-full",
        "LimitExceeded",
        0,
        &["metric handles"],
    );
    ok(&cases, "handle-again", "()");

    let scrape = get(address, "/metrics", &[]).expect("a scrape");
    let body = &scrape.body;
    assert!(
        body.lines().all(|l| !l.starts_with("fake_metric")),
        "a label value forged a sample:\n{body}"
    );
    assert_eq!(
        sample(body, "hostile_total{v=\"x\\\"} 1\\nfake_metric 1\\n\"}"),
        Some(2.0),
        "{body}"
    );
    let series = body.lines().filter(|l| l.starts_with("series{")).count();
    assert_eq!(series, 9999, "one series per number set");
    let health = get(address, "/healthz", &[]).expect("a health check");
    assert_eq!(health.status, 503, "{health:?}");
    assert_eq!(sample(body, "wasm_bpf_ready"), Some(0.0), "{body}");
    running.signal(libc::SIGINT);
    wait_ended(&mut running, Some(0));
}

/// A port already taken is an error before the app starts, naming it.
#[test]
fn a_taken_port_is_refused_before_the_app_starts() {
    require_kernel();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("binding");
    let address = taken.local_addr().expect("address").to_string();
    let (code, stderr) = run_to_end(&["--metrics", &address], &guest("bootstrap"), &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("--metrics {address}: listening")),
        "{stderr}"
    );
}

/// Idle connections cannot keep a scrape from being answered: with a
/// client that reopens every one of its 32 idle connections as soon as it
/// is closed, and 16 more connections that never send a request, every
/// scrape is answered at once (before, 32 idle connections kept it
/// waiting for the 10 s header timeout, and a reconnecting client kept it
/// down).
#[test]
fn idle_and_reconnecting_clients_cannot_starve_a_scrape() {
    use std::io::Read as _;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    require_kernel();
    let address = free_address();
    let mut running = Running::start(&["--metrics", &addr_arg(address)], &guest("bootstrap"), &[]);
    let up = get_until(address, "/metrics", PATIENCE, |r| r.status == 200);
    assert!(up.is_some(), "never served: {}", running.stderr());
    let stop = AtomicBool::new(false);
    let reopened = AtomicUsize::new(0);
    let (ready, connected) = std::sync::mpsc::channel();
    let idle = std::thread::scope(|scope| {
        scope.spawn(|| {
            let connect = || {
                let stream = std::net::TcpStream::connect(address).expect("connecting");
                stream.set_nonblocking(true).expect("non-blocking");
                stream
            };
            let mut held: Vec<_> = (0..32).map(|_| connect()).collect();
            let _ = ready.send(());
            while !stop.load(Ordering::Relaxed) {
                for stream in &mut held {
                    // Closed by the server: read gives end of file.
                    if matches!(stream.read(&mut [0; 1]), Ok(0)) {
                        *stream = connect();
                        reopened.fetch_add(1, Ordering::Relaxed);
                    }
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        // Stops the reconnecting client however the scrapes end.
        struct Stop<'a>(&'a AtomicBool);
        impl Drop for Stop<'_> {
            fn drop(&mut self) {
                self.0.store(true, Ordering::Relaxed);
            }
        }
        let _stopping = Stop(&stop);
        connected.recv().expect("the reconnecting client connected");
        // Past the cap: the reconnecting client's oldest go, and come back.
        let idle: Vec<std::net::TcpStream> = (0..16)
            .filter_map(|_| std::net::TcpStream::connect(address).ok())
            .collect();
        for _ in 0..10 {
            let started = std::time::Instant::now();
            let scraped = get(address, "/metrics", &[]);
            let took = started.elapsed();
            assert_eq!(
                scraped.map(|r| r.status),
                Some(200),
                "a scrape went unanswered"
            );
            assert!(took < Duration::from_secs(3), "a scrape took {took:?}");
        }
        let deadline = std::time::Instant::now() + PATIENCE;
        while reopened.load(Ordering::Relaxed) == 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        idle
    });
    assert!(
        reopened.load(Ordering::Relaxed) > 0,
        "the server closed no idle connection"
    );
    drop(idle);
    running.signal(libc::SIGINT);
    assert_eq!(running.wait_exit(PATIENCE).and_then(|s| s.code()), Some(0));
}
