//! Measuring child processes: their output lines, CPU time and peak memory,
//! and summaries of repeated samples.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Lines, Write as _};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// A child process driven over its stdin and stdout.
pub struct Proc {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Lines<BufReader<ChildStdout>>,
    what: String,
}

impl Proc {
    pub fn spawn(mut cmd: Command) -> Self {
        let what = format!("{cmd:?}");
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawning {what}: {e}"));
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        Self {
            child,
            stdin,
            stdout,
            what,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The next line starting with `prefix`, skipping others.
    pub fn expect(&mut self, prefix: &str) -> String {
        for line in self.stdout.by_ref() {
            let line = line.expect("reading child output");
            if line.starts_with(prefix) {
                return line;
            }
        }
        panic!("{} ended before printing {prefix:?}", self.what);
    }

    /// Reads lines until one satisfies `done`.
    pub fn until(&mut self, done: impl Fn(&str) -> bool) {
        for line in self.stdout.by_ref() {
            if done(&line.expect("reading child output")) {
                return;
            }
        }
        panic!("{} ended early", self.what);
    }

    /// The process's proportional share of the memory it maps, in KiB: a
    /// page shared by N processes counts 1/N in each.
    pub fn pss_kib(&self) -> f64 {
        let rollup = std::fs::read_to_string(format!("/proc/{}/smaps_rollup", self.pid()))
            .expect("reading smaps_rollup");
        rollup
            .lines()
            .find_map(|l| l.strip_prefix("Pss:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("a Pss line")
    }

    pub fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{line}").expect("writing to child");
    }

    /// CPU time the process's threads have used, in nanoseconds.
    pub fn cpu_ns(&self) -> u64 {
        let tasks = format!("/proc/{}/task", self.pid());
        std::fs::read_dir(tasks)
            .expect("reading tasks")
            .flatten()
            .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
            .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
            .sum()
    }

    pub fn signal(&self, signal: i32) {
        // SAFETY: kill has no memory preconditions; the pid is our child's.
        unsafe { libc::kill(self.pid() as i32, signal) };
    }

    /// Closes stdin, waits for the exit, and returns the peak resident set
    /// size in KiB.
    pub fn finish(mut self) -> u64 {
        drop(self.stdin.take());
        let mut status = 0;
        // SAFETY: an all-zero rusage is valid; wait4 fills it in.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: the pid is our unreaped child; the pointers are valid.
        let ret = unsafe { libc::wait4(self.pid() as i32, &mut status, 0, &mut usage) };
        assert_eq!(ret, self.pid() as i32, "wait4 on {}", self.what);
        // Reaped: keep `Child`'s drop from waiting again.
        std::mem::forget(self.child);
        usage.ru_maxrss as u64
    }
}

/// The `key=value` fields of a line, as numbers.
pub fn fields(line: &str) -> BTreeMap<String, f64> {
    line.split_whitespace()
        .filter_map(|f| f.split_once('='))
        .filter_map(|(k, v)| Some((k.to_string(), v.parse().ok()?)))
        .collect()
}

/// Field `key` of `fields`.
pub fn field(fields: &BTreeMap<String, f64>, key: &str) -> f64 {
    *fields
        .get(key)
        .unwrap_or_else(|| panic!("no field {key} in {fields:?}"))
}

/// Repeated samples of one figure.
#[derive(Debug, Clone, Default)]
pub struct Samples(pub Vec<f64>);

impl Samples {
    pub fn push(&mut self, x: f64) {
        self.0.push(x);
    }

    fn sorted(&self) -> Vec<f64> {
        let mut v = self.0.clone();
        v.sort_by(f64::total_cmp);
        v
    }

    pub fn median(&self) -> f64 {
        let v = self.sorted();
        match v.len() {
            0 => f64::NAN,
            n if n % 2 == 1 => v[n / 2],
            n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
        }
    }

    pub fn min(&self) -> f64 {
        self.sorted().first().copied().unwrap_or(f64::NAN)
    }

    pub fn max(&self) -> f64 {
        self.sorted().last().copied().unwrap_or(f64::NAN)
    }
}
