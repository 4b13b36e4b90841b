//! What every guest run needs, a component's or a legacy core module's:
//! what to run and how it ended, the engine, the epoch ticker, the
//! watchers for signals and the timeout, the guest's WASI and BPF
//! contexts, and the race between the guest and the interrupt.
//!
//! [`crate::run`] runs components and [`crate::legacy`] core modules, both
//! on this; neither depends on the other's internals.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use wasmtime::error::Context as _;
use wasmtime::{Config, Engine, Result, Store};
use wasmtime_wasi::{FsPerms, I32Exit, WasiCtx, WasiCtxBuilder};

use crate::bpf::grants::Grants;
use crate::bpf::policy::Policy;
use crate::interrupt::{Cause, Stop};
use crate::observe::{GuestMetrics, Observer, Unobserved};
use crate::output::{Output, Pipe, Stream};
use crate::BpfCtx;

/// How often the engine's epoch advances; a busy guest yields this often.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// How long a forced stop waits for the guest's run to end (a guest in
/// wasm or waiting ends within a tick) before the process exits anyway,
/// from a thread blocked in a system call.
pub const WATCHDOG: Duration = Duration::from_secs(1);

/// The guest to run.
#[derive(Debug, Clone)]
pub enum Source {
    /// A component, a core module, or a component `wasm-bpf compile`
    /// made, read from this file.
    File(PathBuf),
    /// A component in memory (as `run --sink` composes one); `name` says
    /// where it came from in messages.
    Bytes { name: String, bytes: Vec<u8> },
}

impl Default for Source {
    fn default() -> Self {
        Self::File(PathBuf::new())
    }
}

impl Source {
    /// Where the guest came from, for messages.
    pub fn name(&self) -> Cow<'_, str> {
        match self {
            Self::File(path) => path.to_string_lossy(),
            Self::Bytes { name, .. } => Cow::Borrowed(name),
        }
    }

    /// The file, for a guest read from one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Self::File(path) => Some(path),
            Self::Bytes { .. } => None,
        }
    }

    /// The guest's bytes.
    pub fn bytes(&self) -> Result<Cow<'_, [u8]>> {
        match self {
            Self::File(path) => std::fs::read(path)
                .map(Cow::Owned)
                .with_context(|| format!("loading component {}", path.display())),
            Self::Bytes { bytes, .. } => Ok(Cow::Borrowed(bytes)),
        }
    }
}

/// What to run and what the guest may see.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// The component or core module.
    pub component: Source,
    /// The guest's `argv[0]`.
    pub program_name: String,
    /// Arguments after `argv[0]`.
    pub args: Vec<String>,
    /// Environment variables the guest sees (none by default).
    pub env: Vec<(String, String)>,
    /// Host directories the guest may open, with the path it sees them at.
    pub dirs: Vec<(PathBuf, String)>,
    /// Stop the guest after this long, counted from when it starts (after
    /// compiling and instantiating it).
    pub timeout: Option<Duration>,
    /// How long a guest asked to stop (a signal, the timeout) has to
    /// finish before it is stopped where it is.
    pub grace: Duration,
    /// Most bytes of linear memory the guest may have.
    pub max_memory: usize,
    /// What the guest may load and attach beyond tracing.
    pub policy: Policy,
    /// Where compiled components are cached; `None` compiles every time.
    pub cache: Option<crate::component::Cache>,
    /// A kernel BTF file for CO-RE relocations, instead of the running
    /// kernel's (for kernels built without BTF).
    pub kernel_btf: Option<PathBuf>,
    /// Who watches the run (`--metrics`; [`Unobserved`](crate::observe::Unobserved)
    /// for no one).
    pub observer: Arc<dyn Observer>,
    /// Where the metrics the guest declares are kept.
    pub guest_metrics: Arc<GuestMetrics>,
    /// Where the guest's stdout and stderr go; `None` for the process's.
    pub output: Option<Arc<dyn Output>>,
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            component: Source::default(),
            program_name: String::new(),
            args: Vec::new(),
            env: Vec::new(),
            dirs: Vec::new(),
            timeout: None,
            grace: Duration::ZERO,
            max_memory: 0,
            policy: Policy::default(),
            cache: None,
            kernel_btf: None,
            observer: Arc::new(Unobserved),
            guest_metrics: Arc::default(),
            output: None,
        }
    }
}

/// How a guest run ended.
#[derive(Debug)]
pub enum Outcome {
    /// The guest returned or called `exit` with this status.
    Exited(i32),
    /// SIGINT or SIGTERM (the number) stopped the guest where it was: the
    /// grace period passed, or a second signal came.
    Signaled(i32),
    /// The timeout stopped the guest.
    TimedOut,
    /// The guest trapped.
    Trapped(wasmtime::Error),
}

impl Outcome {
    /// The exit status the host process should end with: the guest's own,
    /// 128 + signal for a signal that had to stop it where it was (130 for
    /// SIGINT, 143 for SIGTERM), 124 for the timeout (as `timeout(1)`), 134 for a trap (as wasmtime, an abort).
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Exited(code) => *code,
            Self::Signaled(signal) => 128 + signal,
            Self::TimedOut => 124,
            Self::Trapped(_) => 128 + libc::SIGABRT,
        }
    }
}

/// The engine every guest runs on (and `wasm-bpf compile` compiles for:
/// its settings are part of a compiled component's identity).
pub fn engine() -> Result<Engine> {
    let mut config = Config::new();
    config.wasm_component_model(true).epoch_interruption(true);
    Engine::new(&config)
}

/// Advances `engine`'s epoch every tick until dropped.
pub(crate) struct EpochTicker(Arc<AtomicBool>);

impl EpochTicker {
    pub(crate) fn start(engine: &Engine) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let engine = engine.clone();
        let stopped = Arc::clone(&stop);
        std::thread::spawn(move || {
            while !stopped.load(Ordering::Relaxed) {
                std::thread::sleep(EPOCH_TICK);
                engine.increment_epoch();
            }
        });
        Self(stop)
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Asks the guest to stop on SIGINT or SIGTERM, or once the timeout
/// passes, and forces the stop after the grace period or at a second
/// signal; from threads of their own, as the runtime's thread may be
/// blocked in a buffer's `epoll_wait`. Dropping it stops the watching.
pub(crate) struct Watchers {
    signals: Option<signal_hook::iterator::Handle>,
    stop: Arc<Stop>,
    grace: Duration,
    _timer: Option<mpsc::Sender<()>>,
}

/// Asks the guest to stop, and forces it once `grace` has passed.
pub fn request_stop(stop: &Arc<Stop>, cause: Cause, grace: Duration) {
    if !stop.requested.fire(cause) {
        return;
    }
    if grace.is_zero() {
        force_stop(stop, cause);
        return;
    }
    let stop = Arc::clone(stop);
    std::thread::spawn(move || {
        std::thread::sleep(grace);
        force_stop(&stop, cause);
    });
}

/// Stops the guest where it is. If its run has not ended within
/// [`WATCHDOG`] (a thread of the host is blocked in a system call that
/// nothing interrupts), the process exits with the stop's status, the
/// kernel freeing every program, map and link as the fds close; unless
/// the process runs other guests too ([`Stop::shares_process`]): then the
/// stuck run is reported, and ends, freeing its objects, when the call
/// returns.
pub fn force_stop(stop: &Arc<Stop>, cause: Cause) {
    if !stop.forced.fire(cause) {
        return;
    }
    let stop = Arc::clone(stop);
    std::thread::spawn(move || {
        let shared = stop.shares_process();
        watchdog(&stop, cause, WATCHDOG, |code| {
            if !shared {
                std::process::exit(code)
            }
        })
    });
}

/// Waits `wait` for the run forced to stop by `cause` to end; if it does
/// not, calls `exit` with the stop's status (that of the first cause, as
/// [`finish`] reports it).
fn watchdog(stop: &Stop, cause: Cause, wait: Duration, exit: impl FnOnce(i32)) {
    if stop.wait_end(wait) {
        return;
    }
    let first = stop.requested.cause().unwrap_or(cause);
    let code = Outcome::from(first).exit_code();
    tracing::error!(
        "the guest did not stop within {wait:?} of being forced to (the host is blocked in a \
         system call); {}",
        if stop.shares_process() {
            "it ends when the call returns".to_string()
        } else {
            format!("exiting with {code}")
        }
    );
    exit(code);
}

impl Watchers {
    /// Watches for SIGINT and SIGTERM from now on (compiling included).
    pub(crate) fn start(stop: &Arc<Stop>, grace: Duration) -> Result<Self> {
        let mut signals = Signals::new([SIGINT, SIGTERM]).context("handling SIGINT and SIGTERM")?;
        let handle = signals.handle();
        let on_signal = Arc::clone(stop);
        std::thread::spawn(move || {
            for signal in signals.forever() {
                if on_signal.requested.cause().is_some() {
                    force_stop(&on_signal, Cause::Signal(signal));
                } else {
                    request_stop(&on_signal, Cause::Signal(signal), grace);
                }
            }
        });
        Ok(Self {
            signals: Some(handle),
            stop: Arc::clone(stop),
            grace,
            _timer: None,
        })
    }

    /// For a guest among many in one process, whose stops come from the
    /// process's owner ([`request_stop`]): the timeout only.
    pub(crate) fn timeout_only(stop: &Arc<Stop>, grace: Duration) -> Self {
        Self {
            signals: None,
            stop: Arc::clone(stop),
            grace,
            _timer: None,
        }
    }

    /// Starts the timeout's clock, as the guest starts: compiling a big
    /// component cold (seconds for a Python one) is not the guest's time.
    pub(crate) fn start_timeout(&mut self, timeout: Option<Duration>) {
        let Some(timeout) = timeout else { return };
        // Dropping the sender ends the wait early, and the thread.
        let (cancel, cancelled) = mpsc::channel::<()>();
        let (stop, grace) = (Arc::clone(&self.stop), self.grace);
        std::thread::spawn(move || {
            if cancelled.recv_timeout(timeout) == Err(RecvTimeoutError::Timeout) {
                request_stop(&stop, Cause::Timeout, grace);
            }
        });
        self._timer = Some(cancel);
    }
}

impl Drop for Watchers {
    fn drop(&mut self) {
        if let Some(signals) = &self.signals {
            signals.close();
        }
    }
}

impl From<Cause> for Outcome {
    fn from(cause: Cause) -> Self {
        match cause {
            Cause::Signal(signal) => Self::Signaled(signal),
            Cause::Timeout => Self::TimedOut,
        }
    }
}

/// WASI as `config` grants it: arguments, environment, directories.
pub(crate) fn wasi_builder(config: &RunConfig) -> Result<WasiCtxBuilder> {
    let mut wasi = WasiCtx::builder();
    match &config.output {
        Some(output) => {
            wasi.stdout(Pipe::new(output, Stream::Stdout))
                .stderr(Pipe::new(output, Stream::Stderr));
        }
        None => {
            wasi.inherit_stdio();
        }
    }
    wasi.arg(&config.program_name)
        .args(&config.args)
        .envs(&config.env);
    for (host, guest) in &config.dirs {
        wasi.preopened_dir(host, guest, FsPerms::ReadWrite)
            .with_context(|| format!("opening directory {} for the guest", host.display()))?;
    }
    Ok(wasi)
}

/// The guest's BPF state, as `config` grants it.
pub(crate) fn bpf_ctx(config: &RunConfig, stop: &Arc<Stop>) -> Result<BpfCtx> {
    let ctx = BpfCtx::new(
        Arc::clone(stop),
        Grants::new(&config.dirs, config.policy.pin_dir.as_deref())?,
        config.policy.clone(),
    )
    .max_memory(config.max_memory)
    .observer(Arc::clone(&config.observer))
    .guest_metrics(Arc::clone(&config.guest_metrics));
    let ctx = match &config.output {
        Some(output) => ctx.output(Arc::clone(output)),
        None => ctx,
    };
    match &config.kernel_btf {
        Some(path) => ctx.kernel_btf(path),
        None => Ok(ctx),
    }
}

/// Makes a busy guest yield at every epoch tick, so that a forced stop
/// can win the race in [`finish`].
pub(crate) fn yield_on_epochs<T>(store: &mut Store<T>) {
    store.set_epoch_deadline(1);
    store.epoch_deadline_async_yield_and_update(1);
}

/// Runs the guest's entry point `guest` (its exit status, or the trap)
/// until it ends or the stop is forced, whichever is first. A guest that a
/// signal asked to stop and that returned on its own in the grace period
/// exits with its own status, as a native tool with a SIGINT handler does
/// (libbpf-tools exit 0 at Ctrl-C); one the forced stop ended, as its
/// signal says (130, 143). A timeout is reported as 124 either way, as
/// `timeout(1)` does.
pub(crate) async fn finish(
    guest: impl std::future::Future<Output = Result<i32>>,
    stop: &Stop,
) -> Outcome {
    let outcome = tokio::select! {
        result = guest => match result {
            Ok(code) => Outcome::Exited(code),
            Err(e) => match (e.downcast_ref::<I32Exit>(), stop.forced.cause()) {
                (Some(exit), _) => Outcome::Exited(exit.0),
                // A trap from a wait the forced stop ended.
                (None, Some(cause)) => cause.into(),
                (None, None) => Outcome::Trapped(e),
            },
        },
        cause = stop.forced.fired() => cause.into(),
    };
    stop.end();
    match (outcome, stop.requested.cause()) {
        (Outcome::Trapped(e), _) => Outcome::Trapped(e),
        (Outcome::Exited(code), Some(Cause::Signal(_))) => Outcome::Exited(code),
        (_, Some(cause)) => cause.into(),
        (outcome, None) => outcome,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A forced stop whose run does not end exits with the first cause's
    /// status; one whose run ends in time exits nothing.
    #[test]
    fn the_watchdog_exits_only_when_the_run_does_not_end() {
        let stop = Stop::new().expect("eventfds");
        stop.requested.fire(Cause::Timeout);
        stop.forced.fire(Cause::Signal(libc::SIGINT));
        let mut exited = None;
        watchdog(
            &stop,
            Cause::Signal(libc::SIGINT),
            Duration::from_millis(10),
            |code| {
                exited = Some(code);
            },
        );
        assert_eq!(exited, Some(124), "the timeout came first");

        let stop = Stop::new().expect("eventfds");
        stop.forced.fire(Cause::Signal(libc::SIGTERM));
        stop.end();
        let mut exited = None;
        watchdog(
            &stop,
            Cause::Signal(libc::SIGTERM),
            Duration::from_secs(60),
            |code| {
                exited = Some(code);
            },
        );
        assert_eq!(exited, None);
    }
}
