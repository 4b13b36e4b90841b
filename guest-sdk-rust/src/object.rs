//! Objects in their two phases: [`OpenObject`] (configure) and [`Object`]
//! (attach and use), as in libbpf-rs.

use bytemuck::Pod;

use crate::bindings::object::BpfObject;
use crate::bindings::object::{GlobalInfo, MapTypes};
use crate::bindings::program::ProgramInfo;
use crate::{AttachTarget, Buffer, Error, Link, Map, MapInfo, Program, Result, TypedMap};

pub use crate::bindings::object::{OpenOptions, Phase};

/// An object opened from ELF bytes and not yet loaded: set globals,
/// toggle autoload, resize maps, then [`load`](Self::load).
pub struct OpenObject {
    inner: BpfObject,
}

/// A loaded object: attach its programs, use its maps and buffers.
/// Dropping it frees its maps and programs in the kernel (links keep their
/// programs attached until they are dropped too).
pub struct Object {
    inner: BpfObject,
}

fn read_pod<T: Pod>(name: &str, bytes: &[u8]) -> Result<T> {
    bytemuck::try_pod_read_unaligned(bytes).map_err(|_| {
        Error::invalid(format!(
            "global `{name}` is {} bytes, but the type read is {} bytes",
            bytes.len(),
            size_of::<T>()
        ))
    })
}

impl Object {
    /// Opens an ELF BPF object (`include_object!` gives its bytes). The
    /// object is named after its source file (`bootstrap` for
    /// `bootstrap.bpf.c`); see [`open_named`](Self::open_named).
    pub fn open(elf: &[u8]) -> Result<OpenObject> {
        Ok(OpenObject {
            inner: BpfObject::open(elf, None)?,
        })
    }

    /// Opens an ELF BPF object under `name`, which also names its internal
    /// maps (`<name>.rodata`).
    pub fn open_named(elf: &[u8], name: &str) -> Result<OpenObject> {
        Ok(OpenObject {
            inner: BpfObject::open(elf, Some(name))?,
        })
    }

    /// Opens an ELF BPF object with `options`: a name, and a kernel BTF
    /// file (a guest path under a `--dir` grant, raw BTF as BTFHub ships
    /// it) for kernels built without their own.
    pub fn open_with(elf: &[u8], options: &OpenOptions) -> Result<OpenObject> {
        Ok(OpenObject {
            inner: BpfObject::open_with(elf, options)?,
        })
    }

    /// The object's name.
    pub fn name(&self) -> String {
        self.inner.name()
    }

    /// Attaches every program whose section names a hook, like a skeleton's
    /// `__attach`. Keep the links: dropping one detaches its program.
    pub fn attach_all(&self) -> Result<Vec<Link>> {
        Ok(self.inner.attach_all()?)
    }

    /// Attaches the program `name` to the hook its section names.
    pub fn attach(&self, name: &str) -> Result<Link> {
        self.program(name)?.attach()
    }

    /// Attaches the program `name` to `target` (a tracepoint, a function of
    /// a granted binary, an interface, a cgroup, ...).
    pub fn attach_to(&self, name: &str, target: &AttachTarget) -> Result<Link> {
        self.program(name)?.attach_to(target)
    }

    /// Attaches the iterator program `name` and runs it once, returning
    /// what it wrote.
    pub fn read_iter(&self, name: &str) -> Result<Vec<u8>> {
        Ok(self.attach_to(name, &AttachTarget::Iterator)?.read_iter()?)
    }

    /// The map `name` with keys `K` and values `V` (the generated
    /// `maps::<name>(&obj)` calls this with the types the BTF declares).
    pub fn typed_map<K: Pod, V: Pod>(&self, name: &str) -> Result<TypedMap<K, V>> {
        TypedMap::new(self.map(name)?)
    }

    /// The map `name`.
    pub fn map(&self, name: &str) -> Result<Map> {
        Ok(Map::new(self.inner.find_map(name)?))
    }

    /// The program `name`.
    pub fn program(&self, name: &str) -> Result<Program> {
        Ok(Program::new(self.inner.find_program(name)?))
    }

    /// How struct `name` of the object's BTF reads as a self-describing
    /// record, for a loader with no types generated for the object.
    pub fn record_layout(&self, name: &str) -> Result<crate::probe::Layout> {
        Ok(crate::probe::Layout::new(self.inner.record_layout(name)?))
    }

    /// A consumer of the ring buffer or perf event array map `name`.
    pub fn buffer(&self, name: &str) -> Result<Buffer> {
        Buffer::open(&self.map(name)?)
    }

    /// The current value of the global variable `name` (the kernel's view
    /// for `.data` and `.bss`).
    pub fn global<T: Pod>(&self, name: &str) -> Result<T> {
        read_pod(name, &self.inner.get_global(name)?)
    }

    /// Every map of the object.
    pub fn maps(&self) -> Vec<MapInfo> {
        self.inner.maps()
    }

    /// Every program of the object.
    pub fn programs(&self) -> Vec<ProgramInfo> {
        self.inner.programs()
    }

    /// Every global variable of the object's BTF: what `set_global` and
    /// `global` take, and the marker variables some tools declare
    /// (Inspektor Gadget's `gadget_tracer_*`, `gadget_param_*`).
    pub fn globals(&self) -> Result<Vec<GlobalInfo>> {
        Ok(self.inner.globals()?)
    }

    /// For each field of [`Self::record_layout`]`(name)`, the typedef
    /// its member was declared with (`gadget_errno`, `__u32`).
    pub fn field_typedefs(&self, name: &str) -> Result<Vec<Option<String>>> {
        Ok(self.inner.field_typedefs(name)?)
    }

    /// The struct names of map `name`'s keys and values, to read its
    /// entries with [`Self::record_layout`].
    pub fn map_types(&self, name: &str) -> Result<MapTypes> {
        Ok(self.inner.map_types(name)?)
    }

    /// The raw resource, for calls the wrapper does not cover.
    pub fn as_raw(&self) -> &BpfObject {
        &self.inner
    }
}

impl OpenObject {
    /// Sets the global variable `name` (a `const volatile` in `.rodata`, or
    /// a `.data`/`.bss` global) to `value`, whose size must match the
    /// variable's.
    pub fn set_global<T: Pod>(&mut self, name: &str, value: &T) -> Result<()> {
        self.set_global_bytes(name, bytemuck::bytes_of(value))
    }

    /// Sets the global variable `name` to raw bytes.
    pub fn set_global_bytes(&mut self, name: &str, value: &[u8]) -> Result<()> {
        Ok(self.inner.set_global(name, value)?)
    }

    /// The initial value of the global variable `name`.
    pub fn global<T: Pod>(&self, name: &str) -> Result<T> {
        read_pod(name, &self.inner.get_global(name)?)
    }

    /// Whether `load` loads the program `name`.
    pub fn set_autoload(&mut self, program: &str, autoload: bool) -> Result<()> {
        Ok(self.inner.find_program(program)?.set_autoload(autoload)?)
    }

    /// Changes the size the map `name` is created with.
    pub fn set_max_entries(&mut self, map: &str, max_entries: u32) -> Result<()> {
        Ok(self.inner.find_map(map)?.set_max_entries(max_entries)?)
    }

    /// The map `name`: before `load`, its info and its settings
    /// ([`Map::set_value_size`] and the other `set_*` calls).
    pub fn map(&self, name: &str) -> Result<Map> {
        Ok(Map::new(self.inner.find_map(name)?))
    }

    /// The program `name`, to configure before `load`
    /// ([`Program::set_attach_target`] and the other `set_*` calls).
    pub fn program(&self, name: &str) -> Result<Program> {
        Ok(Program::new(self.inner.find_program(name)?))
    }

    /// How struct `name` of the object's BTF reads as a self-describing
    /// record (see [`Object::record_layout`]).
    pub fn record_layout(&self, name: &str) -> Result<crate::probe::Layout> {
        Ok(crate::probe::Layout::new(self.inner.record_layout(name)?))
    }

    /// Every map of the object.
    pub fn maps(&self) -> Vec<MapInfo> {
        self.inner.maps()
    }

    /// Every program of the object.
    pub fn programs(&self) -> Vec<ProgramInfo> {
        self.inner.programs()
    }

    /// Every global variable of the object's BTF: what `set_global` and
    /// `global` take, and the marker variables some tools declare
    /// (Inspektor Gadget's `gadget_tracer_*`, `gadget_param_*`).
    pub fn globals(&self) -> Result<Vec<GlobalInfo>> {
        Ok(self.inner.globals()?)
    }

    /// For each field of [`Self::record_layout`]`(name)`, the typedef
    /// its member was declared with (`gadget_errno`, `__u32`).
    pub fn field_typedefs(&self, name: &str) -> Result<Vec<Option<String>>> {
        Ok(self.inner.field_typedefs(name)?)
    }

    /// The struct names of map `name`'s keys and values, to read its
    /// entries with [`Self::record_layout`].
    pub fn map_types(&self, name: &str) -> Result<MapTypes> {
        Ok(self.inner.map_types(name)?)
    }

    /// Creates the maps, relocates against the running kernel (CO-RE) and
    /// verifies the programs. A verifier rejection is an error with code
    /// `VerifierRejected` and the verifier log in its message.
    pub fn load(self) -> Result<Object> {
        self.inner.load()?;
        Ok(Object { inner: self.inner })
    }

    /// The raw resource, for calls the wrapper does not cover.
    pub fn as_raw(&self) -> &BpfObject {
        &self.inner
    }
}
