//! A real OCI registry for the tests: Debian's `docker-registry`
//! (distribution 2.8) on 127.0.0.1, with a config file of our own (the
//! package's listens on every interface), storage in a temporary directory,
//! optionally behind basic auth (htpasswd) or TLS with a private CA.
//! It stops when dropped. Its clients: [`User`], a `wasm-bpf` user with a
//! home of their own, and [`skopeo`].

use std::io::Write as _;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// What the registry asks of its clients.
#[derive(Debug, Default, Clone)]
pub struct Options {
    /// Basic auth with this user and password.
    pub login: Option<(String, String)>,
    /// TLS with a certificate for 127.0.0.1 signed by a CA of the test's.
    pub tls: bool,
}

pub struct Registry {
    child: Option<Child>,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    pub dir: tempfile::TempDir,
}

/// A CA and a certificate for 127.0.0.1 it signed, made with openssl.
fn make_certs(dir: &Path) {
    let ssl = |args: &str, subject: &str| {
        let mut command = Command::new("openssl");
        command.args(args.split_whitespace()).current_dir(dir);
        if !subject.is_empty() {
            command.args(["-subj", subject]);
        }
        super::run_ok(&mut command);
    };
    let key = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";
    ssl(
        &format!("req -x509 {key} -keyout ca.key -out ca.pem -days 2"),
        "/CN=wasm-bpf test CA",
    );
    ssl(
        &format!("req {key} -keyout server.key -out server.csr"),
        "/CN=127.0.0.1",
    );
    std::fs::write(
        dir.join("san.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n",
    )
    .expect("writing san.ext");
    ssl(
        "x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
         -out server.pem -days 2 -extfile san.ext",
        "",
    );
}

impl Registry {
    pub fn start() -> Self {
        Self::start_with(&Options::default())
    }

    pub fn start_with(options: &Options) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        // A free port: the kernel picks one, the registry takes it over.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("finding a free port")
            .port();
        let addr = format!("127.0.0.1:{port}");
        let mut config = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n  \
             delete:\n    enabled: true\nhttp:\n  addr: {addr}\n",
            dir.path().join("data").display()
        );
        if options.tls {
            make_certs(dir.path());
            config += &format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                dir.path().join("server.pem").display(),
                dir.path().join("server.key").display()
            );
        }
        if let Some((user, pass)) = &options.login {
            let out = Command::new("htpasswd")
                .args(["-Bbn", user, pass])
                .output()
                .expect("running htpasswd (apache2-utils; tests/machine.sh setup)");
            std::fs::write(dir.path().join("htpasswd"), out.stdout).expect("writing htpasswd");
            config += &format!(
                "auth:\n  htpasswd:\n    realm: test\n    path: {}\n",
                dir.path().join("htpasswd").display()
            );
        }
        let config_path = dir.path().join("config.yml");
        std::fs::File::create(&config_path)
            .and_then(|mut f| f.write_all(config.as_bytes()))
            .expect("writing the registry config");
        let mut registry = Self {
            child: None,
            addr,
            dir,
        };
        registry.serve();
        registry
    }

    /// Starts (again) serving the same storage on the same address.
    pub fn serve(&mut self) {
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(self.dir.path().join("config.yml"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting docker-registry (tests/machine.sh setup installs it)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(&self.addr).is_err() {
            assert!(Instant::now() < deadline, "the registry did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the registry (its storage stays).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The CA that signed the TLS certificate.
    pub fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// The file the registry keeps blob `digest` in.
    pub fn blob_file(&self, digest: &str) -> PathBuf {
        let hex = digest.trim_start_matches("sha256:");
        self.dir
            .path()
            .join("data/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A TCP proxy in front of a registry that cuts the connection in the
/// middle of any response to a request containing `cut_on` (e.g. a blob's
/// digest): the headers and `keep` bytes get through, then nothing.
pub struct CuttingProxy {
    pub addr: String,
}

impl CuttingProxy {
    pub fn start(upstream: &str, cut_on: &str, keep: usize) -> Self {
        use std::io::Read as _;
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::Arc;

        let listener = TcpListener::bind("127.0.0.1:0").expect("binding the proxy");
        let addr = listener.local_addr().expect("proxy address").to_string();
        let upstream = upstream.to_string();
        let cut_on = cut_on.to_string();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(mut client) = client else { return };
                let Ok(mut server) = TcpStream::connect(&upstream) else {
                    return;
                };
                let cut = Arc::new(AtomicBool::new(false));
                let (mut client_in, mut server_out) = (
                    client.try_clone().expect("clone"),
                    server.try_clone().expect("clone"),
                );
                let seen = Arc::clone(&cut);
                let needle = cut_on.clone();
                std::thread::spawn(move || {
                    let mut buf = [0; 16384];
                    while let Ok(n @ 1..) = client_in.read(&mut buf) {
                        if String::from_utf8_lossy(&buf[..n]).contains(&needle) {
                            seen.store(true, Ordering::SeqCst);
                        }
                        if server_out.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                });
                std::thread::spawn(move || {
                    let mut buf = [0; 16384];
                    let mut sent_after_cut = 0;
                    while let Ok(n @ 1..) = server.read(&mut buf) {
                        let mut n = n;
                        if cut.load(Ordering::SeqCst) {
                            n = n.min(keep.saturating_sub(sent_after_cut));
                            sent_after_cut += n;
                        }
                        if client.write_all(&buf[..n]).is_err() {
                            break;
                        }
                        if cut.load(Ordering::SeqCst) && sent_after_cut >= keep {
                            let _ = client.shutdown(std::net::Shutdown::Both);
                            let _ = server.shutdown(std::net::Shutdown::Both);
                            break;
                        }
                    }
                });
            }
        });
        Self { addr }
    }
}

/// A user of `wasm-bpf` with a home of their own: an empty store, compile
/// cache and auth file.
pub struct User {
    pub home: tempfile::TempDir,
}

impl User {
    pub fn new() -> Self {
        Self {
            home: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = super::wasm_bpf();
        command
            .args(args)
            .env("HOME", self.home.path())
            .env("XDG_DATA_HOME", self.home.path().join("data"))
            .env("XDG_CACHE_HOME", self.home.path().join("cache"))
            .env_remove("REGISTRY_AUTH_FILE")
            .env_remove("DOCKER_CONFIG")
            .env_remove("XDG_RUNTIME_DIR");
        command
    }

    pub fn output(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("running wasm-bpf")
    }

    /// Runs `wasm-bpf ARGS`, which must succeed; its standard output.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.output(args);
        assert!(
            out.status.success(),
            "wasm-bpf {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs `wasm-bpf ARGS`, which must fail; its standard error.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.output(args);
        assert!(!out.status.success(), "wasm-bpf {args:?} succeeded");
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    pub fn store(&self) -> PathBuf {
        self.home.path().join("data/wasm-bpf/store")
    }

    /// The blobs in the store.
    pub fn blobs(&self) -> Vec<PathBuf> {
        match std::fs::read_dir(self.store().join("blobs/sha256")) {
            Ok(dir) => dir.map(|e| e.expect("dir entry").path()).collect(),
            Err(_) => Vec::new(),
        }
    }

    /// The compiled components in the compile cache.
    pub fn compiled(&self) -> usize {
        std::fs::read_dir(self.home.path().join("cache/wasm-bpf"))
            .map(|dir| dir.count())
            .unwrap_or(0)
    }
}

/// An ECDSA P-256 key pair made by openssl: (private, public) PEM files.
pub fn key_pair(dir: &Path, name: &str) -> (String, String) {
    let private = dir.join(format!("{name}.pem"));
    let public = dir.join(format!("{name}.pub"));
    for args in [
        vec![
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
        ],
        vec!["pkey", "-pubout", "-in"],
    ] {
        let mut command = Command::new("openssl");
        command.args(&args);
        if args[0] == "genpkey" {
            command.arg(&private);
        } else {
            command.arg(&private).arg("-out").arg(&public);
        }
        let out = command.output().expect("running openssl");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    (private.display().to_string(), public.display().to_string())
}

/// Runs skopeo, which must succeed; its standard output.
pub fn skopeo(args: &[&str]) -> String {
    let out = Command::new("skopeo")
        .args(args)
        .output()
        .expect("running skopeo (tests/machine.sh setup installs it)");
    assert!(
        out.status.success(),
        "skopeo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
