//! The repository's WIT (`wit/`), compiled into the tool, so that bindings
//! and components always match the host that runs them.

use anyhow::{anyhow, Context as _, Result};
use wit_parser::{Resolve, SourceMap, UnresolvedPackageGroup, WorldId};

/// The world a C guest component targets.
pub const WORLD: &str = "bpf-app";

const PACKAGE: &[(&str, &str)] = &[
    ("buffer.wit", include_str!("../../../wit/buffer.wit")),
    ("lifecycle.wit", include_str!("../../../wit/lifecycle.wit")),
    ("link.wit", include_str!("../../../wit/link.wit")),
    ("features.wit", include_str!("../../../wit/features.wit")),
    ("log.wit", include_str!("../../../wit/log.wit")),
    ("map.wit", include_str!("../../../wit/map.wit")),
    ("metrics.wit", include_str!("../../../wit/metrics.wit")),
    ("object.wit", include_str!("../../../wit/object.wit")),
    ("program.wit", include_str!("../../../wit/program.wit")),
    ("raw.wit", include_str!("../../../wit/raw.wit")),
    ("time.wit", include_str!("../../../wit/time.wit")),
    ("grants.wit", include_str!("../../../wit/grants.wit")),
    ("types.wit", include_str!("../../../wit/types.wit")),
    ("world.wit", include_str!("../../../wit/world.wit")),
];

/// One file per WASI package (see `wit/deps/README.md`).
const DEPS: &[(&str, &str)] = &[
    (
        "deps/cli/cli.wit",
        include_str!("../../../wit/deps/cli/cli.wit"),
    ),
    (
        "deps/clocks/clocks.wit",
        include_str!("../../../wit/deps/clocks/clocks.wit"),
    ),
    (
        "deps/filesystem/filesystem.wit",
        include_str!("../../../wit/deps/filesystem/filesystem.wit"),
    ),
    (
        "deps/io/io.wit",
        include_str!("../../../wit/deps/io/io.wit"),
    ),
    (
        "deps/random/random.wit",
        include_str!("../../../wit/deps/random/random.wit"),
    ),
    (
        "deps/sockets/sockets.wit",
        include_str!("../../../wit/deps/sockets/sockets.wit"),
    ),
];

fn parse(files: &[(&str, &str)]) -> Result<UnresolvedPackageGroup> {
    let mut map = SourceMap::default();
    for (path, text) in files {
        map.push(path.as_ref(), *text);
    }
    map.parse()
        .map_err(|(_, e)| anyhow!("{e}"))
        .context("parsing the embedded WIT")
}

/// The resolved `wasm-bpf:bpf` package and its `bpf-app` world.
pub fn bpf_app() -> Result<(Resolve, WorldId)> {
    let mut resolve = Resolve::default();
    let deps = DEPS
        .iter()
        .map(|file| parse(std::slice::from_ref(file)))
        .collect::<Result<Vec<_>>>()?;
    let package = resolve
        .push_groups(parse(PACKAGE)?, deps)
        .map_err(|e| anyhow!("{e:?}"))
        .context("resolving the embedded WIT")?;
    let world = resolve.select_world(&[package], Some(WORLD))?;
    Ok((resolve, world))
}
