//! The agent's apps: each declared by a file of the apps directory or a
//! request of the API, run on a thread of its own (a guest waiting for
//! records blocks its thread, and must block no other app), with its own
//! store, WASI and BPF contexts, limits, stop and log, on the engine and
//! compiled code all apps share.
//!
//! Each app has a supervisor thread that runs what the app's [`Control`]
//! says, for as long as the app exists: a declaration (a new file, a
//! changed one, a start) bumps the control's version and asks the current
//! run to stop; the thread sees the new version when the run ends and
//! starts the new declaration. A removal stops the run and ends the
//! thread.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};
use wasm_bpf_metrics::Metrics;
use wasm_bpf_runtime::interrupt::{Cause, Stop};
use wasm_bpf_runtime::observe::GuestMetrics;
use wasm_bpf_runtime::run::{self, Outcome, Shared};

use super::app_file::{AppSpec, Restart};
use super::log::AppLog;
use crate::config::Settings;
use crate::run::Launch;

/// How an app is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    /// Being fetched, compiled, loaded; not yet holding a link and waiting
    /// for events.
    Starting,
    /// Holding a link or waiting for events.
    Running,
    /// Asked to stop, within its grace.
    Stopping,
    /// Ended with `code`.
    Exited,
    /// Could not start, or trapped: `error` says why.
    Failed,
    /// Its declaration does not parse or asks for more than the ceiling:
    /// nothing of it runs.
    Invalid,
}

impl State {
    /// Every state, for counting apps by state.
    pub const ALL: [Self; 6] = [
        Self::Starting,
        Self::Running,
        Self::Stopping,
        Self::Exited,
        Self::Failed,
        Self::Invalid,
    ];

    /// Its name, as the API and `apps ls` spell it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Starting => "starting",
            Self::Running => "running",
            Self::Stopping => "stopping",
            Self::Exited => "exited",
            Self::Failed => "failed",
            Self::Invalid => "invalid",
        }
    }
}

/// Where an app was declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// A file of the apps directory, which alone changes it.
    File,
    /// A start request of the API.
    Api,
}

/// An app's status, as `wasm-bpf apps ls` shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Status {
    pub name: String,
    pub state: State,
    pub origin: Origin,
    pub source: Option<String>,
    /// Exit status of the last run that exited.
    pub code: Option<i32>,
    /// Why the last run failed, or why the declaration was refused.
    pub error: Option<String>,
    pub restarts: u32,
    /// Bytes of output dropped from the kept log.
    pub log_dropped: u64,
}

/// What runs an app: its declaration, whether it should run, and how it
/// did.
struct Control {
    spec: Option<AppSpec>,
    origin: Origin,
    /// Whether the declaration should be running.
    run: bool,
    /// Bumped by every declaration, start, stop and removal.
    version: u64,
    removed: bool,
    /// The current run's stop and observer.
    current: Option<(Arc<Stop>, Arc<Metrics>)>,
    state: State,
    code: Option<i32>,
    error: Option<String>,
    restarts: u32,
    /// Whether the supervisor thread still runs.
    alive: bool,
}

/// One app.
pub struct App {
    pub name: String,
    pub log: Arc<AppLog>,
    control: Mutex<Control>,
    changed: Condvar,
}

/// How every app runs, beyond its own settings.
pub struct Options {
    pub log_size: usize,
    pub json: bool,
    pub no_cache: bool,
    pub kernel_btf: Option<std::path::PathBuf>,
    #[cfg(feature = "registry")]
    pub pull: crate::flags::PullPolicy,
}

/// The apps, and what they share.
pub struct Agent {
    shared: Shared,
    pub ceiling: Settings,
    options: Options,
    apps: Mutex<BTreeMap<String, Arc<App>>>,
    /// Set by [`Agent::shutdown`]: no app is declared after.
    closing: AtomicBool,
}

impl App {
    fn control(&self) -> MutexGuard<'_, Control> {
        self.control.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Asks the current run, if any, to stop within its grace.
    fn stop_current(control: &mut Control) {
        if let (Some((stop, _)), Some(spec)) = (&control.current, &control.spec) {
            run::request_stop(stop, Cause::Signal(libc::SIGTERM), spec.settings.grace());
            control.state = State::Stopping;
        }
    }

    fn bump(&self, control: &mut Control) {
        control.version += 1;
        Self::stop_current(control);
        self.changed.notify_all();
    }

    pub fn status(&self) -> Status {
        let control = self.control();
        let ready = control
            .current
            .as_ref()
            .is_some_and(|(_, metrics)| metrics.started());
        Status {
            name: self.name.clone(),
            state: match control.state {
                State::Starting if ready => State::Running,
                state => state,
            },
            origin: control.origin,
            source: control.spec.as_ref().map(|s| s.source.clone()),
            code: control.code,
            error: control.error.clone(),
            restarts: control.restarts,
            log_dropped: self.log.dropped(),
        }
    }

    /// Whether the app runs, or is to run again (after a back-off).
    pub fn is_active(&self) -> bool {
        let control = self.control();
        control.current.is_some() || (control.run && control.spec.is_some() && !control.removed)
    }

    /// The observer of the current run, for the agent's metrics.
    pub fn metrics(&self) -> Option<Arc<Metrics>> {
        self.control().current.as_ref().map(|(_, m)| Arc::clone(m))
    }

    /// Waits up to `timeout` for the supervisor thread to end; whether it
    /// did.
    fn wait_gone(&self, timeout: Duration) -> bool {
        let control = self.control();
        let (control, _) = self
            .changed
            .wait_timeout_while(control, timeout, |c| c.alive)
            .unwrap_or_else(PoisonError::into_inner);
        !control.alive
    }
}

impl Agent {
    pub fn new(ceiling: Settings, options: Options) -> Result<Self> {
        Ok(Self {
            shared: Shared::new()?,
            ceiling,
            options,
            apps: Mutex::default(),
            closing: AtomicBool::new(false),
        })
    }

    fn apps(&self) -> MutexGuard<'_, BTreeMap<String, Arc<App>>> {
        self.apps.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn app(&self, name: &str) -> Option<Arc<App>> {
        self.apps().get(name).cloned()
    }

    /// Every app, by name.
    pub fn apps_list(&self) -> Vec<Arc<App>> {
        self.apps().values().cloned().collect()
    }

    pub fn statuses(&self) -> Vec<Status> {
        self.apps_list().iter().map(|app| app.status()).collect()
    }

    /// The app `name`, made (with its supervisor) if new.
    fn entry(self: &Arc<Self>, name: &str, origin: Origin) -> Result<Arc<App>> {
        let mut apps = self.apps();
        if self.closing.load(Ordering::SeqCst) {
            bail!("the agent is stopping");
        }
        if let Some(app) = apps.get(name) {
            let declared = app.control().origin;
            if declared != origin {
                bail!(
                    "{name} is declared by {}",
                    match declared {
                        Origin::File => "a file of the apps directory, which alone changes it",
                        Origin::Api => "a start request of the API",
                    }
                );
            }
            return Ok(Arc::clone(app));
        }
        let app = Arc::new(App {
            name: name.to_string(),
            log: Arc::new(AppLog::new(name, self.options.log_size, self.options.json)),
            control: Mutex::new(Control {
                spec: None,
                origin,
                run: false,
                version: 0,
                removed: false,
                current: None,
                state: State::Invalid,
                code: None,
                error: None,
                restarts: 0,
                alive: true,
            }),
            changed: Condvar::new(),
        });
        apps.insert(name.to_string(), Arc::clone(&app));
        let (agent, supervised) = (Arc::clone(self), Arc::clone(&app));
        std::thread::Builder::new()
            .name(format!("app {name}"))
            .spawn(move || agent.supervise(&supervised))?;
        Ok(app)
    }

    /// Runs `spec` as `name` (restarting it if it runs), or, for an
    /// `Err`, reports the declaration refused and changes nothing that
    /// runs.
    pub fn declare(
        self: &Arc<Self>,
        name: &str,
        origin: Origin,
        spec: Result<AppSpec>,
    ) -> Result<()> {
        let app = self.entry(name, origin)?;
        let mut control = app.control();
        match spec {
            Ok(spec) => {
                crate::messages::app_notice(name, &format!("starting {}", spec.source));
                control.spec = Some(spec);
                control.run = true;
                control.error = None;
                control.restarts = 0;
                app.bump(&mut control);
                Ok(())
            }
            Err(e) => {
                let error = format!("{e:#}");
                crate::messages::app_error(name, &error);
                if control.spec.is_none() {
                    control.state = State::Invalid;
                }
                control.error = Some(match control.spec {
                    Some(_) => format!("{error} (still running the declaration before)"),
                    None => error.clone(),
                });
                Err(anyhow::anyhow!(error))
            }
        }
    }

    /// Starts the declared app `name` again.
    pub fn start(&self, name: &str) -> Result<()> {
        let app = self.app(name).ok_or_else(|| no_such_app(name))?;
        let mut control = app.control();
        if control.spec.is_none() {
            bail!(
                "{name} has no valid declaration to start: {}",
                control.error.as_deref().unwrap_or("none")
            );
        }
        if control.current.is_none() {
            control.run = true;
            control.restarts = 0;
            app.bump(&mut control);
        }
        Ok(())
    }

    /// Stops `name` gracefully; it stays declared.
    pub fn stop(&self, name: &str) -> Result<()> {
        let app = self.app(name).ok_or_else(|| no_such_app(name))?;
        let mut control = app.control();
        control.run = false;
        app.bump(&mut control);
        Ok(())
    }

    /// Stops `name` and forgets it once stopped; only an app declared by
    /// `origin`, or by either.
    pub fn remove(&self, name: &str, origin: Option<Origin>) {
        if let Some(app) = self.app(name) {
            if origin.is_some_and(|o| o != app.control().origin) {
                return;
            }
            crate::messages::app_notice(name, "stopping and removing it");
            let mut control = app.control();
            control.run = false;
            control.removed = true;
            app.bump(&mut control);
        }
    }

    /// Stops every app, each within its grace, and waits for them (a
    /// run stuck in a system call no longer than `wait` in all).
    pub fn shutdown(&self, wait: Duration) {
        let apps: Vec<_> = {
            let apps = self.apps();
            self.closing.store(true, Ordering::SeqCst);
            apps.values().cloned().collect()
        };
        for app in &apps {
            self.remove(&app.name, None);
        }
        let deadline = Instant::now() + wait;
        for app in &apps {
            if !app.wait_gone(deadline.saturating_duration_since(Instant::now())) {
                crate::messages::app_error(
                    &app.name,
                    "did not stop in time (stuck in a system call)",
                );
            }
        }
    }

    /// Stops every running app where it is, its grace or not.
    pub fn force_all(&self, signal: i32) {
        for app in self.apps_list() {
            if let Some((stop, _)) = &app.control().current {
                run::force_stop(stop, Cause::Signal(signal));
            }
        }
    }

    /// The longest grace of any app.
    pub fn longest_grace(&self) -> Duration {
        self.apps_list()
            .iter()
            .filter_map(|app| app.control().spec.as_ref().map(|s| s.settings.grace()))
            .max()
            .unwrap_or_default()
    }

    /// The supervisor of `app`: runs what its control says until removed.
    fn supervise(&self, app: &Arc<App>) {
        let mut control = app.control();
        loop {
            control = app
                .changed
                .wait_while(control, |c| !(c.removed || (c.run && c.spec.is_some())))
                .unwrap_or_else(PoisonError::into_inner);
            if control.removed {
                break;
            }
            let Some(spec) = control.spec.clone() else {
                continue;
            };
            let version = control.version;
            let stop = match Stop::sharing_process() {
                Ok(stop) => Arc::new(stop),
                Err(e) => {
                    control.state = State::Failed;
                    control.error = Some(format!("creating the app's stop: {e}"));
                    control.run = false;
                    continue;
                }
            };
            let guest_metrics = Arc::new(GuestMetrics::default());
            let metrics = Arc::new(Metrics::for_app(
                &app.name,
                Arc::clone(&guest_metrics),
                None,
            ));
            control.current = Some((Arc::clone(&stop), Arc::clone(&metrics)));
            control.state = State::Starting;
            control.code = None;
            drop(control);

            let outcome = caught(|| self.run_once(app, &spec, &stop, metrics, guest_metrics));
            let failed = report(app, &outcome);

            control = app.control();
            control.current = None;
            match outcome {
                Ok(Outcome::Trapped(e)) => {
                    control.state = State::Failed;
                    control.error = Some(format!("trapped: {e:#}"));
                }
                Ok(outcome) => {
                    control.state = State::Exited;
                    control.code = Some(outcome.exit_code());
                    control.error = None;
                }
                Err(e) => {
                    control.state = State::Failed;
                    control.error = Some(format!("{e:#}"));
                }
            }
            if control.version != version || control.removed {
                continue;
            }
            if failed && spec.restart == Restart::OnFailure {
                let back_off = Restart::back_off(control.restarts);
                let (waited, timeout) = app
                    .changed
                    .wait_timeout_while(control, back_off, |c| c.version == version)
                    .unwrap_or_else(PoisonError::into_inner);
                control = waited;
                if timeout.timed_out() {
                    control.restarts += 1;
                }
                continue;
            }
            control.run = false;
        }
        control.alive = false;
        drop(control);
        app.changed.notify_all();
        let mut apps = self.apps();
        if apps.get(&app.name).is_some_and(|a| Arc::ptr_eq(a, app)) {
            apps.remove(&app.name);
        }
    }

    fn run_once(
        &self,
        app: &App,
        spec: &AppSpec,
        stop: &Arc<Stop>,
        metrics: Arc<Metrics>,
        guest_metrics: Arc<GuestMetrics>,
    ) -> Result<Outcome> {
        let launch = Launch {
            settings: &spec.settings,
            app: &spec.source,
            args: &spec.args,
            sinks: &spec.sinks,
            #[cfg(feature = "registry")]
            pull: self.options.pull,
            verbose: false,
            no_cache: self.options.no_cache,
            kernel_btf: self.options.kernel_btf.as_deref(),
        };
        let mut guest = launch.prepare()?;
        guest.config.observer = metrics;
        guest.config.guest_metrics = guest_metrics;
        guest.config.output = Some(Arc::clone(&app.log) as _);
        Ok(run::run_shared(&guest.config, &self.shared, stop)?)
    }
}

/// Runs `run`, turning a panic of the host's own code (a bug) into the
/// app's failure: unwinding has freed what the run held, and the app is
/// then `failed` and restarted as for a trap, where the panic would
/// otherwise end its supervisor and leave it `running` for good.
fn caught(run: impl FnOnce() -> Result<Outcome>) -> Result<Outcome> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)).unwrap_or_else(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|m| m.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".to_string());
        Err(anyhow::anyhow!(
            "the host panicked while running it (a bug of wasm-bpf): {message}"
        ))
    })
}

/// Writes how a run ended into the app's log; whether it failed.
fn report(app: &App, outcome: &Result<Outcome>) -> bool {
    app.log.flush();
    let (text, failed) = match outcome {
        Ok(Outcome::Exited(code)) => (format!("exited with {code}"), *code != 0),
        Ok(Outcome::Signaled(signal)) => (format!("stopped where it was (signal {signal})"), false),
        Ok(Outcome::TimedOut) => ("stopped by its timeout".to_string(), false),
        Ok(Outcome::Trapped(e)) => (format!("trapped: {e:#}"), true),
        Err(e) => (format!("failed to start: {e:#}"), true),
    };
    app.log.note(&text);
    failed
}

fn no_such_app(name: &str) -> anyhow::Error {
    anyhow::anyhow!("no app named {name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_while_running_is_the_apps_failure() {
        let outcome = caught(|| panic!("index out of bounds: the len is 3"));
        let error = format!("{:#}", outcome.expect_err("a panic is a failure"));
        assert!(error.contains("the host panicked"), "{error}");
        assert!(error.contains("the len is 3"), "{error}");
        let outcome = caught(|| panic!("{} apps", 2));
        assert!(format!("{:#}", outcome.expect_err("a failure")).contains("2 apps"));
        assert!(matches!(
            caught(|| Ok(Outcome::Exited(3))),
            Ok(Outcome::Exited(3))
        ));
    }
}
