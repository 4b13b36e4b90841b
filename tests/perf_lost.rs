//! Lost perf samples reach the guest. On its own in a test binary, so no
//! other test keeps the CPUs busy: the kernel reports a CPU's losses only
//! with that CPU's next sample (see the guest's `lost` scenario).

mod common;

use common::{ok, scenario};

#[test]
fn lost_perf_samples_are_reported() {
    let c = scenario("lost");
    // With a one-page buffer nobody drains, samples are lost and the guest
    // is told; nothing is counted twice, and some samples do arrive.
    ok(&c, "accounted", "(true, true, true)");
}
