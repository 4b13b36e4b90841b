//! What the kernel holds for the app, read at every scrape from the
//! process's own fds (`/proc/self/fdinfo`): its maps, programs and links,
//! the memory they take, and, with `--program-stats`, each program's run
//! count and run time. The figures are the kernel's, not the host's
//! bookkeeping: a map the app's object created counts whether or not the
//! guest ever asked for it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::os::fd::{AsRawFd as _, BorrowedFd, FromRawFd as _, OwnedFd};
use std::sync::{Mutex, PoisonError};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric as _};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Unit;

/// Most program names remembered; past it, those of programs that are
/// gone are forgotten.
const MAX_NAMES: usize = 4096;

/// The kernel's run-time statistics of BPF programs, on for as long as
/// this lives (`BPF_ENABLE_STATS`). They cost every run of every BPF
/// program on the machine two clock reads and a per-CPU add (about 60 ns
/// a run on a VM, see the README; the reason the kernel keeps them off);
/// they need CAP_SYS_ADMIN.
#[derive(Debug)]
pub struct ProgramStats {
    /// Closing it turns the statistics off.
    _enabled: OwnedFd,
}

impl ProgramStats {
    /// Turns the statistics on.
    pub fn enable() -> std::io::Result<Self> {
        // SAFETY: a plain syscall wrapper; it returns a new fd or -errno.
        let fd = unsafe { libbpf_sys::bpf_enable_stats(libbpf_sys::BPF_STATS_RUN_TIME) };
        if fd < 0 {
            return Err(std::io::Error::from_raw_os_error(-fd));
        }
        // SAFETY: the fd was just created and nothing else owns it.
        Ok(Self {
            _enabled: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }
}

/// The collector of the kernel's view.
#[derive(Debug)]
pub(super) struct KernelObjects {
    stats: Option<ProgramStats>,
    /// Program names by kernel ID (the fdinfo has no names).
    names: Mutex<HashMap<u32, String>>,
    /// In a process that runs many apps (the agent): the IDs of this
    /// app's programs and maps, the only ones counted (links by the
    /// program they attach). `None`: every object of the process.
    owned: Option<Mutex<Owned>>,
}

#[derive(Debug, Default)]
pub(super) struct Owned {
    programs: BTreeSet<u32>,
    maps: BTreeSet<u32>,
}

#[derive(Default)]
struct Program {
    memlock: u64,
    run_time_ns: u64,
    run_count: u64,
}

/// The app's BPF objects as its fds show them, each once by kernel ID
/// (the guest and libbpf may hold several fds of one map).
#[derive(Default)]
struct Census {
    maps: BTreeMap<u32, u64>,
    programs: BTreeMap<u32, Program>,
    /// Each link, with the program it attaches.
    links: BTreeMap<u32, u32>,
}

impl Census {
    fn take() -> Self {
        let mut census = Self::default();
        let Ok(fds) = std::fs::read_dir("/proc/self/fdinfo") else {
            return census;
        };
        for fd in fds.flatten() {
            // An fd closed since the listing is simply not counted.
            if let Ok(info) = std::fs::read_to_string(fd.path()) {
                census.add(&info);
            }
        }
        census
    }

    /// Adds the object an fdinfo text describes, if it is a BPF one. A
    /// link's fdinfo names its program too, so links are told first.
    fn add(&mut self, info: &str) {
        let fields: HashMap<&str, u64> = info
            .lines()
            .filter_map(|line| line.split_once(':'))
            .filter_map(|(key, value)| Some((key, value.trim().parse().ok()?)))
            .collect();
        let field = |key| fields.get(key).copied().unwrap_or(0);
        let id = |key| fields.get(key).and_then(|&v| u32::try_from(v).ok());
        if let Some(link) = id("link_id") {
            self.links.insert(link, id("prog_id").unwrap_or(0));
        } else if let Some(map) = id("map_id") {
            self.maps.insert(map, field("memlock"));
        } else if let (Some(program), true) = (id("prog_id"), fields.contains_key("prog_type")) {
            self.programs.insert(
                program,
                Program {
                    memlock: field("memlock"),
                    run_time_ns: field("run_time_ns"),
                    run_count: field("run_cnt"),
                },
            );
        }
    }

    /// Only the objects `owned` names.
    fn keep(&mut self, owned: &Owned) {
        self.maps.retain(|id, _| owned.maps.contains(id));
        self.programs.retain(|id, _| owned.programs.contains(id));
        self.links
            .retain(|_, program| owned.programs.contains(program));
    }

    fn memlock(&self) -> u64 {
        let maps: u64 = self.maps.values().sum();
        maps + self.programs.values().map(|p| p.memlock).sum::<u64>()
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProgramLabels {
    program: String,
    id: u32,
}

/// What the fdinfo of `fd` says.
fn census_of(fd: BorrowedFd<'_>) -> Census {
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", fd.as_raw_fd()));
    let mut census = Census::default();
    census.add(&info.unwrap_or_default());
    census
}

impl KernelObjects {
    /// Counting every BPF object of the process, or with `owned` only
    /// those the app loads.
    pub(super) fn new(stats: Option<ProgramStats>, owned: bool) -> Self {
        Self {
            stats,
            names: Mutex::new(HashMap::new()),
            owned: owned.then(Mutex::default),
        }
    }

    fn owned(&self) -> Option<std::sync::MutexGuard<'_, Owned>> {
        self.owned
            .as_ref()
            .map(|o| o.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Counts the map `fd` as the app's.
    pub(super) fn map_created(&self, fd: BorrowedFd<'_>) {
        if let Some(mut owned) = self.owned() {
            owned.maps.extend(census_of(fd).maps.keys());
        }
    }

    /// Counts the program `fd` as the app's, and remembers its name, for
    /// its statistics.
    pub(super) fn program_loaded(&self, fd: BorrowedFd<'_>, name: &str) {
        if self.stats.is_none() && self.owned.is_none() {
            return;
        }
        let Some(&id) = census_of(fd).programs.keys().next() else {
            return;
        };
        if let Some(mut owned) = self.owned() {
            owned.programs.insert(id);
        }
        if self.stats.is_none() {
            return;
        }
        let mut names = self.names.lock().unwrap_or_else(PoisonError::into_inner);
        if names.len() >= MAX_NAMES {
            let live = Census::take();
            names.retain(|id, _| live.programs.contains_key(id));
        }
        if names.len() < MAX_NAMES {
            names.insert(id, name.to_string());
        }
    }

    fn labels(&self, id: u32) -> ProgramLabels {
        let names = self.names.lock().unwrap_or_else(PoisonError::into_inner);
        ProgramLabels {
            program: names.get(&id).cloned().unwrap_or_default(),
            id,
        }
    }
}

fn gauge(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    value: u64,
) -> Result<(), std::fmt::Error> {
    let gauge = ConstGauge::new(i64::try_from(value).unwrap_or(i64::MAX));
    gauge.encode(encoder.encode_descriptor(name, help, unit, MetricType::Gauge)?)
}

impl Collector for KernelObjects {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let mut census = Census::take();
        if let Some(owned) = self.owned() {
            census.keep(&owned);
        }
        let count = |n: usize| n as u64;
        gauge(
            &mut encoder,
            "maps",
            "BPF maps the app holds in the kernel",
            None,
            count(census.maps.len()),
        )?;
        gauge(
            &mut encoder,
            "programs",
            "BPF programs the app has loaded",
            None,
            count(census.programs.len()),
        )?;
        gauge(
            &mut encoder,
            "links",
            "BPF links attaching the app's programs",
            None,
            count(census.links.len()),
        )?;
        gauge(
            &mut encoder,
            "kernel_memory",
            "Kernel memory the app's maps and programs take, as the kernel accounts it",
            Some(&Unit::Bytes),
            census.memlock(),
        )?;
        if self.stats.is_none() {
            return Ok(());
        }
        let mut runs = encoder.encode_descriptor(
            "program_runs",
            "Times each of the app's programs ran (--program-stats)",
            None,
            MetricType::Counter,
        )?;
        for (&id, program) in &census.programs {
            ConstCounter::new(program.run_count).encode(runs.encode_family(&self.labels(id))?)?;
        }
        let mut time = encoder.encode_descriptor(
            "program_run_time",
            "Time each of the app's programs ran for (--program-stats)",
            Some(&Unit::Seconds),
            MetricType::Counter,
        )?;
        for (&id, program) in &census.programs {
            let seconds = program.run_time_ns as f64 / 1e9;
            ConstCounter::new(seconds).encode(time.encode_family(&self.labels(id))?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fdinfo_of_each_kind_is_told_apart() {
        let mut census = Census::default();
        census.add("pos:\t0\nmap_type:\t27\nmemlock:\t275784\nmap_id:\t7\nfrozen:\t0\n");
        census.add("pos:\t0\nmap_type:\t27\nmemlock:\t275784\nmap_id:\t7\nfrozen:\t0\n");
        census.add(
            "prog_type:\t5\nprog_tag:\t2b45f2649aac49ae\nmemlock:\t4096\nprog_id:\t9\n\
             run_time_ns:\t1500\nrun_cnt:\t3\n",
        );
        census.add("link_type:\tperf\nlink_id:\t4\nprog_tag:\t2b45\nprog_id:\t9\n");
        census.add("pos:\t0\nflags:\t02\nmnt_id:\t17\n");
        census.add("prog_type:\t5\nmemlock:\t4096\nprog_id:\t10\n");
        census.add("link_type:\tperf\nlink_id:\t5\nprog_id:\t10\n");
        census.add("map_type:\t2\nmemlock:\t100\nmap_id:\t8\n");
        assert_eq!(census.maps.len(), 2);
        assert_eq!(census.links.len(), 2);
        assert_eq!(census.programs[&9].run_count, 3);
        assert_eq!(census.memlock(), 275784 + 100 + 2 * 4096);
        // An app's share: its own program, the link attaching it, its map.
        let owned = Owned {
            programs: BTreeSet::from([9]),
            maps: BTreeSet::from([7]),
        };
        census.keep(&owned);
        assert_eq!(census.links.keys().collect::<Vec<_>>(), [&4]);
        assert_eq!(census.memlock(), 275784 + 4096);
    }
}
