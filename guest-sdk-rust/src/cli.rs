//! What every command-line tool does around its work: usage text, argument
//! errors, failure reports, exit codes, wall-clock timestamps, and log2
//! histograms as bcc's tools print them.

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

/// A BPF log2 histogram (slot `k` counts values in `[2^k, 2^(k+1))`, slot
/// 0 also 0) as bcc's `print_log2_hist` prints it: one line per bucket up
/// to the last non-empty one, with a bar scaled to the largest count.
/// Empty when every slot is.
pub fn log2_hist(slots: &[u64], unit: &str) -> String {
    use std::fmt::Write as _;
    let Some(last) = slots.iter().rposition(|&n| n > 0) else {
        return String::new();
    };
    let max = slots[..=last].iter().copied().max().unwrap_or(1).max(1);
    let (width, label, pad) = if last <= 32 {
        (10, 19, 5)
    } else {
        (20, 29, 15)
    };
    let mut text = format!("{:pad$}{unit:<label$} : count    distribution\n", "");
    for (i, &count) in slots[..=last].iter().enumerate() {
        let high = (1u128 << (i + 1)) - 1;
        let low = if i == 0 { 0 } else { 1u128 << i };
        let stars = (u128::from(count) * 40 / u128::from(max)) as usize;
        let _ = writeln!(
            text,
            "{low:>width$} -> {high:<width$} : {count:<8} |{:<40}|",
            "*".repeat(stars)
        );
    }
    text
}
