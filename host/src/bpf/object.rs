//! The `bpf-object` resource: one `.bpf.o`, opened, configured, loaded.
//!
//! The object's libbpf state is shared with the `bpf-map` and `program`
//! resources taken from it, so they work across `load` and keep the object
//! alive however the guest orders its drops.

use std::ffi::OsStr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use libbpf_rs::btf::types::{DataSec, Var};
use libbpf_rs::{AsRawLibbpf as _, Btf, MapCore as _, MapFlags, Object, ObjectBuilder, OpenObject};
use wasmtime::component::Resource;

use super::link::BpfLink;
use super::map::BpfMap;
use super::program::{self, BpfProgram};
use super::BpfCtxView;
use crate::bindings::bpf_map::MapInfo;
use crate::bindings::object::{Host, HostBpfObject, Phase};
use crate::bindings::program::ProgramInfo;
use crate::bindings::types::ErrorCode;
use crate::{BpfError, BpfResult};

/// Where libbpf's object is in its life.
pub(crate) enum ObjectState {
    Opened(OpenObject),
    Loaded(Object),
    /// `load` failed and libbpf freed the object.
    Failed,
}

/// The object's state, shared by the resources taken from it.
pub(crate) type SharedObject = Arc<Mutex<ObjectState>>;

/// Locks an object. A poisoned lock means a host panic already happened;
/// the state itself is still consistent, so it is used as is.
pub(crate) fn lock(object: &SharedObject) -> MutexGuard<'_, ObjectState> {
    object.lock().unwrap_or_else(PoisonError::into_inner)
}

impl ObjectState {
    fn phase(&self) -> Phase {
        match self {
            Self::Opened(_) => Phase::Opened,
            Self::Loaded(_) => Phase::Loaded,
            Self::Failed => Phase::Failed,
        }
    }

    /// The error for calling `what` in this phase; `needs` is the phase
    /// `what` is valid in.
    pub(crate) fn wrong_phase(&self, what: &str, needs: Phase) -> BpfError {
        BpfError::new(
            ErrorCode::WrongPhase,
            format!(
                "{what} needs the object {}, but it is {}",
                phase_name(needs),
                phase_name(self.phase())
            ),
        )
    }
}

fn phase_name(phase: Phase) -> &'static str {
    match phase {
        Phase::Opened => "opened (not yet loaded)",
        Phase::Loaded => "loaded",
        Phase::Failed => "failed (its load failed)",
    }
}

/// The host side of a guest's `bpf-object`.
pub struct BpfObject {
    state: SharedObject,
    name: String,
}

/// Where a global variable lives: its data section and byte range.
struct Global {
    section: String,
    offset: usize,
    size: usize,
}

/// Finds the global variable `name` in the object's BTF data sections.
fn find_global(btf: Option<Btf<'_>>, name: &str) -> BpfResult<Global> {
    let btf = btf.ok_or_else(|| {
        BpfError::new(
            ErrorCode::InvalidObject,
            "the object has no BTF, so its globals cannot be found by name (compile with -g)",
        )
    })?;
    let mut known = Vec::new();
    for sec in btf.type_by_kind::<DataSec<'_>>() {
        let section = sec.name().unwrap_or_default().to_string_lossy();
        for info in sec.iter() {
            let Some(var) = btf.type_by_id::<Var<'_>>(info.ty) else {
                continue;
            };
            let var_name = var.name().unwrap_or_default();
            if var_name == OsStr::new(name) {
                return Ok(Global {
                    section: section.into_owned(),
                    offset: info.offset as usize,
                    size: info.size,
                });
            }
            if section.starts_with(".rodata")
                || section.starts_with(".data")
                || section.starts_with(".bss")
            {
                known.push(var_name.to_string_lossy().into_owned());
            }
        }
    }
    Err(BpfError::new(
        ErrorCode::NotFound,
        format!(
            "no global variable `{name}` in the object (its globals: {})",
            if known.is_empty() {
                "none".into()
            } else {
                known.join(", ")
            }
        ),
    ))
}

/// Whether `map_name` is libbpf's internal map for data section `section`:
/// libbpf names it `<object name prefix><section>`, or just `<section>`.
fn is_section_map(map_name: &OsStr, section: &str) -> bool {
    map_name.as_encoded_bytes().ends_with(section.as_bytes())
}

fn no_section_map(name: &str, global: &Global) -> BpfError {
    BpfError::new(
        ErrorCode::InvalidArgument,
        format!(
            "global `{name}` lives in section `{}`, which has no map; only globals in \
             .rodata, .data and .bss can be read or set",
            global.section
        ),
    )
}

fn check_size(name: &str, global: &Global, len: usize) -> BpfResult<()> {
    if len == global.size {
        return Ok(());
    }
    Err(BpfError::new(
        ErrorCode::InvalidArgument,
        format!(
            "global `{name}` is {} bytes, but the value given is {len} bytes",
            global.size
        ),
    ))
}

impl BpfObject {
    fn set_global(&self, name: &str, value: &[u8]) -> BpfResult<()> {
        let mut state = lock(&self.state);
        let ObjectState::Opened(open) = &mut *state else {
            return Err(state.wrong_phase("set-global", Phase::Opened));
        };
        // SAFETY: the pointer comes from a live `OpenObject`, borrowed for
        // as long as the BTF is used.
        let btf = Btf::from_bpf_object(unsafe { open.as_libbpf_object().as_ref() })
            .map_err(|e| BpfError::libbpf("reading the object's BTF", &e, ""))?;
        let global = find_global(btf, name)?;
        check_size(name, &global, value.len())?;
        let mut map = open
            .maps_mut()
            .find(|m| is_section_map(m.name(), &global.section))
            .ok_or_else(|| no_section_map(name, &global))?;
        let data = map
            .initial_value_mut()
            .and_then(|data| data.get_mut(global.offset..global.offset + global.size))
            .ok_or_else(|| no_section_map(name, &global))?;
        data.copy_from_slice(value);
        Ok(())
    }

    fn get_global(&self, name: &str) -> BpfResult<Vec<u8>> {
        let state = lock(&self.state);
        match &*state {
            ObjectState::Opened(open) => {
                // SAFETY: as in `set_global`.
                let btf = Btf::from_bpf_object(unsafe { open.as_libbpf_object().as_ref() })
                    .map_err(|e| BpfError::libbpf("reading the object's BTF", &e, ""))?;
                let global = find_global(btf, name)?;
                open.maps()
                    .find(|m| is_section_map(m.name(), &global.section))
                    .and_then(|m| {
                        m.initial_value()
                            .and_then(|d| d.get(global.offset..global.offset + global.size))
                            .map(<[u8]>::to_vec)
                    })
                    .ok_or_else(|| no_section_map(name, &global))
            }
            ObjectState::Loaded(obj) => {
                let btf = obj
                    .btf()
                    .map_err(|e| BpfError::libbpf("reading the object's BTF", &e, ""))?;
                let global = find_global(btf, name)?;
                let map = obj
                    .maps()
                    .find(|m| is_section_map(m.name(), &global.section))
                    .ok_or_else(|| no_section_map(name, &global))?;
                // Internal maps are single-entry arrays: key 0 holds the
                // whole section as the kernel sees it now.
                let section = map
                    .lookup(&0u32.to_ne_bytes(), MapFlags::ANY)
                    .map_err(|e| BpfError::libbpf("reading the data section", &e, ""))?
                    .unwrap_or_default();
                section
                    .get(global.offset..global.offset + global.size)
                    .map(<[u8]>::to_vec)
                    .ok_or_else(|| no_section_map(name, &global))
            }
            ObjectState::Failed => Err(state.wrong_phase("get-global", Phase::Loaded)),
        }
    }
}

impl HostBpfObject for BpfCtxView<'_> {
    fn open(&mut self, elf: Vec<u8>, name: Option<String>) -> BpfResult<Resource<BpfObject>> {
        let mut builder = ObjectBuilder::default();
        let name = name.unwrap_or_else(|| "bpf_object".to_string());
        builder
            .name(&name)
            .map_err(|e| BpfError::libbpf("invalid object name", &e, ""))?;
        let (opened, log) = self.libbpf(|| builder.open_memory(&elf));
        let open = opened.map_err(|e| {
            let err = BpfError::libbpf("opening the BPF object", &e, &log);
            match err.guest().map(|g| g.code) {
                Some(ErrorCode::PermissionDenied | ErrorCode::TooBig) => err,
                _ => err.recode(ErrorCode::InvalidObject),
            }
        })?;
        tracing::debug!(object = %name, bytes = elf.len(), "opened BPF object");
        let object = BpfObject {
            state: Arc::new(Mutex::new(ObjectState::Opened(open))),
            name,
        };
        Ok(self.table.push(object)?)
    }

    fn name(&mut self, this: Resource<BpfObject>) -> wasmtime::Result<String> {
        Ok(self.table.get(&this)?.name.clone())
    }

    fn phase(&mut self, this: Resource<BpfObject>) -> wasmtime::Result<Phase> {
        Ok(lock(&self.table.get(&this)?.state).phase())
    }

    fn set_global(
        &mut self,
        this: Resource<BpfObject>,
        name: String,
        value: Vec<u8>,
    ) -> BpfResult<()> {
        self.table.get(&this)?.set_global(&name, &value)
    }

    fn get_global(&mut self, this: Resource<BpfObject>, name: String) -> BpfResult<Vec<u8>> {
        self.table.get(&this)?.get_global(&name)
    }

    fn load(&mut self, this: Resource<BpfObject>) -> BpfResult<()> {
        let object = self.table.get(&this)?;
        let mut state = lock(&object.state);
        let open = match std::mem::replace(&mut *state, ObjectState::Failed) {
            ObjectState::Opened(open) => open,
            other => {
                let err = other.wrong_phase("load", Phase::Opened);
                *state = other;
                return Err(err);
            }
        };
        let (loaded, log) = self.libbpf(|| open.load());
        match loaded {
            Ok(obj) => {
                tracing::debug!(object = %object.name, "loaded BPF object");
                *state = ObjectState::Loaded(obj);
                Ok(())
            }
            Err(e) => {
                let err = BpfError::libbpf("loading the BPF object", &e, &log);
                // libbpf prints the verifier's log between these markers
                // when the kernel rejects a program.
                if log.contains("BEGIN PROG LOAD LOG") {
                    Err(err.recode(ErrorCode::VerifierRejected))
                } else {
                    Err(err)
                }
            }
        }
    }

    fn attach_all(&mut self, this: Resource<BpfObject>) -> BpfResult<Vec<Resource<BpfLink>>> {
        let level = self.ctx.log_level;
        let object = self.table.get(&this)?;
        let state = lock(&object.state);
        let ObjectState::Loaded(obj) = &*state else {
            return Err(state.wrong_phase("attach-all", Phase::Loaded));
        };
        let mut links = Vec::new();
        for prog in obj.progs_mut() {
            if !prog.autoload() || !program::autoattach(&prog) {
                continue;
            }
            match program::attach(level, &prog) {
                Ok(link) => links.push(link),
                Err(e) if e.guest().is_some_and(|g| g.errno == libc::EOPNOTSUPP) => continue,
                Err(e) => return Err(e),
            }
        }
        drop(state);
        tracing::debug!(object = %object.name, links = links.len(), "attached all programs");
        links
            .into_iter()
            .map(|link| Ok(self.table.push(link)?))
            .collect()
    }

    fn find_map(&mut self, this: Resource<BpfObject>, name: String) -> BpfResult<Resource<BpfMap>> {
        let object = self.table.get(&this)?;
        let map = BpfMap::find(&object.state, name)?;
        Ok(self.table.push(map)?)
    }

    fn find_program(
        &mut self,
        this: Resource<BpfObject>,
        name: String,
    ) -> BpfResult<Resource<BpfProgram>> {
        let object = self.table.get(&this)?;
        let program = BpfProgram::find(&object.state, name)?;
        Ok(self.table.push(program)?)
    }

    fn maps(&mut self, this: Resource<BpfObject>) -> wasmtime::Result<Vec<MapInfo>> {
        Ok(BpfMap::all(&lock(&self.table.get(&this)?.state)))
    }

    fn programs(&mut self, this: Resource<BpfObject>) -> wasmtime::Result<Vec<ProgramInfo>> {
        Ok(BpfProgram::all(&lock(&self.table.get(&this)?.state)))
    }

    fn drop(&mut self, this: Resource<BpfObject>) -> wasmtime::Result<()> {
        self.table.delete(this)?;
        Ok(())
    }
}

impl Host for BpfCtxView<'_> {}
