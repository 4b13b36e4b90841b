//! Apps shared through a real OCI registry (Debian's docker-registry on
//! 127.0.0.1, started by each test): push, pull and run by tag and by
//! digest, offline runs from the store, other clients (skopeo, the `oras`
//! Python package) reading ours and writing what we run, credentials, TLS
//! with a private CA, and bad artifacts refused with nothing stored.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::registry::{key_pair, skopeo, Options, Registry, User};
use common::{guest, root, sleep_path, Running};

impl User {
    /// `wasm-bpf run HOST_ARGS APP` traces a process this test starts, as
    /// bootstrap does; standard error (with `-v`, where the app came from).
    fn traces(&self, host_args: &[&str], app: &str) -> String {
        let mut command = self.command(&["run", "-v"]);
        command.args(host_args).arg(app);
        let mut running = Running::spawn(command);
        let header = running.wait_line(Duration::from_secs(30), |l| l.starts_with("TIME"));
        assert!(header.is_some(), "no header: {}", running.stderr());
        let mut sleep = Command::new(sleep_path())
            .arg("0")
            .spawn()
            .expect("spawning sleep");
        let pid = sleep.id().to_string();
        sleep.wait().expect("waiting for sleep");
        let exec = running.wait_line(Duration::from_secs(10), |l| {
            let fields: Vec<&str> = l.split_whitespace().collect();
            fields.get(1) == Some(&"EXEC") && fields.get(3) == Some(&pid.as_str())
        });
        assert!(exec.is_some(), "no EXEC of {pid}: {:?}", running.seen);
        running.signal(libc::SIGINT);
        let status = running.wait_exit(Duration::from_secs(10)).expect("exit");
        assert_eq!(status.code(), Some(0), "{}", running.stderr());
        running.stderr()
    }
}

fn bootstrap() -> String {
    guest("bootstrap").display().to_string()
}

impl User {
    /// Pushes bootstrap as `tag` to the plain-HTTP registry `addr`; the
    /// manifest digest `push` printed.
    fn push_bootstrap(&self, addr: &str, tag: &str) -> String {
        pushed_digest(
            &self.ok(&["push", &bootstrap(), tag, "--insecure-registry", addr]),
            tag,
        )
    }
}

/// The manifest of `reference` in a plain-HTTP registry, as skopeo reads
/// it: its exact text, and parsed.
fn skopeo_manifest(reference: &str) -> (String, serde_json::Value) {
    let raw = skopeo(&[
        "inspect",
        "--raw",
        "--tls-verify=false",
        &format!("docker://{reference}"),
    ]);
    let parsed = serde_json::from_str(&raw).expect("manifest JSON");
    (raw, parsed)
}

/// `push` prints `REF@DIGEST`; the digest.
fn pushed_digest(stdout: &str, reference: &str) -> String {
    let line = stdout.trim();
    let digest = line
        .strip_prefix(&format!("{reference}@"))
        .unwrap_or_else(|| panic!("push printed {line:?}"));
    assert!(
        digest.starts_with("sha256:") && digest.len() == 71,
        "{digest}"
    );
    digest.to_string()
}

#[test]
fn push_pull_and_run_by_tag_and_by_digest_then_offline() {
    let mut registry = Registry::start();
    let user = User::new();
    let addr = registry.addr.clone();
    let insecure = ["--insecure-registry", addr.as_str()];
    let tag = format!("{}/tools/bootstrap:1.0", registry.addr);

    let digest = user.push_bootstrap(&addr, &tag);
    assert_eq!(user.compiled(), 0, "push compiles nothing");

    // Pulling stores the app and compiles it, so the first run is warm.
    let pulled = user.ok(&[&["pull", &tag], &insecure[..]].concat());
    assert_eq!(pulled.trim(), format!("{tag} {digest}"));
    assert_eq!(user.compiled(), 1, "pull fills the compile cache");
    let images = user.ok(&["images"]);
    let row = images
        .lines()
        .find(|l| l.starts_with(&tag))
        .unwrap_or_else(|| panic!("images: {images}"));
    assert!(row.contains(&digest[..19]), "{row}");
    assert!(row.ends_with("none"), "bootstrap needs no grant: {row}");

    let stderr = user.traces(&insecure, &tag);
    assert!(
        stderr.contains(&format!("running {tag} ({digest}) from the store")),
        "{stderr}"
    );

    // By digest, from another user's empty store: pulled on demand.
    let other = User::new();
    let pinned = format!("{}/tools/bootstrap@{digest}", registry.addr);
    other.traces(&insecure, &pinned);

    // The registry gone, both run from their stores.
    registry.stop();
    user.traces(&[], &tag);
    user.traces(&["--pull", "never"], &pinned);
    other.traces(&[], &pinned);
    let error = user.fails(&[&["pull", &tag], &insecure[..]].concat());
    assert!(error.contains(&format!("pulling {tag}")), "{error}");
    let error = user.fails(&[&["run", "--pull", "always"], &insecure[..], &[&tag]].concat());
    assert!(error.contains(&format!("pulling {tag}")), "{error}");

    // A reference never stored, with fetching forbidden.
    let missing = format!("{}/tools/missing:1", registry.addr);
    let error = user.fails(&["run", "--pull", "never", &missing]);
    assert!(
        error.contains(&format!("{missing} is not in the local store"))
            && error.contains("--pull never"),
        "{error}"
    );

    // A file wins over a reference; a missing file is not taken for one.
    let error = user.fails(&["run", "no-such-app.wasm"]);
    assert!(error.contains("no-such-app.wasm"), "{error}");
    assert!(!error.contains("registry"), "{error}");
}

#[test]
fn removing_an_image_frees_its_blobs() {
    let registry = Registry::start();
    let user = User::new();
    let insecure = ["--insecure-registry", registry.addr.as_str()];
    let one = format!("{}/tools/bootstrap:1", registry.addr);
    let two = format!("{}/tools/bootstrap:2", registry.addr);
    for tag in [&one, &two] {
        user.push_bootstrap(&registry.addr, tag);
        user.ok(&[&["pull", tag], &insecure[..]].concat());
    }
    // Two tags of the same file share its blobs (the config and manifest
    // too when pushed within the same second).
    let blobs = user.blobs().len();
    assert!((3..=5).contains(&blobs), "{blobs} blobs");

    assert_eq!(user.ok(&["rmi", &one]).trim(), format!("removed {one}"));
    assert!(!user.ok(&["images"]).contains(&one));
    assert!(!user.blobs().is_empty(), "tag 2 still needs its blobs");
    user.ok(&["rmi", &two]);
    assert_eq!(user.blobs(), Vec::<PathBuf>::new());
    let error = user.fails(&["rmi", &two]);
    assert!(error.contains("is not in the store"), "{error}");
}

/// The `oras` Python package (tests/machine.sh installs it in a venv).
fn oras_python() -> PathBuf {
    let python = root().join("target/tools/oras/bin/python");
    assert!(
        python.exists(),
        "{} is missing: tests/machine.sh setup installs oras",
        python.display()
    );
    python
}

/// Pushes `file` to `target` with oras: config and layer of the given media
/// types. `file` is given relative to `dir` (oras refuses absolute paths).
fn oras_push(dir: &Path, target: &str, file: &str, layer_type: &str, config_type: &str) {
    std::fs::write(
        dir.join("config.json"),
        r#"{"architecture":"wasm","os":"wasip2","layerDigests":[]}"#,
    )
    .expect("writing config.json");
    let script = "import sys, oras.client\n\
                  target, file, layer, config = sys.argv[1:]\n\
                  oras.client.OrasClient(insecure=True).push(target=target, \
                  files=[file + ':' + layer], manifest_config='config.json:' + config, \
                  disable_path_validation=True)\n";
    let out = Command::new(oras_python())
        .current_dir(dir)
        .args(["-c", script, target, file, layer_type, config_type])
        .output()
        .expect("running oras");
    assert!(
        out.status.success(),
        "oras push: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn other_clients_read_ours_and_we_run_theirs() {
    let registry = Registry::start();
    let user = User::new();
    let insecure = ["--insecure-registry", registry.addr.as_str()];
    let ours = format!("{}/tools/bootstrap:1.0", registry.addr);
    let digest = user.push_bootstrap(&registry.addr, &ours);

    // skopeo sees the CNCF Wasm artifact layout and our annotations.
    let (raw, manifest) = skopeo_manifest(&ours);
    assert_eq!(
        manifest["config"]["mediaType"],
        "application/vnd.wasm.config.v0+json"
    );
    assert_eq!(manifest["layers"][0]["mediaType"], "application/wasm");
    assert_eq!(manifest["layers"].as_array().map(Vec::len), Some(1));
    let report: serde_json::Value = serde_json::from_str(
        manifest["annotations"]["dev.wasm-bpf.inspect"]
            .as_str()
            .expect("the inspect annotation"),
    )
    .expect("report JSON");
    let programs = &report["objects"][0]["programs"];
    assert!(
        programs.as_array().is_some_and(|p| p
            .iter()
            .any(|p| p["section"] == "tp/sched/sched_process_exec")),
        "{report}"
    );
    assert!(manifest["annotations"]["org.opencontainers.image.created"].is_string());
    assert_eq!(
        manifest["annotations"]["org.opencontainers.image.version"],
        "1.0"
    );
    let config = skopeo(&[
        "inspect",
        "--config",
        "--raw",
        "--tls-verify=false",
        &format!("docker://{ours}"),
    ]);
    let config: serde_json::Value = serde_json::from_str(&config).expect("config JSON");
    assert_eq!(
        (&config["architecture"], &config["os"]),
        (&"wasm".into(), &"wasip2".into())
    );
    let imports = config["component"]["imports"].to_string();
    assert!(imports.contains("wasm-bpf:bpf/"), "{imports}");
    assert_eq!(
        config["layerDigests"][0], manifest["layers"][0]["digest"],
        "{config}"
    );

    // skopeo copies it byte for byte: the copy has our digest and runs.
    let copy = format!("{}/copied/bootstrap:1", registry.addr);
    skopeo(&[
        "copy",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        &format!("docker://{ours}"),
        &format!("docker://{copy}"),
    ]);
    let pulled = user.ok(&[&["pull", &copy], &insecure[..]].concat());
    assert_eq!(pulled.trim(), format!("{copy} {digest}"));
    user.traces(&[], &copy);

    // skopeo reads our store as the OCI image layout it is.
    let stored = skopeo(&[
        "inspect",
        "--raw",
        &format!("oci:{}:{copy}", user.store().display()),
    ]);
    assert_eq!(stored, raw);

    // oras pulls our component, named by its title annotation.
    let work = tempfile::tempdir().expect("tempdir");
    let script = "import sys, oras.client\n\
                  oras.client.OrasClient(insecure=True).pull(target=sys.argv[1], outdir='pulled')\n";
    let out = Command::new(oras_python())
        .current_dir(work.path())
        .args(["-c", script, &ours])
        .output()
        .expect("running oras");
    assert!(
        out.status.success(),
        "oras pull: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read(work.path().join("pulled/bootstrap.wasm")).expect("oras's file"),
        std::fs::read(guest("bootstrap")).expect("bootstrap.wasm")
    );

    // An artifact oras pushed (its own manifest, config and annotations).
    std::fs::copy(guest("bootstrap"), work.path().join("app.wasm")).expect("copying");
    let theirs = format!("{}/oras/bootstrap:1", registry.addr);
    oras_push(
        work.path(),
        &theirs,
        "app.wasm",
        "application/wasm",
        "application/vnd.wasm.config.v0+json",
    );
    user.traces(&insecure, &theirs);
}

#[test]
fn bad_artifacts_are_refused_and_nothing_is_stored() {
    let registry = Registry::start();
    let user = User::new();
    let insecure = ["--insecure-registry", registry.addr.as_str()];
    let work = tempfile::tempdir().expect("tempdir");
    std::fs::write(work.path().join("app.tar"), b"not an app").expect("writing");
    std::fs::write(work.path().join("notwasm.wasm"), b"#!/bin/sh\necho hi\n").expect("writing");

    let image = format!("{}/image/app:1", registry.addr);
    oras_push(
        work.path(),
        &image,
        "app.tar",
        "application/vnd.oci.image.layer.v1.tar",
        "application/vnd.oci.image.config.v1+json",
    );
    let error = user.fails(&[&["run"], &insecure[..], &[&image]].concat());
    assert!(error.contains("not a Wasm artifact"), "{error}");

    let fake = format!("{}/fake/app:1", registry.addr);
    oras_push(
        work.path(),
        &fake,
        "notwasm.wasm",
        "application/wasm",
        "application/vnd.wasm.config.v0+json",
    );
    let error = user.fails(&[&["pull", &fake], &insecure[..]].concat());
    assert!(error.contains("not WebAssembly"), "{error}");

    // The registry's copy of a blob changed behind its back.
    let tampered = format!("{}/tools/tampered:1", registry.addr);
    user.push_bootstrap(&registry.addr, &tampered);
    let (_, manifest) = skopeo_manifest(&tampered);
    let layer = manifest["layers"][0]["digest"]
        .as_str()
        .expect("layer digest");
    let file = registry.blob_file(layer);
    let mut bytes = std::fs::read(&file).expect("reading the registry's blob");
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&file, bytes).expect("tampering");
    let error = user.fails(&[&["run"], &insecure[..], &[&tampered]].concat());
    assert!(error.contains("does not match its digest"), "{error}");

    // A file that is not wasm is not pushed.
    let error = user.fails(
        &[
            &[
                "push",
                &work.path().join("app.tar").display().to_string(),
                &image,
            ],
            &insecure[..],
        ]
        .concat(),
    );
    assert!(
        error.contains("not a WebAssembly component or module"),
        "{error}"
    );

    assert!(!user.ok(&["images"]).contains(&registry.addr));
    assert_eq!(user.blobs(), Vec::<PathBuf>::new(), "nothing half-written");
}

#[test]
fn credentials_from_the_auth_file_or_the_command_line() {
    let registry = Registry::start_with(&Options {
        login: Some(("alice".into(), "s3cret".into())),
        tls: false,
    });
    let user = User::new();
    let insecure = ["--insecure-registry", registry.addr.as_str()];
    let tag = format!("{}/private/bootstrap:1", registry.addr);

    let error = user.fails(&[&["push", &bootstrap(), &tag], &insecure[..]].concat());
    assert!(error.to_lowercase().contains("unauthorized"), "{error}");
    let error = user.fails(
        &[
            &["push", &bootstrap(), &tag, "--creds", "alice:wrong"],
            &insecure[..],
        ]
        .concat(),
    );
    assert!(error.to_lowercase().contains("unauthorized"), "{error}");
    user.ok(&[
        &["push", &bootstrap(), &tag, "--creds", "alice:s3cret"],
        &insecure[..],
    ]
    .concat());

    // The auth file `podman login` writes (base64 of USER:PASS).
    let auth = user.home.path().join("auth.json");
    std::fs::write(
        &auth,
        format!(
            r#"{{"auths":{{"{}":{{"auth":"YWxpY2U6czNjcmV0"}}}}}}"#,
            registry.addr
        ),
    )
    .expect("writing auth.json");
    let mut pull = user.command(&[&["pull", &tag], &insecure[..]].concat());
    let out = pull
        .env("REGISTRY_AUTH_FILE", &auth)
        .output()
        .expect("pull");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    user.traces(&["--pull", "never"], &tag);
}

#[test]
fn tls_with_a_private_ca() {
    let registry = Registry::start_with(&Options {
        login: None,
        tls: true,
    });
    let user = User::new();
    let tag = format!("{}/tls/bootstrap:1", registry.addr);
    let ca = registry.ca().display().to_string();

    // HTTPS is the default; the private CA is unknown until given.
    let error = user.fails(&["push", &bootstrap(), &tag]);
    assert!(error.to_lowercase().contains("certificate"), "{error:?}");
    user.ok(&["push", &bootstrap(), &tag, "--registry-ca", &ca]);
    user.ok(&["pull", &tag, "--registry-ca", &ca]);
    user.traces(&["--pull", "never"], &tag);
}

/// The SHA-256 digest of `bytes`, by `sha256sum` (not our code).
fn sha256(bytes: &[u8]) -> String {
    let mut child = Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("running sha256sum");
    std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), bytes).expect("writing");
    let out = child.wait_with_output().expect("sha256sum");
    let hex = String::from_utf8_lossy(&out.stdout);
    format!(
        "sha256:{}",
        hex.split_whitespace().next().expect("a digest")
    )
}

#[test]
fn signatures_are_cosign_compatible_and_enforced() {
    let mut registry = Registry::start();
    let addr = registry.addr.clone();
    let user = User::new();
    let keys = tempfile::tempdir().expect("tempdir");
    let (key, public) = key_pair(keys.path(), "release");
    let (_, wrong) = key_pair(keys.path(), "wrong");
    let insecure = ["--insecure-registry", addr.as_str()];
    let signed = format!("{addr}/tools/signed:1");
    let unsigned = format!("{addr}/tools/unsigned:1");
    let digest = user.push_bootstrap(&addr, &signed);
    user.push_bootstrap(&addr, &unsigned);

    let out = user.ok(&[&["sign", &signed, "--key", &key], &insecure[..]].concat());
    let sig_tag = format!("{addr}/tools/signed:{}.sig", digest.replace(':', "-"));
    assert_eq!(
        out.trim(),
        format!("signed {addr}/tools/signed@{digest} as {sig_tag}")
    );
    let out = user.ok(&[
        &["verify", &signed, "--key", &wrong, "--key", &public],
        &insecure[..],
    ]
    .concat());
    assert!(out.contains(&format!("signed by {public}")), "{out}");
    let error = user.fails(&[&["verify", &signed, "--key", &wrong], &insecure[..]].concat());
    assert!(error.contains("matches none of the keys"), "{error}");
    let error = user.fails(&[&["verify", &unsigned, "--key", &public], &insecure[..]].concat());
    assert!(error.contains("is not signed"), "{error}");

    // Another implementation agrees: skopeo fetches the signature, the
    // payload names the manifest's digest as sha256sum computes it, and
    // openssl verifies the signature over the payload's bytes.
    let layout = keys.path().join("sig");
    skopeo(&[
        "copy",
        "--src-tls-verify=false",
        &format!("docker://{sig_tag}"),
        &format!("oci:{}:sig", layout.display()),
    ]);
    let raw = skopeo(&["inspect", "--raw", &format!("oci:{}:sig", layout.display())]);
    let manifest: serde_json::Value = serde_json::from_str(&raw).expect("manifest JSON");
    let layer = &manifest["layers"][0];
    assert_eq!(
        layer["mediaType"],
        "application/vnd.dev.cosign.simplesigning.v1+json"
    );
    let blob = |digest: &str| {
        layout
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:"))
    };
    let payload_file = blob(layer["digest"].as_str().expect("payload digest"));
    let payload: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&payload_file).expect("payload")).expect("JSON");
    let (app_manifest, _) = skopeo_manifest(&signed);
    assert_eq!(sha256(app_manifest.as_bytes()), digest);
    assert_eq!(
        payload["critical"]["image"]["docker-manifest-digest"],
        digest.as_str()
    );
    assert_eq!(
        payload["critical"]["type"],
        "cosign container image signature"
    );
    let signature = layer["annotations"]["dev.cosignproject.cosign/signature"]
        .as_str()
        .expect("signature annotation");
    let der = keys.path().join("sig.der");
    let decoded = Command::new("base64")
        .args(["-d"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            std::io::Write::write_all(
                &mut child.stdin.take().expect("stdin"),
                signature.as_bytes(),
            )?;
            child.wait_with_output()
        })
        .expect("base64 -d");
    std::fs::write(&der, decoded.stdout).expect("writing sig.der");
    let openssl = Command::new("openssl")
        .args(["dgst", "-sha256", "-verify", &public, "-signature"])
        .arg(&der)
        .arg(&payload_file)
        .output()
        .expect("openssl dgst");
    assert_eq!(
        String::from_utf8_lossy(&openssl.stdout).trim(),
        "Verified OK"
    );

    // Policy: signed runs; unsigned and wrongly signed are refused and
    // leave nothing in the store; allow-unsigned lets unsigned run.
    let verify = ["--verify-key", public.as_str()];
    user.traces(&[&insecure[..], &verify[..]].concat(), &signed);
    assert!(user
        .ok(&["images"])
        .lines()
        .any(|l| l.starts_with(&signed) && l.contains(" yes ")));
    let error = user.fails(&[&["run"], &insecure[..], &verify[..], &[&unsigned]].concat());
    assert!(error.contains("is not signed"), "{error}");
    let error = user.fails(&[&["run", "--verify-key", &wrong], &insecure[..], &[&signed]].concat());
    assert!(error.contains("matches none of the keys"), "{error}");
    assert!(!user.ok(&["images"]).contains(&unsigned));
    user.traces(
        &[&insecure[..], &verify[..], &["--allow-unsigned"]].concat(),
        &unsigned,
    );

    // allowed-images: by prefix, and by content.
    let error = user.fails(
        &[
            &["run", "--allowed-image", &format!("{addr}/other/*")],
            &insecure[..],
            &[&signed],
        ]
        .concat(),
    );
    assert!(error.contains("is not in allowed-images"), "{error}");
    let pin = format!("{addr}/tools/signed@{digest}");
    user.traces(&["--allowed-image", &pin], &signed);

    // The same from a policy file.
    let policy = keys.path().join("policy.toml");
    std::fs::write(
        &policy,
        format!("insecure-registry = [\"{addr}\"]\nverify-keys = [\"{public}\"]\n"),
    )
    .expect("writing the policy");
    let error = user.fails(&["run", "--policy", &policy.display().to_string(), &unsigned]);
    assert!(error.contains("is not signed"), "{error}");

    // The tag re-pushed with other content: its signature does not cover it.
    user.ok(&[
        &["push", &guest("host-api").display().to_string(), &signed],
        &insecure[..],
    ]
    .concat());
    let error = user.fails(
        &[
            &["run", "--pull", "always"],
            &insecure[..],
            &verify[..],
            &[&signed],
        ]
        .concat(),
    );
    assert!(error.contains("is not signed"), "{error}");

    // Offline, from the store's copy of the signature.
    registry.stop();
    user.traces(&verify, &signed);
    let error = user.fails(&["run", "--verify-key", &wrong, &signed]);
    assert!(error.contains("matches none of the keys"), "{error}");

    // A blob changed in the store is refused before anything runs.
    let app = std::fs::read_dir(user.store().join("blobs/sha256"))
        .expect("store blobs")
        .map(|e| e.expect("entry").path())
        .find(|p| std::fs::metadata(p).is_ok_and(|m| m.len() > 100_000))
        .expect("the component blob");
    let mut bytes = std::fs::read(&app).expect("reading the blob");
    bytes[100] ^= 1;
    std::fs::write(&app, bytes).expect("tampering");
    let error = user.fails(&["run", &signed]);
    assert!(error.contains("does not match its digest"), "{error}");
}

#[test]
fn inspect_before_pulling_and_carry_apps_without_a_registry() {
    let mut registry = Registry::start();
    let addr = registry.addr.clone();
    let insecure = ["--insecure-registry", addr.as_str()];
    let keys = tempfile::tempdir().expect("tempdir");
    let (key, public) = key_pair(keys.path(), "release");
    let online = User::new();
    let tag = format!("{addr}/tools/bootstrap:1.0");
    let digest = online.push_bootstrap(&addr, &tag);
    online.ok(&[&["sign", &tag, "--key", &key], &insecure[..]].concat());

    // inspect reads the registry's metadata and fetches no component.
    let report = online.ok(&[&["inspect", &tag], &insecure[..]].concat());
    assert!(
        report.contains(&format!("digest: {digest} (from the registry)")),
        "{report}"
    );
    assert!(
        report.contains("program handle_exec: section tp/sched/sched_process_exec"),
        "{report}"
    );
    assert!(report.contains("grants needed: none"), "{report}");
    assert_eq!(online.blobs(), Vec::<PathBuf>::new());

    online.ok(&[&["pull", &tag, "--verify-key", &public], &insecure[..]].concat());
    let archive = keys.path().join("app.tar");
    let archive_arg = archive.display().to_string();
    online.ok(&["export", &tag, "-o", &archive_arg]);
    registry.stop();

    // skopeo reads the archive as the OCI layout it is.
    let raw = skopeo(&[
        "inspect",
        "--raw",
        &format!("oci-archive:{archive_arg}:{tag}"),
    ]);
    assert_eq!(sha256(raw.as_bytes()), digest);

    // An air-gapped machine: import, then run with the signature checked.
    let offline = User::new();
    let imported = offline.ok(&["import", &archive_arg]);
    assert!(imported.contains(&format!("imported {tag}")), "{imported}");
    assert!(
        imported.contains(".sig"),
        "the signature travels too: {imported}"
    );
    offline.traces(&["--pull", "never", "--verify-key", &public], &tag);

    // A damaged archive imports nothing.
    let mut bytes = std::fs::read(&archive).expect("reading the archive");
    let at = bytes
        .windows(8)
        .position(|w| w == b"\0asm\x0d\0\x01\0")
        .expect("the component in the archive");
    bytes[at + 1000] ^= 1;
    let damaged = keys.path().join("damaged.tar");
    std::fs::write(&damaged, bytes).expect("writing");
    let third = User::new();
    let error = third.fails(&["import", &damaged.display().to_string()]);
    assert!(error.contains("does not match its digest"), "{error}");
    assert_eq!(third.blobs(), Vec::<PathBuf>::new());
}

#[test]
fn a_connection_dropped_mid_blob_stores_nothing() {
    let registry = Registry::start();
    let user = User::new();
    let tag = format!("{}/tools/bootstrap:1", registry.addr);
    user.push_bootstrap(&registry.addr, &tag);
    let (_, manifest) = skopeo_manifest(&tag);
    let layer = manifest["layers"][0]["digest"]
        .as_str()
        .expect("layer digest");

    // The same registry through a proxy that cuts the component's download
    // after 50 000 of its bytes (headers included).
    let proxy = common::registry::CuttingProxy::start(&registry.addr, layer, 50_000);
    let through = format!("{}/tools/bootstrap:1", proxy.addr);
    let error = user.fails(&["run", "--insecure-registry", &proxy.addr, &through]);
    assert!(
        error.contains(&format!("fetching blob {layer}")) && error.contains("mid-blob"),
        "{error}"
    );
    assert!(!user.ok(&["images"]).contains(&proxy.addr));
    assert_eq!(user.blobs(), Vec::<PathBuf>::new(), "nothing half-written");
}

#[test]
fn a_store_others_could_change_is_not_used() {
    use std::os::unix::fs::PermissionsExt as _;
    let registry = Registry::start();
    let user = User::new();
    let tag = format!("{}/tools/bootstrap:1", registry.addr);
    user.push_bootstrap(&registry.addr, &tag);
    user.ok(&["pull", &tag, "--insecure-registry", &registry.addr]);

    // A store directory others can write: they could swap the app.
    let store = user.store();
    std::fs::set_permissions(&store, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let error = user.fails(&["run", "--pull", "never", &tag]);
    assert!(error.contains("writable by others"), "{error}");
    std::fs::set_permissions(&store, std::fs::Permissions::from_mode(0o700)).expect("chmod");

    // A blob replaced by a symbolic link is not followed.
    let blobs = user.blobs();
    let component = blobs
        .iter()
        .find(|p| std::fs::metadata(p).is_ok_and(|m| m.len() > 100_000))
        .expect("the component blob");
    let elsewhere = user.home.path().join("elsewhere.wasm");
    std::fs::rename(component, &elsewhere).expect("moving the blob");
    std::os::unix::fs::symlink(&elsewhere, component).expect("symlink");
    let error = user.fails(&["run", "--pull", "never", &tag]);
    assert!(error.contains("symbolic link is not followed"), "{error}");
}

/// A stand-in registry (a Python HTTP server) answering every manifest
/// request with 1 GiB of JSON, sent as it is asked for: with its length
/// announced, or (`chunked`) without, ending when the connection does.
struct ManifestBomb {
    server: std::process::Child,
    addr: String,
}

impl ManifestBomb {
    fn start(announce_length: bool) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let script = "import http.server, sys\n\
            SIZE = 1 << 30\n\
            class H(http.server.BaseHTTPRequestHandler):\n\
            \x20   def do_GET(self):\n\
            \x20       if self.path == '/v2/':\n\
            \x20           self.send_response(200); self.send_header('Content-Length', '2'); self.end_headers(); self.wfile.write(b'{}'); return\n\
            \x20       self.send_response(200)\n\
            \x20       self.send_header('Content-Type', 'application/vnd.oci.image.manifest.v1+json')\n\
            \x20       if sys.argv[2] == 'yes': self.send_header('Content-Length', str(SIZE))\n\
            \x20       self.end_headers()\n\
            \x20       self.wfile.write(b'{\"a\":\"')\n\
            \x20       chunk = b'x' * (1 << 20)\n\
            \x20       try:\n\
            \x20           for _ in range(SIZE >> 20): self.wfile.write(chunk)\n\
            \x20       except OSError: pass\n\
            \x20   def log_message(self, *a): pass\n\
            http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()\n";
        let server = Command::new("python3")
            .args(["-c", script, &port.to_string()])
            .arg(if announce_length { "yes" } else { "no" })
            .spawn()
            .expect("starting the server");
        let addr = format!("127.0.0.1:{port}");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(&addr).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "the server did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { server, addr }
    }
}

impl Drop for ManifestBomb {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

/// A hostile registry's 1 GiB manifest is read only up to the 4 MiB
/// accepted, as it streams, whether its length is announced or not: the
/// host stays under 64 MiB (it took 2.1 GB when oci-client read the body
/// whole), and nothing is stored.
#[test]
fn a_manifest_bomb_is_refused_while_it_streams() {
    for announce_length in [true, false] {
        let bomb = ManifestBomb::start(announce_length);
        let user = User::new();
        let pulled = common::run_measured(user.command(&[
            "pull",
            &format!("{}/x/app:1", bomb.addr),
            "--insecure-registry",
            &bomb.addr,
        ]));
        assert_ne!(pulled.code, Some(0), "the pull succeeded");
        assert!(
            pulled.stderr.contains("at most 4194304 are accepted"),
            "{}",
            pulled.stderr
        );
        assert!(
            pulled.peak_kib < 64 * 1024,
            "length announced: {announce_length}: the host peaked at {} KiB",
            pulled.peak_kib
        );
        assert_eq!(user.blobs(), Vec::<PathBuf>::new());
    }
}

/// A file whose relative path reads like a registry reference is never
/// run in its place, and with keys or allowed images set a file runs only
/// with allow-files: before, `run 127.0.0.1:5000/apps/bootstrap:1` ran an
/// unsigned file of that name past verify-keys and allowed-images.
#[test]
fn a_file_named_like_a_reference_is_never_run_as_one() {
    let registry = Registry::start();
    let addr = registry.addr.clone();
    let user = User::new();
    let work = tempfile::tempdir().expect("tempdir");
    let keys = tempfile::tempdir().expect("tempdir");
    let (_, public) = key_pair(keys.path(), "release");
    let named = format!("{addr}/apps/bootstrap:1");
    std::fs::create_dir_all(work.path().join(format!("{addr}/apps"))).expect("directories");
    std::fs::copy(guest("bootstrap"), work.path().join(&named)).expect("copying");
    let policy = work.path().join("policy.toml");
    std::fs::write(
        &policy,
        format!(
            "insecure-registry = [\"{addr}\"]\nverify-keys = [\"{public}\"]\n\
             allowed-images = [\"{addr}/apps/*\"]\n"
        ),
    )
    .expect("writing the policy");
    let policy = policy.display().to_string();
    let run = |args: &[&str]| {
        let mut command = user.command(&[&["run", "--policy", &policy], args].concat());
        command.current_dir(work.path());
        command.output().expect("running wasm-bpf")
    };
    // The reference goes to the registry, which has no such app.
    let out = run(&[&named]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the file ran: {stderr}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("TIME"));
    assert!(
        stderr.contains("names a registry") && stderr.contains(&format!("./{named}")),
        "{stderr}"
    );
    // Written as a path, it is a file, which the policy does not admit.
    let out = run(&[&format!("./{named}")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the file ran: {stderr}");
    assert!(
        stderr.contains("is a local file") && stderr.contains("--allow-files"),
        "{stderr}"
    );
    // Nor does it admit a sink from a file.
    let out = run(&["--sink", &bootstrap(), &named]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--sink") && stderr.contains("is a local file"),
        "{stderr}"
    );
    // allow-files lets it run.
    let mut command = user.command(&[
        "run",
        "--policy",
        &policy,
        "--allow-files",
        "--timeout",
        "1s",
    ]);
    command.arg(format!("./{named}")).current_dir(work.path());
    let out = command.output().expect("running wasm-bpf");
    assert_eq!(
        out.status.code(),
        Some(124),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("TIME"));
}

/// Bootstrap pushed as `ADDR/tools/signed:1` to a registry of its own and
/// signed by a key of the test's.
struct Signed {
    registry: Registry,
    user: User,
    keys: tempfile::TempDir,
    public: String,
    signed: String,
    digest: String,
}

impl Signed {
    fn new() -> Self {
        let registry = Registry::start();
        let addr = registry.addr.clone();
        let user = User::new();
        let keys = tempfile::tempdir().expect("tempdir");
        let (key, public) = key_pair(keys.path(), "release");
        let signed = format!("{addr}/tools/signed:1");
        let digest = user.push_bootstrap(&addr, &signed);
        user.ok(&["sign", &signed, "--key", &key, "--insecure-registry", &addr]);
        Self {
            registry,
            user,
            keys,
            public,
            signed,
            digest,
        }
    }
}

/// A signature names the repository it vouches for: the same content and
/// signature copied to another repository (skopeo copies both, digests
/// unchanged) is refused there, unless the policy says that repository
/// mirrors the signed one.
#[test]
fn a_signature_vouches_only_for_its_own_repository() {
    let Signed {
        registry,
        user,
        keys: _keys,
        public,
        signed,
        digest,
    } = Signed::new();
    let addr = registry.addr.clone();
    let insecure = ["--insecure-registry", addr.as_str()];
    let sig_tag = format!("{}.sig", digest.replace(':', "-"));
    let copied = format!("{addr}/mirror/signed:1");
    for (from, to) in [
        (signed.clone(), copied.clone()),
        (
            format!("{addr}/tools/signed:{sig_tag}"),
            format!("{addr}/mirror/signed:{sig_tag}"),
        ),
    ] {
        skopeo(&[
            "copy",
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
            "--preserve-digests",
            &format!("docker://{from}"),
            &format!("docker://{to}"),
        ]);
    }
    let verify = ["--verify-key", public.as_str()];
    let error = user.fails(&[&["run"], &insecure[..], &verify[..], &[&copied]].concat());
    assert!(
        error.contains(&format!(
            "the signature is for repository {addr}/tools/signed"
        )),
        "{error}"
    );
    let remap = format!("{addr}/mirror/={addr}/tools/");
    user.traces(
        &[&insecure[..], &verify[..], &["--remap-identity", &remap]].concat(),
        &copied,
    );
}

/// Signatures are fetched only when a key will verify them: a pull with
/// no key stores none; a later run with a key fetches them then; and a
/// signature manifest of more than 16 signatures is not read.
#[test]
fn signatures_are_fetched_to_be_verified_and_bounded() {
    let Signed {
        registry,
        user,
        keys,
        public,
        signed,
        digest: _,
    } = Signed::new();
    let addr = registry.addr.clone();
    let insecure = ["--insecure-registry", addr.as_str()];

    user.ok(&[&["pull", &signed], &insecure[..]].concat());
    // `images`' SIGNED column.
    let listed_signed = |user: &User, yes_no: &str| {
        let images = user.ok(&["images"]);
        images
            .lines()
            .any(|l| l.starts_with(&signed) && l.contains(&format!(" {yes_no} ")))
    };
    assert!(listed_signed(&user, "no"));
    user.traces(
        &[&insecure[..], &["--verify-key", &public]].concat(),
        &signed,
    );
    assert!(listed_signed(&user, "yes"));

    for n in 0..16 {
        let (other, _) = key_pair(keys.path(), &format!("k{n}"));
        user.ok(&[&["sign", &signed, "--key", &other], &insecure[..]].concat());
    }
    let error = user.fails(&[&["verify", &signed, "--key", &public], &insecure[..]].concat());
    assert!(
        error.contains("17 signatures; at most 16 are read"),
        "{error}"
    );
}
