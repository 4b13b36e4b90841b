//! What every command-line tool does around its work: usage text, argument
//! errors, failure reports, exit codes, and wall-clock timestamps.

use std::fmt::Display;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

/// Runs the tool `name`: `parse` reads the arguments (`Ok(None)` when they
/// ask for help), `run` does the work. Help prints `usage` (exit 0); an
/// argument error prints it after the error (exit 1); a failure of `run`
/// is printed with its causes (`{:#}`, exit 1), unless the host had asked
/// the guest to stop: the failure is then most likely that request (a
/// `poll` returning `stopping`), and the host reports how the run ended.
pub fn main<A, E: Display, R: Display>(
    name: &str,
    usage: &str,
    parse: impl FnOnce() -> Result<Option<A>, E>,
    run: impl FnOnce(A) -> Result<(), R>,
) -> ExitCode {
    let args = match parse() {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{usage}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("{name}: {e}\n{usage}");
            return ExitCode::from(1);
        }
    };
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) if crate::is_stopping() => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{name}: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The wall-clock time of day as `HH:MM:SS`, in UTC: a component sees no
/// time zone.
pub fn time_of_day() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!(
        "{:02}:{:02}:{:02}",
        secs / 3600 % 24,
        secs / 60 % 60,
        secs % 60
    )
}
