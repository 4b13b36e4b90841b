//! `deploy/`: the agent image and the Kubernetes manifests.
//!
//! There is no cluster here. What is proven: the kustomize base and
//! overlays render and pass a strict schema validation offline; the
//! DaemonSet asks for what the README says (host PID namespace, three
//! capabilities, read-only kernel mounts, scrape annotations, limits, an
//! app pinned by digest); and its pod template, rendered as a Pod by
//! `deploy/kubernetes/pod.py`, runs under podman with the image built by
//! `deploy/image/build.sh`, pulling the image and a signed app from a
//! local registry, with the policy and key from the ConfigMap, until real
//! events show in its log and on its `/metrics`. The test's own overlay
//! changes only what this machine needs: the registry's address, the key,
//! the host's network (the registry listens on loopback) and a state
//! directory of its own. Scheduling across nodes is not proven.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::http::{free_address, get_until, sample};
use common::registry::Registry;
use common::*;
use serde_json::Value;

const PATIENCE: Duration = Duration::from_secs(90);
const OVERLAYS: [&str; 2] = ["json-logs", "metrics"];

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
    for dir in ["base", "overlays/json-logs", "overlays/metrics"] {
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
        // The app comes last, pinned by digest, signed by the policy's key.
        let args = args(pod);
        let app = args.last().expect("an app");
        let digest = app
            .rsplit_once("@sha256:")
            .map(|(_, d)| d)
            .unwrap_or_default();
        assert!(
            digest.len() == 64 && digest.chars().all(|c| c.is_ascii_hexdigit()),
            "{overlay}: the app is not pinned by digest: {app}"
        );
        assert!(args.contains(&"--policy=/etc/wasm-bpf/policy/policy.toml".to_string()));
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
/// registry's image and app, this key, the host's network with the
/// metrics on `metrics`, and a state directory of its own.
fn test_overlay(
    dir: &Path,
    overlay: &str,
    registry: &Registry,
    app: &str,
    metrics: std::net::SocketAddr,
) -> PathBuf {
    let repo_overlay = deploy().join("overlays").join(overlay);
    let rendered = kustomize(&repo_overlay);
    let documents = documents(&rendered);
    let pod = pod(&documents);
    let args = args(pod);
    let at = |prefix: &str| {
        args.iter()
            .position(|a| a.starts_with(prefix))
            .unwrap_or_else(|| panic!("no argument {prefix}: {args:?}"))
    };
    let (app_at, metrics_at) = (at("registry.example.com/apps/"), at("--metrics="));
    let volumes = pod["spec"]["volumes"].as_array().expect("volumes");
    let state_at = volumes
        .iter()
        .position(|v| v["name"] == "state")
        .expect("a state volume");
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
            format!("replace /spec/template/spec/containers/0/args/{app_at} {app}"),
            format!(
                "replace /spec/template/spec/containers/0/args/{metrics_at} --metrics={metrics}"
            ),
            "add /spec/template/spec/hostNetwork true".to_string(),
            "remove /spec/template/spec/containers/0/ports".to_string(),
            format!(
                "replace /spec/template/spec/volumes/{state_at}/hostPath/path {}",
                state.display()
            ),
        ]
        .iter()
        .map(|op| json_patch_op(op))
        .collect::<String>(),
    );
    std::fs::write(overlay_dir.join("kustomization.yaml"), kustomization).expect("writing it");
    overlay_dir
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

#[test]
fn the_overlays_run_as_pods_from_a_local_registry() {
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

    for overlay in OVERLAYS {
        let consumer = if overlay == "metrics" {
            "metrics"
        } else {
            "json"
        };
        let app = push_app(&registry, &format!("bootstrap-{consumer}"), consumer, &key);
        let metrics = free_address();
        let overlay_dir = test_overlay(dir, overlay, &registry, &app, metrics);
        let pod_yaml = dir.join(format!("{overlay}.yaml"));
        std::fs::write(&pod_yaml, pod_py(&kustomize(&overlay_dir), &[])).expect("writing the pod");
        let yaml = pod_yaml.to_str().expect("utf-8 path");
        podman.podman(&["kube", "play", "--quiet", "--tls-verify=false", yaml]);

        let ready = get_until(metrics, "/healthz", PATIENCE, |r| r.status == 200);
        assert!(
            ready.is_some_and(|r| r.status == 200),
            "{overlay}: never ready; log:\n{}",
            logs(&podman)
        );
        let name = format!("k8s{}", &overlay[..4]);
        let napper = dir.join(&name);
        std::fs::copy(sleep_path(), &napper).expect("copying sleep");
        for _ in 0..3 {
            assert!(Command::new(&napper)
                .arg("0.2")
                .status()
                .expect("napping")
                .success());
        }
        if overlay == "metrics" {
            let series = format!("probe_records_total{{comm=\"{name}\"}}");
            let scrape = get_until(metrics, "/metrics", PATIENCE, |r| {
                sample(&r.body, &series) >= Some(6.0)
            })
            .expect("a scrape");
            eprintln!("{overlay}: /metrics\n{}", scrape.body);
            assert_eq!(sample(&scrape.body, &series), Some(6.0), "{}", scrape.body);
            assert_eq!(
                sample(&scrape.body, "wasm_bpf_links"),
                Some(2.0),
                "{}",
                scrape.body
            );
        } else {
            let deadline = Instant::now() + PATIENCE;
            let needle = format!("\"comm\":\"{name}\"");
            while logs(&podman).matches(&needle).count() < 6 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(100));
            }
            let log = logs(&podman);
            assert_eq!(log.matches(&needle).count(), 6, "{log}");
        }
        let log = logs(&podman);
        eprintln!("{overlay}: the pod's log\n{log}");
        // The host's own messages are JSON lines naming what runs.
        let digest = app.rsplit_once('@').map(|(_, d)| d).expect("a digest");
        let running = log
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|v| v["target"] == "wasm_bpf::cli")
            .unwrap_or_else(|| panic!("no JSON line of the host's:\n{log}"));
        assert!(
            running["message"]
                .as_str()
                .is_some_and(|m| m.contains(digest)),
            "{running}"
        );

        let pid: u32 = podman
            .podman(&[
                "inspect",
                "--format",
                "{{.State.Pid}}",
                "wasm-bpf-agent-agent",
            ])
            .trim()
            .parse()
            .expect("the agent's pid");
        let held = bpf_ids(pid);
        assert_eq!(held.links.len(), 2, "{held:?}");
        podman.podman(&["pod", "stop", "--time", "10", "wasm-bpf-agent"]);
        let code = podman.podman(&[
            "inspect",
            "--format",
            "{{.State.ExitCode}}",
            "wasm-bpf-agent-agent",
        ]);
        // The app returns when SIGTERM asks it to stop: a clean exit.
        assert_eq!(code.trim(), "0", "SIGTERM ends the agent cleanly");
        assert_freed(&held);
        podman.podman(&["pod", "rm", "wasm-bpf-agent"]);
    }
}
