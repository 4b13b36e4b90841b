//! Programs of an object: configure before `load`, attach after.

use crate::bindings::program::Program as RawProgram;
use crate::{AttachTarget, AttachType, Link, ProgType, ProgramInfo, Result};

/// One program of an object, in either phase. Before `load` it can be
/// configured as libbpf-rs's `OpenProgramMut` can; once loaded, attached.
pub struct Program {
    inner: RawProgram,
}

impl Program {
    pub(crate) fn new(inner: RawProgram) -> Self {
        Self { inner }
    }

    /// The program's name, section, type and size.
    pub fn info(&self) -> ProgramInfo {
        self.inner.info()
    }

    /// Whether `load` loads the program (before `load`).
    pub fn set_autoload(&self, autoload: bool) -> Result<()> {
        Ok(self.inner.set_autoload(autoload)?)
    }

    /// What an fentry/fexit, `tp_btf`, LSM or `freplace` program attaches
    /// to (`bpf_program__set_attach_target`): a kernel function or
    /// tracepoint, or a function of `target`, a loaded program of another
    /// object (before `load`).
    pub fn set_attach_target(
        &self,
        function: Option<&str>,
        target: Option<&Program>,
    ) -> Result<()> {
        Ok(self
            .inner
            .set_attach_target(function, target.map(|t| &t.inner))?)
    }

    /// Changes the program's type; attach it with [`attach_to`](Self::attach_to)
    /// then (before `load`).
    pub fn set_prog_type(&self, prog_type: ProgType) -> Result<()> {
        Ok(self.inner.set_prog_type(prog_type)?)
    }

    /// Changes the hook kind the program is loaded for (before `load`).
    pub fn set_expected_attach_type(&self, attach_type: AttachType) -> Result<()> {
        Ok(self.inner.set_expected_attach_type(attach_type)?)
    }

    /// Replaces the `BPF_F_*` load flags (before `load`).
    pub fn set_flags(&self, flags: u32) -> Result<()> {
        Ok(self.inner.set_flags(flags)?)
    }

    /// The `BPF_F_*` load flags.
    pub fn flags(&self) -> u32 {
        self.inner.flags()
    }

    /// Asks the verifier for its log (1: basic, 2: every instruction, +4:
    /// statistics), read after a successful load with
    /// [`verifier_log`](Self::verifier_log) (before `load`).
    pub fn set_log_level(&self, level: u32) -> Result<()> {
        Ok(self.inner.set_log_level(level)?)
    }

    /// The verifier's log of a successful load with a log level set.
    pub fn verifier_log(&self) -> Option<String> {
        self.inner.verifier_log()
    }

    /// Attaches the program to the hook its section names (after `load`).
    pub fn attach(&self) -> Result<Link> {
        Ok(self.inner.attach()?)
    }

    /// Attaches the program to `target` (after `load`).
    pub fn attach_to(&self, target: &AttachTarget) -> Result<Link> {
        Ok(self.inner.attach_to(target)?)
    }

    /// The raw resource, for calls the wrapper does not cover.
    pub fn as_raw(&self) -> &RawProgram {
        &self.inner
    }
}
