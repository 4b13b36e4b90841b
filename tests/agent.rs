//! `wasm-bpf agent`: many apps in one process, declared in a directory and
//! managed through the local API (`wasm-bpf apps`), tracing a process the
//! test starts; hostile neighbours that end alone; the ceiling; and a
//! SIGTERM that leaves nothing in the kernel.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::http;
use common::registry::{Registry, User};
use common::{assert_freed, assert_no_map_named, bpf_ids, guest, sleep_path, wasm_bpf, Running};

/// A running agent with its apps directory and API socket.
struct Agent {
    running: Running,
    dir: tempfile::TempDir,
}

/// A process the apps can see: a shell that starts `sleep` every 50 ms,
/// so it wakes (runqlat), and its children exec and exit (bootstrap).
struct Traced(Child);

impl Traced {
    fn start() -> Self {
        let script = format!("while :; do {} 0.05; done", sleep_path().display());
        Self(
            Command::new("sh")
                .args(["-c", &script])
                .spawn()
                .expect("starting the traced shell"),
        )
    }

    fn pid(&self) -> String {
        self.0.id().to_string()
    }
}

impl Drop for Traced {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// An app file's `source = ...` line for the guest `name`.
fn source(name: &str) -> String {
    format!("source = {:?}\n", guest(name).display().to_string())
}

/// An app file running the test guest's `end MODE OBJECT`.
fn ending(mode: &str, object: &str, extra: &str) -> String {
    format!(
        "{}args = [\"end\", \"{mode}\", \"{object}\"]\n{extra}",
        source("host-api")
    )
}

impl Agent {
    /// Starts `command` (a `wasm-bpf agent` without its directory and
    /// socket) with the app files `apps` in place.
    fn start_with(mut command: Command, apps: &[(&str, String)]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("apps")).expect("apps dir");
        let agent = Self {
            running: Running::spawn({
                command
                    .arg("--apps")
                    .arg(dir.path().join("apps"))
                    .arg("--api")
                    .arg(dir.path().join("run/agent.sock"));
                for (name, text) in apps {
                    std::fs::write(dir.path().join(format!("apps/{name}.toml")), text)
                        .expect("writing an app file");
                }
                command
            }),
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !agent.socket().exists() {
            assert!(
                Instant::now() < deadline,
                "no API socket: {}",
                agent.running.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        agent
    }

    fn start(host_args: &[&str], apps: &[(&str, String)]) -> Self {
        let mut command = wasm_bpf();
        command.arg("agent").args(host_args);
        Self::start_with(command, apps)
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("run/agent.sock")
    }

    /// Writes the app file `name` whole at once, as a ConfigMap update
    /// does (a hidden file renamed into place).
    fn write(&self, name: &str, text: &str) {
        let hidden = self.dir.path().join(format!("apps/.{name}.tmp"));
        std::fs::write(&hidden, text).expect("writing an app file");
        std::fs::rename(&hidden, self.dir.path().join(format!("apps/{name}.toml")))
            .expect("renaming an app file");
    }

    fn remove(&self, name: &str) {
        std::fs::remove_file(self.dir.path().join(format!("apps/{name}.toml")))
            .expect("removing an app file");
    }

    /// `wasm-bpf apps ARGS` against this agent.
    fn apps(&self, args: &[&str]) -> Output {
        let (command, rest) = args.split_first().expect("a command");
        wasm_bpf()
            .args(["apps", command, "--api"])
            .arg(self.socket())
            .args(rest)
            .output()
            .expect("running wasm-bpf apps")
    }

    fn apps_ok(&self, args: &[&str]) -> String {
        let out = self.apps(args);
        assert!(
            out.status.success(),
            "apps {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `apps status NAME`, or `None` for an app the agent does not have.
    fn status(&self, name: &str) -> Option<serde_json::Value> {
        let out = self.apps(&["status", name]);
        out.status
            .success()
            .then(|| serde_json::from_slice(&out.stdout).expect("status JSON"))
    }

    /// Waits until `name` is in `state`; its status then.
    fn wait_state(&self, name: &str, state: &str) -> serde_json::Value {
        self.wait_status(name, |status| status["state"] == state)
    }

    /// Waits until `name`'s status is one `want` accepts; that status.
    fn wait_status(
        &self,
        name: &str,
        want: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let status = self.status(name);
            if let Some(status) = status.as_ref().filter(|s| want(s)) {
                return status.clone();
            }
            assert!(
                Instant::now() < deadline,
                "{name}: {status:?}\n{}",
                self.apps_ok(&["ls"])
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until the agent no longer has `name`.
    fn wait_gone(&self, name: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while let Some(status) = self.status(name) {
            assert!(Instant::now() < deadline, "{name} stays: {status}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The next line of the app `name`'s output (as the agent passes it
    /// on) for which `want` holds.
    fn wait_output(&mut self, name: &str, want: impl Fn(&str) -> bool) -> Option<String> {
        let prefix = format!("[{name}] ");
        self.running.wait_line(Duration::from_secs(30), |line| {
            line.strip_prefix(&prefix).is_some_and(&want)
        })
    }

    /// Waits for bootstrap, running as `name`, to report an exec whose
    /// parent is `pid`.
    fn sees_exec(&mut self, name: &str, pid: &str) {
        let seen = self.wait_output(name, |l| {
            let fields: Vec<&str> = l.split_whitespace().collect();
            fields.get(1) == Some(&"EXEC") && fields.get(4) == Some(&pid)
        });
        assert!(seen.is_some(), "{name} saw no exec of {pid}'s children");
    }

    /// SIGTERM: the agent must exit 0 having freed everything it held.
    fn terminate(mut self) -> Vec<String> {
        let ids = bpf_ids(self.running.pid());
        self.running.signal(libc::SIGTERM);
        let status = self
            .running
            .wait_exit(Duration::from_secs(30))
            .expect("the agent did not stop");
        assert_eq!(status.code(), Some(0), "{}", self.running.stderr());
        while self
            .running
            .wait_line(Duration::from_millis(200), |_| true)
            .is_some()
        {}
        assert_freed(&ids);
        assert!(!self.socket().exists(), "the socket stays");
        std::mem::take(&mut self.running.seen)
    }
}

#[test]
fn three_apps_in_one_agent_each_report_the_tests_process() {
    let json_app = format!(
        "{}sink = [{:?}]\n",
        source("bootstrap-probe"),
        guest("json").display().to_string()
    );
    let mut agent = Agent::start(
        &[],
        &[
            ("boot", source("bootstrap")),
            (
                "rq",
                format!("{}args = [\"-P\", \"1\"]\n", source("runqlat")),
            ),
            ("json", json_app),
        ],
    );
    let traced = Traced::start();
    let pid = traced.pid();
    agent.sees_exec("boot", &pid);
    let woke = agent.wait_output("rq", |l| l.starts_with(&format!("pid = {pid} ")));
    assert!(woke.is_some(), "runqlat never showed {pid}");
    let record = agent.wait_output("json", |l| {
        serde_json::from_str::<serde_json::Value>(l)
            .is_ok_and(|r| r["ppid"].as_u64() == pid.parse().ok())
    });
    assert!(record.is_some(), "json never showed a child of {pid}");
    let listing = agent.apps_ok(&["ls"]);
    for name in ["boot", "rq", "json"] {
        let row = listing
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{name} not listed:\n{listing}"));
        assert_eq!(row.split_whitespace().nth(1), Some("running"), "{listing}");
    }
    let summary: serde_json::Value =
        serde_json::from_str(&agent.apps_ok(&["status"])).expect("summary JSON");
    assert_eq!(summary["apps"]["running"], 3, "{summary}");
    assert_eq!(summary["ready"], true, "{summary}");
    agent.terminate();
}

#[test]
fn the_api_stops_one_app_starts_one_from_a_registry_and_follows_its_log() {
    let registry = Registry::start();
    let user = User::new();
    let reference = format!("{}/tools/bootstrap:1.0", registry.addr);
    user.ok(&[
        "push",
        &guest("bootstrap").display().to_string(),
        &reference,
        "--insecure-registry",
        &registry.addr,
    ]);
    let mut command = user.command(&["agent", "--insecure-registry", &registry.addr]);
    command.stdin(Stdio::null());
    let mut agent = Agent::start_with(
        command,
        &[
            ("boot", source("bootstrap")),
            ("rq", format!("{}args = [\"1\"]\n", source("runqlat"))),
        ],
    );
    agent.wait_state("rq", "running");
    let stopped = agent.apps_ok(&["stop", "rq"]);
    assert!(stopped.contains("rq"), "{stopped}");
    let status = agent.wait_state("rq", "exited");
    assert_eq!(status["code"], 0, "runqlat ends at its stop: {status}");
    let traced = Traced::start();
    agent.sees_exec("boot", &traced.pid());

    agent.apps_ok(&["start", "pulled", &reference]);
    let mut follower = wasm_bpf()
        .args(["apps", "logs", "-f", "--api"])
        .arg(agent.socket())
        .arg("pulled")
        .stdout(Stdio::piped())
        .spawn()
        .expect("following the log");
    agent.sees_exec("pulled", &traced.pid());
    let status = agent.wait_state("pulled", "running");
    assert_eq!(status["source"], reference.as_str(), "{status}");
    agent.apps_ok(&["stop", "pulled"]);
    agent.wait_state("pulled", "exited");
    let deadline = Instant::now() + Duration::from_secs(10);
    while follower.try_wait().expect("try_wait").is_none() {
        assert!(
            Instant::now() < deadline,
            "the follower did not end with the app"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let followed = follower.wait_with_output().expect("the follower's output");
    let followed = String::from_utf8_lossy(&followed.stdout);
    assert!(followed.starts_with("TIME "), "{followed}");
    assert!(followed.lines().any(|l| l.contains(" EXEC ")), "{followed}");
    assert!(
        followed.ends_with("wasm-bpf: exited with 0\n"),
        "{followed}"
    );

    // A stopped app starts again as it was declared.
    agent.apps_ok(&["start", "rq"]);
    agent.wait_state("rq", "running");
    let unknown = agent.apps(&["stop", "nosuch"]);
    assert!(!unknown.status.success());
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("no app named nosuch"),
        "{unknown:?}"
    );
    let taken = agent.apps(&["start", "rq", &reference]);
    assert!(
        String::from_utf8_lossy(&taken.stderr).contains("apps directory"),
        "a file's app is the file's: {taken:?}"
    );
    agent.terminate();
}

#[test]
fn hostile_neighbours_end_alone_and_leave_nothing() {
    let mut agent = Agent::start(
        &[],
        &[
            ("boot", source("bootstrap")),
            ("trap", ending("trap", "agtrap", "")),
            ("hog", ending("hog", "aghog", "max-memory = \"16MiB\"\n")),
            ("spin", ending("spin", "agspin", "grace = \"200ms\"\n")),
            ("flood", ending("flood", "agflood", "")),
        ],
    );
    let trapped = agent.wait_state("trap", "failed");
    assert!(
        trapped["error"].as_str().unwrap_or("").contains("trapped"),
        "{trapped}"
    );
    assert!(
        agent
            .wait_output("trap", |l| l.contains("trapping on purpose"))
            .is_some(),
        "the trap's panic message"
    );
    let hog = agent.wait_state("hog", "failed");
    assert!(
        hog["error"].as_str().unwrap_or("").contains("trapped"),
        "{hog}"
    );
    agent.wait_state("spin", "running");
    agent.wait_state("flood", "running");
    assert_no_map_named("agtrap");
    assert_no_map_named("aghog");

    let traced = Traced::start();
    agent.sees_exec("boot", &traced.pid());

    agent.apps_ok(&["stop", "spin"]);
    let spun = agent.wait_state("spin", "exited");
    assert_eq!(
        spun["code"],
        128 + libc::SIGTERM,
        "forced at its grace's end: {spun}"
    );
    agent.apps_ok(&["stop", "flood"]);
    let flooded = agent.wait_state("flood", "exited");
    assert_eq!(flooded["code"], 0, "{flooded}");
    assert!(
        agent
            .wait_output("flood", |l| l.starts_with("flooded agflood with "))
            .is_some(),
        "the flood's last words"
    );
    assert_no_map_named("agspin");
    assert_no_map_named("agflood");
    let traced = Traced::start();
    agent.sees_exec("boot", &traced.pid());
    let listing = agent.apps_ok(&["ls"]);
    let state = |name: &str| {
        listing
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .map(str::to_string)
    };
    assert_eq!(state("trap").as_deref(), Some("failed"), "{listing}");
    assert_eq!(state("hog").as_deref(), Some("failed"), "{listing}");
    assert_eq!(state("boot").as_deref(), Some("running"), "{listing}");
    agent.terminate();
}

#[test]
fn the_ceiling_refuses_an_app_that_asks_for_more() {
    let asks = ending(
        "graceful",
        "agceil",
        "allow-helper = [\"bpf_send_signal\"]\n",
    );
    let agent = Agent::start(&[], &[("ceil", asks.clone())]);
    let refused = agent.wait_state("ceil", "invalid");
    let error = refused["error"].as_str().unwrap_or("");
    assert!(
        error.contains("bpf_send_signal") && error.contains("--allow-helper"),
        "{refused}"
    );
    std::thread::sleep(Duration::from_millis(500));
    let held = bpf_ids(agent.running.pid());
    assert!(held.progs.is_empty() && held.maps.is_empty(), "{held:?}");
    assert_no_map_named("agceil");
    let file = agent.dir.path().join("asks.toml");
    std::fs::write(&file, &asks).expect("writing");
    let out = agent.apps(&["start", "viaapi", "--file", file.to_str().expect("utf-8")]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("bpf_send_signal"),
        "{out:?}"
    );
    assert!(
        agent.status("viaapi").is_none(),
        "a refused request leaves nothing"
    );

    // The same app under a ceiling that grants the helper runs.
    let granted = Agent::start(&["--allow-helper", "bpf_send_signal"], &[("ceil", asks)]);
    granted.wait_state("ceil", "running");
    granted.terminate();
    agent.terminate();
}

#[test]
fn the_directory_adds_changes_and_removes_apps() {
    let mut agent = Agent::start(&[], &[]);
    agent.write("one", &ending("graceful", "agone", ""));
    agent.wait_state("one", "running");
    agent.write("two", &ending("graceful", "agtwo", ""));
    agent.wait_state("two", "running");

    // A malformed file is reported and changes nothing that runs.
    agent.write("bad", "source = [");
    let bad = agent.wait_state("bad", "invalid");
    assert!(
        bad["error"].as_str().unwrap_or("").contains("bad.toml"),
        "{bad}"
    );
    agent.write("one", "source = \"x.wasm\"\nunknown-key = 1\n");
    let one = agent.wait_status("one", |s| !s["error"].is_null());
    assert_eq!(one["state"], "running", "{one}");
    let error = one["error"].as_str().unwrap_or("");
    assert!(
        error.contains("unknown-key") && error.contains("still running"),
        "{one}"
    );

    // A change restarts the app with the new declaration.
    agent.write("one", &ending("graceful", "agone2", ""));
    assert!(agent.wait_output("one", |l| l == "stopped agone").is_some());
    assert!(agent
        .wait_output("one", |l| l == "wasm-bpf: exited with 0")
        .is_some());
    agent.wait_state("one", "running");
    assert_no_map_named("agone");

    // A removed file stops its app, which then leaves the list.
    agent.remove("two");
    assert!(agent.wait_output("two", |l| l == "stopped agtwo").is_some());
    agent.wait_gone("two");
    assert_no_map_named("agtwo");

    // A fixed file starts.
    agent.write("bad", &ending("graceful", "agbad", ""));
    agent.wait_state("bad", "running");
    let names: BTreeMap<String, String> = agent
        .apps_ok(&["ls"])
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut fields = l.split_whitespace();
            Some((fields.next()?.to_string(), fields.next()?.to_string()))
        })
        .collect();
    assert_eq!(
        names,
        BTreeMap::from([
            ("bad".to_string(), "running".to_string()),
            ("one".to_string(), "running".to_string()),
        ])
    );
    agent.terminate();
}

#[test]
fn sigterm_stops_every_app_with_its_last_words() {
    let names = ["ag1", "ag2", "ag3", "ag4"];
    let apps: Vec<(&str, String)> = names
        .iter()
        .map(|name| (*name, ending("graceful", name, "")))
        .collect();
    let agent = Agent::start(&[], &apps);
    for name in names {
        agent.wait_state(name, "running");
    }
    let seen = agent.terminate();
    for name in names {
        assert!(
            seen.contains(&format!("[{name}] stopped {name}")),
            "no last words of {name}: {seen:?}"
        );
        assert!(
            seen.contains(&format!("[{name}] wasm-bpf: exited with 0")),
            "{seen:?}"
        );
        assert_no_map_named(name);
    }
}

#[test]
fn metrics_label_every_series_with_its_app_and_health_waits_for_all() {
    let address = http::free_address();
    let agent = Agent::start(
        &["--metrics", &address.to_string()],
        &[
            ("boot", source("bootstrap")),
            ("rq", format!("{}args = [\"1\"]\n", source("runqlat"))),
        ],
    );
    agent.wait_state("boot", "running");
    agent.wait_state("rq", "running");
    let healthy = http::get_until(address, "/healthz", Duration::from_secs(10), |r| {
        r.status == 200
    });
    assert_eq!(healthy.map(|r| r.status), Some(200));
    // Running means a first link is held; the scrape waits for them all.
    let attached = http::get_until(address, "/metrics", Duration::from_secs(10), |r| {
        http::sample(&r.body, "wasm_bpf_links{app=\"boot\"}") == Some(2.0)
            && http::sample(&r.body, "wasm_bpf_links{app=\"rq\"}") == Some(3.0)
    });
    assert!(attached.is_some(), "no scrape");
    let scrape = http::get(
        address,
        "/metrics",
        &["Accept: application/openmetrics-text; version=1.0.0"],
    )
    .expect("a scrape");
    let body = &scrape.body;
    assert!(body.ends_with("# EOF\n"), "{body}");
    assert_eq!(body.matches("# TYPE wasm_bpf_links ").count(), 1, "{body}");
    // Each app's own objects: bootstrap's two tracepoints, runqlat's three.
    for (series, value) in [
        ("wasm_bpf_programs{app=\"boot\"}", 2.0),
        ("wasm_bpf_links{app=\"boot\"}", 2.0),
        ("wasm_bpf_programs{app=\"rq\"}", 3.0),
        ("wasm_bpf_links{app=\"rq\"}", 3.0),
        ("wasm_bpf_ready{app=\"rq\"}", 1.0),
        ("wasm_bpf_apps{state=\"running\"}", 2.0),
        ("wasm_bpf_apps{state=\"failed\"}", 0.0),
    ] {
        assert_eq!(http::sample(body, series), Some(value), "{series}:\n{body}");
    }
    assert!(
        http::sample(body, "wasm_bpf_maps{app=\"rq\"}").is_some_and(|maps| maps >= 1.0),
        "{body}"
    );

    agent.apps_ok(&["stop", "rq"]);
    agent.wait_state("rq", "exited");
    let unhealthy = http::get(address, "/healthz", &[]).expect("healthz");
    assert_eq!(unhealthy.status, 503);
    assert!(
        unhealthy.body.contains("rq is exited"),
        "{}",
        unhealthy.body
    );
    let body = http::get(address, "/metrics", &[]).expect("a scrape").body;
    assert_eq!(
        http::sample(&body, "wasm_bpf_links{app=\"rq\"}"),
        None,
        "{body}"
    );
    assert_eq!(
        http::sample(&body, "wasm_bpf_apps{state=\"exited\"}"),
        Some(1.0)
    );
    assert_eq!(
        http::sample(&body, "wasm_bpf_links{app=\"boot\"}"),
        Some(2.0)
    );
    agent.terminate();
}

/// Another local user gets nothing from the API: the socket's directory
/// keeps them out, and were it opened to them (a mode changed by hand),
/// the agent still closes their connection unanswered, by the peer's
/// credentials.
#[test]
fn another_user_gets_nothing_from_the_api() {
    let agent = Agent::start(&[], &[("boot", source("bootstrap"))]);
    agent.wait_state("boot", "running");
    let as_nobody = |socket: &std::path::Path| {
        let script = "import socket, sys\n\
             s = socket.socket(socket.AF_UNIX)\n\
             try:\n    s.connect(sys.argv[1])\n\
             except PermissionError:\n    print('refused'); sys.exit()\n\
             try:\n    s.sendall(b'GET /apps HTTP/1.1\\r\\nHost: a\\r\\nConnection: close\\r\\n\\r\\n')\n    \
             answer = s.recv(65536)\n\
             except (ConnectionResetError, BrokenPipeError):\n    answer = b''\n\
             print('answer:' + answer.decode(errors='replace'))\n";
        let out = Command::new("setpriv")
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "/usr/bin/python3",
                "-c",
            ])
            .arg(script)
            .arg(socket)
            .output()
            .expect("running python3 as nobody");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(as_nobody(&agent.socket()), "refused");
    let open_to_all = |path: &std::path::Path, mode: u32| {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    };
    open_to_all(agent.dir.path(), 0o755);
    open_to_all(&agent.dir.path().join("run"), 0o755);
    open_to_all(&agent.socket(), 0o666);
    assert_eq!(
        as_nobody(&agent.socket()),
        "answer:",
        "the agent answered another user"
    );
    // Its own user is still served.
    assert!(agent.apps_ok(&["ls"]).contains("boot"));
    agent.terminate();
}
