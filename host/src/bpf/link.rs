//! The `link` resource: one attached program.

use libbpf_rs::Link;
use wasmtime::component::Resource;

use super::BpfCtxView;
use crate::bindings::link::{Host, HostLink};
use crate::bindings::types::ErrorCode;
use crate::{BpfError, BpfResult};

/// The host side of a guest's `link`. Dropping it destroys the libbpf link,
/// which detaches the program.
pub struct BpfLink {
    link: Option<Link>,
    program: String,
}

impl BpfLink {
    pub(crate) fn new(link: Link, program: String) -> Self {
        Self {
            link: Some(link),
            program,
        }
    }
}

impl HostLink for BpfCtxView<'_> {
    fn detach(&mut self, this: Resource<BpfLink>) -> BpfResult<()> {
        let link = self.table.get_mut(&this)?;
        match link.link.take() {
            Some(attached) => {
                drop(attached);
                tracing::debug!(program = %link.program, "detached");
                Ok(())
            }
            None => Err(BpfError::new(
                ErrorCode::WrongPhase,
                format!("the link of program `{}` is already detached", link.program),
            )),
        }
    }

    fn is_attached(&mut self, this: Resource<BpfLink>) -> wasmtime::Result<bool> {
        Ok(self.table.get(&this)?.link.is_some())
    }

    fn program_name(&mut self, this: Resource<BpfLink>) -> wasmtime::Result<String> {
        Ok(self.table.get(&this)?.program.clone())
    }

    fn drop(&mut self, this: Resource<BpfLink>) -> wasmtime::Result<()> {
        self.table.delete(this)?;
        Ok(())
    }
}

impl Host for BpfCtxView<'_> {}
