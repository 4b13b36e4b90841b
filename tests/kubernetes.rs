//! `deploy/`: the agent image and the Kubernetes manifests.
//!
//! There is no cluster here. What is proven: the kustomize base and
//! overlays render and pass a strict schema validation offline; the
//! DaemonSet asks for what the README says (host PID namespace, three
//! capabilities, read-only kernel mounts, scrape annotations, limits, the
//! agent over the apps' ConfigMap, each app pinned by digest); and the
//! two-apps overlay's pod template, rendered as a Pod by
//! `deploy/kubernetes/pod.py`, runs under podman with the image built by
//! `deploy/image/build.sh`, pulling the image and two signed apps from a
//! local registry, with the policy and key from the ConfigMap, until real
//! events show in its log (one app) and on its `/metrics` (the other);
//! then its apps directory changes under it, one app removed and one
//! added, and the new app reports while the pod runs on. The test's own
//! overlay changes only what this machine needs: the registry's address,
//! the key, the host's network (the registry listens on loopback), a
//! state directory of its own, and the apps directory, a directory of the
//! test's holding the overlay's app files (with the test's apps) that it
//! can change as a kubelet changes a mounted ConfigMap. Scheduling across
//! nodes is not proven.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::http::{free_address, get_until, sample};
use common::registry::Registry;
use common::*;
use serde_json::Value;

const PATIENCE: Duration = Duration::from_secs(90);
const OVERLAYS: [&str; 3] = ["json-logs", "metrics", "two-apps"];

fn deploy() -> PathBuf {
    root().join("deploy/kubernetes")
}

/// The venv with kubernetes-validate and PyYAML (tests/machine.sh).
fn python() -> PathBuf {
    let python = root().join("target/tools/k8s/bin/python");
    assert!(
        python.exists(),
        "{} is missing (tests/machine.sh setup makes it)",
        python.display()
    );
    python
}

fn kustomize(dir: &Path) -> String {
    run_ok(Command::new("kubectl").arg("kustomize").arg(dir))
}

/// `pod.py` over `rendered`, with its extra arguments.
fn pod_py(rendered: &str, args: &[&str]) -> String {
    let mut child = Command::new(python())
        .arg(deploy().join("pod.py"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running pod.py");
    let mut stdin = child.stdin.take().expect("stdin");
    std::io::Write::write_all(&mut stdin, rendered.as_bytes()).expect("writing to pod.py");
    drop(stdin);
    let out = child.wait_with_output().expect("pod.py");
    assert!(
        out.status.success(),
        "pod.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The rendered documents as JSON.
fn documents(rendered: &str) -> Vec<Value> {
    serde_json::from_str(&pod_py(rendered, &["--json"])).expect("pod.py's JSON")
}

/// Whether kubernetes-validate passes `rendered` in strict mode; its
/// output either way.
fn validate(rendered: &str) -> (bool, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("rendered.yaml");
    std::fs::write(&file, rendered).expect("writing the manifests");
    let out = Command::new(python())
        .args(["-m", "kubernetes_validate", "--strict", "-k", "1.32.0"])
        .arg(&file)
        .output()
        .expect("running kubernetes-validate");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn pod(documents: &[Value]) -> &Value {
    documents
        .iter()
        .find(|d| d["kind"] == "Pod")
        .expect("a Pod")
}

fn args(pod: &Value) -> Vec<String> {
    pod["spec"]["containers"][0]["args"]
        .as_array()
        .expect("args")
        .iter()
        .map(|a| a.as_str().expect("a string").to_string())
        .collect()
}

#[test]
fn manifests_render_and_pass_strict_validation() {
    for dir in [
        "base",
        "overlays/json-logs",
        "overlays/metrics",
        "overlays/two-apps",
    ] {
        let rendered = kustomize(&deploy().join(dir));
        let (valid, report) = validate(&rendered);
        assert!(valid, "{dir}: {report}");
        assert!(report.contains("daemonset/wasm-bpf-agent"), "{report}");
    }
    // The validator catches a misspelt field: strict mode is on.
    let rendered = kustomize(&deploy().join("overlays/metrics"));
    let (valid, report) = validate(&rendered.replace("readOnlyRootFilesystem", "readOnlyRootFS"));
    assert!(!valid, "a misspelt field passed: {report}");

    for overlay in OVERLAYS {
        let rendered = kustomize(&deploy().join("overlays").join(overlay));
        let documents = documents(&rendered);
        let pod = pod(&documents);
        let spec = &pod["spec"];
        assert_eq!(spec["hostPID"], true);
        let container = &spec["containers"][0];
        let security = &container["securityContext"];
        assert_eq!(security["capabilities"]["drop"], serde_json::json!(["ALL"]));
        assert_eq!(
            security["capabilities"]["add"],
            serde_json::json!(["BPF", "PERFMON", "SYS_RESOURCE"])
        );
        assert_eq!(security["readOnlyRootFilesystem"], true);
        assert_eq!(security["allowPrivilegeEscalation"], false);
        for mount in container["volumeMounts"].as_array().expect("mounts") {
            let path = mount["mountPath"].as_str().expect("a path");
            if path.starts_with("/sys") || path.starts_with("/etc") {
                assert_eq!(mount["readOnly"], true, "{path} is mounted writable");
            }
        }
        let annotations = &pod["metadata"]["annotations"];
        assert_eq!(annotations["prometheus.io/scrape"], "true");
        assert_eq!(annotations["prometheus.io/port"], "9100");
        for kind in ["requests", "limits"] {
            assert!(container["resources"][kind]["memory"].is_string(), "{kind}");
        }
        // The agent runs the apps of the overlay's ConfigMap, each pinned
        // by digest, signed by the policy's key.
        let args = args(pod);
        for arg in [
            "agent",
            "--apps=/etc/wasm-bpf/apps",
            "--policy=/etc/wasm-bpf/policy/policy.toml",
        ] {
            assert!(args.contains(&arg.to_string()), "{overlay}: {args:?}");
        }
        let apps = apps_config_map(&documents);
        let expected = if overlay == "two-apps" { 2 } else { 1 };
        assert_eq!(apps.len(), expected, "{overlay}: {apps:?}");
        for (file, text) in &apps {
            let source = text
                .lines()
                .find_map(|l| l.strip_prefix("source = \""))
                .unwrap_or_else(|| panic!("{overlay}: {file} has no source"));
            let digest = source
                .rsplit_once("@sha256:")
                .map(|(_, d)| d.trim_end_matches('"'))
                .unwrap_or_default();
            assert!(
                digest.len() == 64 && digest.chars().all(|c| c.is_ascii_hexdigit()),
                "{overlay}: {file} is not pinned by digest: {source}"
            );
        }
        let policy = documents
            .iter()
            .find(|d| d["kind"] == "ConfigMap" && d["data"]["policy.toml"].is_string())
            .expect("the policy's ConfigMap");
        assert!(
            policy["data"]["policy.toml"]
                .as_str()
                .is_some_and(|p| p.contains("allow-unsigned = false")),
            "{policy}"
        );
    }
}

/// The files of the rendered `wasm-bpf-apps` ConfigMap: one per app.
fn apps_config_map(documents: &[Value]) -> Vec<(String, String)> {
    let map = documents
        .iter()
        .find(|d| d["kind"] == "ConfigMap" && d["metadata"]["name"] == "wasm-bpf-apps")
        .expect("the apps' ConfigMap");
    map["data"]
        .as_object()
        .expect("its data")
        .iter()
        .map(|(file, text)| (file.clone(), text.as_str().expect("text").to_string()))
        .collect()
}

/// podman, with the runtime and limits this VM needs and storage of the
/// test's own, removed at the end.
struct Podman {
    dir: tempfile::TempDir,
}

impl Podman {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path();
        std::fs::write(
            path.join("containers.conf"),
            "[containers]\ndefault_ulimits = [\"nofile=1024:1024\", \"nproc=4096:4096\"]\n\
             [engine]\nruntime = \"runc\"\n",
        )
        .expect("writing containers.conf");
        std::fs::write(
            path.join("storage.conf"),
            format!(
                "[storage]\ndriver = \"overlay\"\ngraphroot = \"{0}/graph\"\nrunroot = \"{0}/run\"\n",
                path.display()
            ),
        )
        .expect("writing storage.conf");
        Self { dir }
    }

    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        command
            .env("CONTAINERS_CONF", self.dir.path().join("containers.conf"))
            .env(
                "CONTAINERS_STORAGE_CONF",
                self.dir.path().join("storage.conf"),
            );
        command
    }

    fn podman(&self, args: &[&str]) -> String {
        run_ok(self.command("podman").args(args))
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = self
            .command("podman")
            .args(["pod", "rm", "--all", "--force"])
            .output();
        let _ = self
            .command("podman")
            .args(["system", "reset", "--force"])
            .output();
    }
}

/// Composes bootstrap's probe with `consumer`, pushes it as
/// `apps/NAME:test` and signs it with `key`; its pinned reference.
fn push_app(registry: &Registry, name: &str, consumer: &str, key: &Path) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = dir.path().join(format!("{name}.wasm"));
    run_ok(
        wasm_bpf()
            .arg("compose")
            .arg(guest("bootstrap-probe"))
            .arg(guest(consumer))
            .arg("-o")
            .arg(&app),
    );
    let insecure = ["--insecure-registry", &registry.addr];
    let tag = format!("{}/apps/{name}:test", registry.addr);
    let pushed = run_ok(wasm_bpf().arg("push").args(insecure).arg(&app).arg(&tag));
    let digest = pushed
        .trim()
        .rsplit_once('@')
        .map(|(_, d)| d.to_string())
        .expect("push prints the digest");
    let pinned = format!("{}/apps/{name}@{digest}", registry.addr);
    run_ok(
        wasm_bpf()
            .arg("sign")
            .args(insecure)
            .arg(&pinned)
            .arg("--key")
            .arg(key),
    );
    pinned
}

/// An overlay of the test's on top of the repository's `overlay`: this
/// registry's image, this key, the host's network with the metrics on
/// `metrics`, a state directory of its own, and the apps directory a
/// directory of the test's, holding the overlay's app files with their
/// sources replaced by `apps` (file name → pinned reference), which the
/// test then changes under the running pod. The overlay's directory and
/// the apps directory.
fn test_overlay(
    dir: &Path,
    overlay: &str,
    registry: &Registry,
    apps: &[(&str, &str)],
    metrics: std::net::SocketAddr,
) -> (PathBuf, PathBuf) {
    let repo_overlay = deploy().join("overlays").join(overlay);
    let rendered = kustomize(&repo_overlay);
    let documents = documents(&rendered);
    let pod = pod(&documents);
    let args = args(pod);
    let metrics_at = args
        .iter()
        .position(|a| a.starts_with("--metrics="))
        .unwrap_or_else(|| panic!("no --metrics: {args:?}"));
    let volumes = pod["spec"]["volumes"].as_array().expect("volumes");
    let volume_at = |name: &str| {
        volumes
            .iter()
            .position(|v| v["name"] == name)
            .unwrap_or_else(|| panic!("no volume {name}"))
    };
    let apps_dir = dir.join(format!("{overlay}-apps"));
    std::fs::create_dir_all(&apps_dir).expect("creating the apps directory");
    for (file, text) in apps_config_map(&documents) {
        let (_, reference) = apps
            .iter()
            .find(|(name, _)| *name == file)
            .unwrap_or_else(|| panic!("no app of the test's for {file}"));
        let text: String = text
            .lines()
            .map(|line| match line.starts_with("source = ") {
                true => format!("source = \"{reference}\"\n"),
                false => format!("{line}\n"),
            })
            .collect();
        std::fs::write(apps_dir.join(&file), text).expect("writing an app file");
    }
    let overlay_dir = dir.join(overlay);
    let state = dir.join(format!("{overlay}-state"));
    std::fs::create_dir_all(&overlay_dir).expect("creating the overlay");
    std::fs::write(
        overlay_dir.join("policy.toml"),
        format!(
            "allowed-images = [\"{0}/apps/*\"]\nverify-keys = [\"/etc/wasm-bpf/policy/release.pub\"]\n\
             allow-unsigned = false\ninsecure-registry = [\"{0}\"]\ngrace = \"5s\"\n",
            registry.addr
        ),
    )
    .expect("writing the policy");
    std::fs::copy(dir.join("release.pub"), overlay_dir.join("release.pub")).expect("the key");
    let kustomization = format!(
        "resources:\n  - {base}\nimages:\n  - name: registry.example.com/wasm-bpf/agent\n    \
         newName: {registry}/wasm-bpf/agent\n    newTag: test\nconfigMapGenerator:\n  \
         - name: wasm-bpf-policy\n    behavior: replace\n    files: [policy.toml, release.pub]\n\
         patches:\n  - target: {{kind: DaemonSet, name: wasm-bpf-agent}}\n    patch: |-\n\
         {patch}",
        base = relative(&overlay_dir, &repo_overlay),
        registry = registry.addr,
        patch = [
            format!(
                "replace /spec/template/spec/containers/0/args/{metrics_at} --metrics={metrics}"
            ),
            "add /spec/template/spec/hostNetwork true".to_string(),
            "remove /spec/template/spec/containers/0/ports".to_string(),
            format!(
                "replace /spec/template/spec/volumes/{}/hostPath/path {}",
                volume_at("state"),
                state.display()
            ),
            format!(
                "replace /spec/template/spec/volumes/{} {{name: apps, hostPath: {{path: {}, type: \
                 Directory}}}}",
                volume_at("apps"),
                apps_dir.display()
            ),
        ]
        .iter()
        .map(|op| json_patch_op(op))
        .collect::<String>(),
    );
    std::fs::write(overlay_dir.join("kustomization.yaml"), kustomization).expect("writing it");
    (overlay_dir, apps_dir)
}

/// The absolute path `to` as seen from the absolute directory `from`
/// (kustomize takes relative bases only).
fn relative(from: &Path, to: &Path) -> String {
    let mut path = PathBuf::new();
    for _ in 1..from.components().count() {
        path.push("..");
    }
    path.push(to.strip_prefix("/").expect("an absolute path"));
    path.display().to_string()
}

/// `OP PATH [VALUE]` as a JSON 6902 operation, indented for the patch.
fn json_patch_op(op: &str) -> String {
    let mut parts = op.splitn(3, ' ');
    let (op, path) = (parts.next().expect("op"), parts.next().expect("path"));
    let mut text = format!("      - op: {op}\n        path: {path}\n");
    if let Some(value) = parts.next() {
        text.push_str(&format!("        value: {value}\n"));
    }
    text
}

/// The agent's log (stdout and stderr).
fn logs(podman: &Podman) -> String {
    let out = podman
        .command("podman")
        .args(["logs", "wasm-bpf-agent-agent"])
        .output()
        .expect("podman logs");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The records the app `app` printed (the json consumer's JSON lines,
/// each one of the agent's JSON lines for the app) whose `comm` is `comm`.
fn records(log: &str, app: &str, comm: &str) -> usize {
    log.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|line| line["app"] == app)
        .filter_map(|line| serde_json::from_str::<Value>(line["message"].as_str()?).ok())
        .filter(|record| record["comm"] == comm)
        .count()
}

/// Runs a copy of `sleep` named `name` three times: an exec and an exit
/// event each.
fn nap(dir: &Path, name: &str) {
    let napper = dir.join(name);
    std::fs::copy(sleep_path(), &napper).expect("copying sleep");
    for _ in 0..3 {
        assert!(Command::new(&napper)
            .arg("0.2")
            .status()
            .expect("napping")
            .success());
    }
}

/// The running agent's pid, as podman sees it.
fn agent_pid(podman: &Podman) -> u32 {
    podman
        .podman(&[
            "inspect",
            "--format",
            "{{.State.Pid}}",
            "wasm-bpf-agent-agent",
        ])
        .trim()
        .parse()
        .expect("the agent's pid")
}

#[test]
fn the_two_apps_pod_runs_from_a_local_registry_and_follows_its_apps() {
    require_kernel();
    let registry = Registry::start();
    let podman = Podman::new();
    let work = tempfile::tempdir().expect("temp dir");
    let dir = work.path();

    let built = run_ok(
        podman
            .command(root().join("deploy/image/build.sh"))
            .arg(root().join("target/release/wasm-bpf"))
            .arg("localhost/wasm-bpf/agent:test"),
    );
    eprintln!("{}", built.trim());
    let image = format!("docker://{}/wasm-bpf/agent:test", registry.addr);
    podman.podman(&[
        "push",
        "--quiet",
        "--tls-verify=false",
        "localhost/wasm-bpf/agent:test",
        &image,
    ]);
    // The pod pulls it from the registry, as a node would.
    podman.podman(&["rmi", "localhost/wasm-bpf/agent:test"]);

    let key = dir.join("release.key");
    run_ok(
        Command::new("openssl")
            .args([
                "ecparam",
                "-name",
                "prime256v1",
                "-genkey",
                "-noout",
                "-out",
            ])
            .arg(&key),
    );
    run_ok(
        Command::new("openssl")
            .args(["ec", "-pubout", "-in"])
            .arg(&key)
            .arg("-out")
            .arg(dir.join("release.pub")),
    );

    let json_app = push_app(&registry, "bootstrap-json", "json", &key);
    let metrics_app = push_app(&registry, "bootstrap-metrics", "metrics", &key);
    let metrics = free_address();
    let (overlay_dir, apps_dir) = test_overlay(
        dir,
        "two-apps",
        &registry,
        &[
            ("bootstrap-json.toml", &json_app),
            ("bootstrap-metrics.toml", &metrics_app),
        ],
        metrics,
    );
    let pod_yaml = dir.join("two-apps.yaml");
    std::fs::write(&pod_yaml, pod_py(&kustomize(&overlay_dir), &[])).expect("writing the pod");
    let yaml = pod_yaml.to_str().expect("utf-8 path");
    podman.podman(&["kube", "play", "--quiet", "--tls-verify=false", yaml]);

    let ready = get_until(metrics, "/healthz", PATIENCE, |r| r.status == 200);
    assert!(
        ready.is_some_and(|r| r.status == 200),
        "never ready; log:\n{}",
        logs(&podman)
    );
    nap(dir, "k8stwo");
    let series = "probe_records_total{app=\"bootstrap-metrics\",comm=\"k8stwo\"}";
    let scrape = get_until(metrics, "/metrics", PATIENCE, |r| {
        sample(&r.body, series) >= Some(6.0)
    })
    .expect("a scrape");
    eprintln!("/metrics\n{}", scrape.body);
    assert_eq!(sample(&scrape.body, series), Some(6.0), "{}", scrape.body);
    for app in ["bootstrap-json", "bootstrap-metrics"] {
        let links = format!("wasm_bpf_links{{app=\"{app}\"}}");
        assert_eq!(sample(&scrape.body, &links), Some(2.0), "{}", scrape.body);
    }
    let deadline = Instant::now() + PATIENCE;
    while records(&logs(&podman), "bootstrap-json", "k8stwo") < 6 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = logs(&podman);
    assert_eq!(records(&log, "bootstrap-json", "k8stwo"), 6, "{log}");
    // The host's own messages are JSON lines naming what each app runs.
    for app in [&json_app, &metrics_app] {
        let digest = app.rsplit_once('@').map(|(_, d)| d).expect("a digest");
        assert!(
            log.lines()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .filter(|v| v["target"] == "wasm_bpf::cli")
                .any(|v| v["message"].as_str().is_some_and(|m| m.contains(digest))),
            "no JSON line of the host's names {digest}:\n{log}"
        );
    }
    let pid = agent_pid(&podman);
    assert_eq!(bpf_ids(pid).links.len(), 4);

    // The mounted apps change under the running pod: one app goes, one
    // comes.
    std::fs::remove_file(apps_dir.join("bootstrap-json.toml")).expect("removing an app");
    std::fs::write(
        apps_dir.join("execs.toml"),
        format!("source = \"{json_app}\"\n"),
    )
    .expect("adding an app");
    let changed = get_until(metrics, "/metrics", PATIENCE, |r| {
        sample(&r.body, "wasm_bpf_links{app=\"execs\"}") == Some(2.0)
            && sample(&r.body, "wasm_bpf_links{app=\"bootstrap-json\"}").is_none()
    })
    .expect("a scrape");
    assert_eq!(
        sample(&changed.body, "wasm_bpf_links{app=\"execs\"}"),
        Some(2.0),
        "{}",
        changed.body
    );
    assert_eq!(
        sample(&changed.body, "wasm_bpf_apps{state=\"running\"}"),
        Some(2.0),
        "{}",
        changed.body
    );
    nap(dir, "k8snew");
    let deadline = Instant::now() + PATIENCE;
    while records(&logs(&podman), "execs", "k8snew") < 6 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = logs(&podman);
    eprintln!("the pod's log\n{log}");
    assert_eq!(records(&log, "execs", "k8snew"), 6, "{log}");
    assert_eq!(records(&log, "bootstrap-json", "k8snew"), 0, "{log}");
    assert_eq!(agent_pid(&podman), pid, "the pod was not restarted");

    let held = bpf_ids(pid);
    assert_eq!(held.links.len(), 4, "{held:?}");
    podman.podman(&["pod", "stop", "--time", "10", "wasm-bpf-agent"]);
    let code = podman.podman(&[
        "inspect",
        "--format",
        "{{.State.ExitCode}}",
        "wasm-bpf-agent-agent",
    ]);
    // Every app returns when SIGTERM asks it to stop: a clean exit.
    assert_eq!(code.trim(), "0", "SIGTERM ends the agent cleanly");
    assert_freed(&held);
    podman.podman(&["pod", "rm", "wasm-bpf-agent"]);
}
