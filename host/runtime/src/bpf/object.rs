//! The `bpf-object` resource: one `.bpf.o`, opened, configured, loaded.
//!
//! The object's libbpf state is shared with the `bpf-map` and `program`
//! resources taken from it, so they work across `load` and keep the object
//! alive however the guest orders its drops.

use std::collections::BTreeMap;
use std::os::fd::{AsFd as _, OwnedFd};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use libbpf_rs::{AsRawLibbpf as _, Object, ObjectBuilder, OpenObject};
use wasmtime::component::Resource;

use super::kernel_btf::{self, KernelBtfFile};
use super::limits::{Charge, Held};
use super::link::BpfLink;
use super::map::BpfMap;
use super::policy::{self, Arena};
use super::program::{self, BpfProgram};
use super::{globals, record_layout, BpfCtxView};
use crate::bindings::bpf_map::MapInfo;
use crate::bindings::object::{
    GlobalInfo, Host, HostBpfObject, MapTypes, OpenOptions, Phase, RecordLayout,
};
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

/// An object's state and the kernel memory its maps take, shared by the
/// resources taken from it (buffers too): the maps live, and stay
/// charged to the guest, until the last of them is dropped.
pub(crate) struct Shared {
    state: Mutex<ObjectState>,
    charge: OnceLock<Charge>,
    /// Fds that libbpf holds by number until `load`: the programs other
    /// objects lend as attach targets (`set-attach-target`), duplicated so
    /// that dropping those objects cannot hand their numbers to anything
    /// else, and the kernel BTF file libbpf reads at load.
    lent: Mutex<Vec<OwnedFd>>,
    /// The verifier's logs of the programs loaded with a log level.
    logs: Mutex<BTreeMap<String, String>>,
}

/// The object's state, shared by the resources taken from it.
pub(crate) type SharedObject = Arc<Shared>;

impl Shared {
    /// Keeps `fd` open until the object is dropped.
    pub(crate) fn lend(&self, fd: OwnedFd) {
        self.lent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(fd);
    }

    /// The verifier's log of program `name`'s load, if it asked for one.
    pub(crate) fn verifier_log(&self, name: &str) -> Option<String> {
        self.logs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .cloned()
    }
}

/// Locks an object. A poisoned lock means a host panic already happened;
/// the state itself is still consistent, so it is used as is.
pub(crate) fn lock(object: &SharedObject) -> MutexGuard<'_, ObjectState> {
    object.state.lock().unwrap_or_else(PoisonError::into_inner)
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

/// Runs `f` on the object if it is opened (the call `what` needs that).
pub(crate) fn with_opened<R>(
    object: &SharedObject,
    what: &str,
    f: impl FnOnce(&mut OpenObject) -> BpfResult<R>,
) -> BpfResult<R> {
    let mut state = lock(object);
    match &mut *state {
        ObjectState::Opened(open) => f(open),
        other => Err(other.wrong_phase(what, Phase::Opened)),
    }
}

/// Runs `f` on the object if it is loaded (the call `what` needs that).
pub(crate) fn with_loaded<R>(
    object: &SharedObject,
    what: &str,
    f: impl FnOnce(&Object) -> BpfResult<R>,
) -> BpfResult<R> {
    let state = lock(object);
    match &*state {
        ObjectState::Loaded(obj) => f(obj),
        other => Err(other.wrong_phase(what, Phase::Loaded)),
    }
}

/// The error for a map, program or global (`kind`) the object lacks,
/// listing the ones it has.
pub(crate) fn not_found(kind: &str, name: &str, known: &[String]) -> BpfError {
    let mut message = format!("no {kind} `{name}` in the object");
    if !known.is_empty() {
        message.push_str(&format!(" (its {kind}s: {})", known.join(", ")));
    }
    BpfError::new(ErrorCode::NotFound, message)
}

fn phase_name(phase: Phase) -> &'static str {
    match phase {
        Phase::Opened => "opened (not yet loaded)",
        Phase::Loaded => "loaded",
        Phase::Failed => "failed (its load failed)",
    }
}

/// A buffer for the verifier's log of each program that asked for one
/// (`set-log-level`), which libbpf fills on success too. The buffers share
/// `budget` bytes, so that many programs asking for logs cannot make the
/// host hold many times what one call may build for the guest.
fn log_buffers(open: &mut OpenObject, budget: usize) -> Vec<(String, Vec<u8>)> {
    // SAFETY: the pointers come from live programs.
    let wants_log =
        |p: &libbpf_rs::OpenProgramMut<'_>| unsafe { libbpf_sys::bpf_program__log_level(p.as_libbpf_object().as_ptr()) } != 0;
    let logged = open
        .progs_mut()
        .filter(|p| p.autoload() && wants_log(p))
        .count();
    let size = budget / logged.max(1);
    let mut buffers = Vec::new();
    for prog in open.progs_mut().filter(|p| p.autoload() && wants_log(p)) {
        let mut buf = vec![0u8; size];
        // SAFETY: the object is not loaded yet. The buffer's heap memory
        // does not move with the Vec, and `load` keeps the Vecs alive
        // until the object's load returns; libbpf reads the pointer only
        // while loading, which a loaded object never does again.
        unsafe {
            libbpf_sys::bpf_program__set_log_buf(
                prog.as_libbpf_object().as_ptr(),
                buf.as_mut_ptr().cast(),
                buf.len() as u64,
            );
        }
        buffers.push((prog.name().to_string_lossy().into_owned(), buf));
    }
    buffers
}

/// The text the kernel wrote into a log buffer, up to its NUL.
fn log_text(buf: &mut Vec<u8>) -> String {
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    buf.truncate(end);
    String::from_utf8_lossy(buf).into_owned()
}

/// The host side of a guest's `bpf-object`.
pub struct BpfObject {
    state: SharedObject,
    name: String,
    /// The ELF bytes, for the BTF model (`record-layout`).
    elf: Vec<u8>,
    /// The arena maps as opened, which `load` holds the object to.
    arenas: Vec<Arena>,
}

impl BpfObject {
    fn set_global(&self, name: &str, value: &[u8]) -> BpfResult<()> {
        with_opened(&self.state, "set-global", |open| {
            globals::set(open, name, value)
        })
    }

    fn get_global(&self, name: &str, cap: usize) -> BpfResult<Vec<u8>> {
        let state = lock(&self.state);
        match &*state {
            ObjectState::Opened(open) => globals::initial(open, name, cap),
            ObjectState::Loaded(obj) => globals::current(obj, name, cap),
            ObjectState::Failed => Err(state.wrong_phase("get-global", Phase::Loaded)),
        }
    }

    fn globals(&self, cap: usize) -> BpfResult<Vec<GlobalInfo>> {
        let state = lock(&self.state);
        match &*state {
            ObjectState::Opened(open) => globals::of_open(open, cap),
            ObjectState::Loaded(obj) => globals::of_loaded(obj, cap),
            ObjectState::Failed => Err(state.wrong_phase("globals", Phase::Loaded)),
        }
    }
}

impl HostBpfObject for BpfCtxView<'_> {
    fn open(&mut self, elf: Vec<u8>, name: Option<String>) -> BpfResult<Resource<BpfObject>> {
        let options = OpenOptions {
            name,
            kernel_btf: None,
        };
        self.open_with(elf, options)
    }

    fn open_with(&mut self, elf: Vec<u8>, options: OpenOptions) -> BpfResult<Resource<BpfObject>> {
        let OpenOptions { name, kernel_btf } = options;
        self.ctx.limits.check(Held::Object, 1)?;
        // libbpf would spin forever on such BTF.
        wasm_bpf_btf::check_type_chains(&elf)
            .map_err(|e| BpfError::new(ErrorCode::InvalidObject, format!("{e:#}")))?;
        let mut builder = ObjectBuilder::default();
        // As libbpf tools name an object: after its source file, which the
        // line information names (libbpf's own default names the buffer's
        // address).
        let name = name
            .or_else(|| wasm_bpf_btf::source_name(&elf))
            .unwrap_or_else(|| "bpf_object".to_string());
        builder
            .name(&name)
            .map_err(|e| BpfError::libbpf("invalid object name", &e, ""))?;
        // Maps pinned by name go under the granted directory (and are
        // refused at load without one).
        if let Some(dir) = &self.ctx.policy.pin_dir {
            builder
                .pin_root_path(dir)
                .map_err(|e| BpfError::libbpf("setting the pin directory", &e, ""))?;
        }
        // A guest's own file, capped at what one call may build for it,
        // or the run's; libbpf reads it at load, by its path.
        let own_btf = match kernel_btf {
            Some(guest) => {
                let file = self.ctx.grants.read_file("kernel BTF file", &guest)?;
                let what = format!("kernel BTF `{guest}`");
                let cap = self.ctx.result_bytes as u64;
                let bytes = kernel_btf::read_file(&what, file, cap).map_err(|e| {
                    e.hint(
                        "an object's own kernel BTF may take a quarter of --max-memory: raise \
                         it, or give the file to the whole run with --kernel-btf",
                    )
                })?;
                let raw = kernel_btf::check(&what, &bytes)?;
                Some(KernelBtfFile::new(&raw)?)
            }
            None => None,
        };
        if let Some(file) = own_btf.as_ref().or(self.ctx.kernel_btf_file.as_ref()) {
            builder
                .btf_custom_path(file.path())
                .map_err(|e| BpfError::libbpf("setting the kernel BTF", &e, ""))?;
        }
        let (opened, log) = self.libbpf(|| builder.open_memory(&elf));
        let open = opened.map_err(|e| {
            let err = BpfError::libbpf("opening the BPF object", &e, &log);
            match err.guest().map(|g| g.code) {
                Some(ErrorCode::PermissionDenied | ErrorCode::TooBig) => err,
                _ => err.recode(ErrorCode::InvalidObject),
            }
        })?;
        tracing::debug!(object = %name, bytes = elf.len(), "opened BPF object");
        let arenas = policy::arenas(&open);
        let object = BpfObject {
            state: Arc::new(Shared {
                state: Mutex::new(ObjectState::Opened(open)),
                charge: OnceLock::new(),
                lent: Mutex::new(own_btf.map(KernelBtfFile::into_fd).into_iter().collect()),
                logs: Mutex::default(),
            }),
            name,
            elf,
            arenas,
        };
        self.push_counted(Held::Object, object)
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
        let cap = self.ctx.result_bytes;
        self.table.get(&this)?.get_global(&name, cap)
    }

    fn globals(&mut self, this: Resource<BpfObject>) -> BpfResult<Vec<GlobalInfo>> {
        let cap = self.ctx.result_bytes;
        self.table.get(&this)?.globals(cap)
    }

    /// Loads in two steps, so that the policy sees what the kernel will
    /// receive: libbpf's prepare (relocations, subprograms appended, kfuncs
    /// resolved, maps created), the policy's check of the final
    /// instructions, then the programs' load. What needs no kernel (map
    /// sizes, pins, struct_ops maps) is checked before anything is created.
    fn load(&mut self, this: Resource<BpfObject>) -> BpfResult<()> {
        let object = self.table.get(&this)?;
        let mut state = lock(&object.state);
        let mut open = match std::mem::replace(&mut *state, ObjectState::Failed) {
            ObjectState::Opened(open) => open,
            other => {
                let err = other.wrong_phase("load", Phase::Opened);
                *state = other;
                return Err(err);
            }
        };
        let checked = self.ctx.policy.check_maps(&open, &object.arenas);
        let grants = &self.ctx.grants;
        let charge = checked.and_then(|()| {
            policy::host_chosen_arena_addresses(&mut open)?;
            let bytes = super::limits::check_map_sizes(&open)?;
            self.ctx
                .kernel_memory
                .charge(bytes, || format!("the maps of object `{}`", object.name))
        });
        // Last, as it changes the object only when it succeeds.
        let pins = match grants.pins() {
            Some((dir, grant)) => {
                charge.and_then(|charge| Ok((charge, policy::pins_beneath(&mut open, dir, grant)?)))
            }
            None => charge.map(|charge| (charge, Vec::new())),
        };
        let charge = match pins {
            Ok((charge, fds)) => {
                fds.into_iter().for_each(|fd| object.state.lend(fd));
                charge
            }
            // Nothing reached the kernel: the guest may change the object
            // and try again.
            Err(e) => {
                *state = ObjectState::Opened(open);
                return Err(e);
            }
        };
        let (prepared, log) = self.libbpf(|| {
            // SAFETY: the object is open and not yet prepared.
            unsafe { libbpf_sys::bpf_object__prepare(open.as_libbpf_object().as_ptr()) }
        });
        // From here on a failure frees the object (dropping `open`), as
        // libbpf's own failed load does: a prepared object would load
        // without being checked again, so it must not be kept.
        if prepared < 0 {
            let e = libbpf_rs::Error::from_raw_os_error(-prepared);
            return Err(BpfError::libbpf("loading the BPF object", &e, &log));
        }
        self.ctx
            .policy
            .check_programs(&open, &mut self.ctx.kernel_btf)?;
        let mut logs = log_buffers(&mut open, self.ctx.result_bytes);
        let (loaded, mut log) = self.libbpf(|| open.load());
        // Loaded, the kernel holds what the lent fds named (an attach
        // target program) and libbpf has read the kernel BTF.
        object
            .state
            .lent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        let logs: BTreeMap<String, String> = logs
            .iter_mut()
            .map(|(name, buf)| (name.clone(), log_text(buf)))
            .collect();
        match loaded {
            Ok(obj) => {
                tracing::debug!(object = %object.name, "loaded BPF object");
                let observer = &self.ctx.observer;
                for program in obj.progs() {
                    observer.program_loaded(program.as_fd(), &program.name().to_string_lossy());
                }
                // A map whose autocreate was off has no fd.
                for map in obj.maps().filter(|m| m.autocreate()) {
                    observer.map_created(
                        map.as_fd(),
                        &libbpf_rs::MapCore::name(&map).to_string_lossy(),
                    );
                }
                *state = ObjectState::Loaded(obj);
                let _ = object.state.charge.set(charge);
                *object
                    .state
                    .logs
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = logs;
                Ok(())
            }
            Err(e) => {
                // libbpf prints the verifier's log between these markers
                // when the kernel rejects a program, unless the program
                // has a buffer of its own.
                for (name, text) in logs.iter().filter(|(_, text)| !text.is_empty()) {
                    log.push_str(&format!(
                        "prog '{name}': -- BEGIN PROG LOAD LOG --\n{text}-- END PROG LOAD LOG --\n"
                    ));
                }
                let err = BpfError::libbpf("loading the BPF object", &e, &log);
                if err.guest().is_some_and(|g| g.errno == libc::ENOSPC) && !logs.is_empty() {
                    Err(err.recode(ErrorCode::TooBig).hint(&format!(
                        "a verifier log did not fit: the logs of one load share {} bytes (a \
                         quarter of --max-memory); lower the log level, ask fewer programs \
                         for logs, or raise --max-memory",
                        self.ctx.result_bytes
                    )))
                } else if log.contains("BEGIN PROG LOAD LOG") {
                    Err(err.recode(ErrorCode::VerifierRejected))
                } else {
                    Err(err)
                }
            }
        }
    }

    fn attach_all(&mut self, this: Resource<BpfObject>) -> BpfResult<Vec<Resource<BpfLink>>> {
        let log = &self.ctx.log;
        let (limits, policy, grants) = (&self.ctx.limits, &self.ctx.policy, &self.ctx.grants);
        let object = self.table.get(&this)?;
        let links = with_loaded(&object.state, "attach-all", |obj| {
            let mut links = Vec::new();
            for prog in obj.progs_mut() {
                if !prog.autoload() || !program::autoattach(&prog) {
                    continue;
                }
                let binary = policy.check_section(
                    grants,
                    &prog.name().to_string_lossy(),
                    &prog.section().to_string_lossy(),
                )?;
                match program::attach(log, &prog, binary.as_ref()) {
                    Ok(link) => links.push(link),
                    Err(e) if e.guest().is_some_and(|g| g.errno == libc::EOPNOTSUPP) => continue,
                    Err(e) => return Err(e),
                }
            }
            // Checked once the count is known; over the cap, the links
            // made are dropped, detaching them again.
            limits.check(Held::Link, links.len())?;
            Ok(links)
        })?;
        tracing::debug!(object = %object.name, links = links.len(), "attached all programs");
        links
            .into_iter()
            .map(|link| self.push_counted(Held::Link, link))
            .collect()
    }

    fn find_map(&mut self, this: Resource<BpfObject>, name: String) -> BpfResult<Resource<BpfMap>> {
        let object = self.table.get(&this)?;
        let map = BpfMap::find(&object.state, name)?;
        self.push_counted(Held::Map, map)
    }

    fn find_program(
        &mut self,
        this: Resource<BpfObject>,
        name: String,
    ) -> BpfResult<Resource<BpfProgram>> {
        let object = self.table.get(&this)?;
        let program = BpfProgram::find(&object.state, name)?;
        self.push_counted(Held::Program, program)
    }

    fn record_layout(
        &mut self,
        this: Resource<BpfObject>,
        name: String,
    ) -> BpfResult<RecordLayout> {
        let cap = self.ctx.result_bytes;
        record_layout::record_layout(&self.table.get(&this)?.elf, &name, cap)
    }

    fn field_typedefs(
        &mut self,
        this: Resource<BpfObject>,
        name: String,
    ) -> BpfResult<Vec<Option<String>>> {
        let cap = self.ctx.result_bytes;
        record_layout::field_typedefs(&self.table.get(&this)?.elf, &name, cap)
    }

    fn map_types(&mut self, this: Resource<BpfObject>, name: String) -> BpfResult<MapTypes> {
        record_layout::map_types(&self.table.get(&this)?.elf, &name)
    }

    fn maps(&mut self, this: Resource<BpfObject>) -> wasmtime::Result<Vec<MapInfo>> {
        Ok(BpfMap::all(&lock(&self.table.get(&this)?.state)))
    }

    fn programs(&mut self, this: Resource<BpfObject>) -> wasmtime::Result<Vec<ProgramInfo>> {
        Ok(BpfProgram::all(&lock(&self.table.get(&this)?.state)))
    }

    fn drop(&mut self, this: Resource<BpfObject>) -> wasmtime::Result<()> {
        self.delete_counted(Held::Object, this)
    }
}

impl Host for BpfCtxView<'_> {}
