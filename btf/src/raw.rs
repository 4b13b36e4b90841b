//! A BTF as libbpf parses it, owned and read through libbpf's accessors:
//! an object's `.BTF` section as clang wrote it, or the running kernel's.
//!
//! libbpf-rs's `Btf` opens a whole object to get at its BTF, and libbpf
//! rewrites some types while opening (extern functions become global
//! ones); the checks and listings here need the bytes as built.

use std::collections::BTreeSet;
use std::ffi::CStr;
use std::ptr::NonNull;

/// One parsed BTF, freed on drop.
pub struct RawBtf(NonNull<libbpf_sys::btf>);

// SAFETY: the BTF is only read after parsing, and freed once, on drop.
unsafe impl Send for RawBtf {}

/// A type's kind and the type it refers to (for typedefs, qualifiers,
/// pointers, functions), as its header has them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// `BTF_KIND_*`.
    pub kind: u32,
    /// The kind-specific low bits of `info` (a function's linkage).
    pub vlen: u32,
    /// The referred type's id (or a size, for kinds that have one).
    pub next: u32,
}

impl RawBtf {
    /// The `.BTF` section of the ELF object `elf`; `None` if it has none
    /// or libbpf cannot parse it.
    pub fn of_object(elf: &[u8]) -> Option<Self> {
        Self::parse(crate::elf::section(elf, ".BTF")?)
    }

    /// Raw BTF bytes; `None` if libbpf cannot parse them.
    pub fn parse(raw: &[u8]) -> Option<Self> {
        let size = u32::try_from(raw.len()).ok()?;
        // SAFETY: libbpf copies `size` bytes from `raw` and returns an
        // owned BTF, NULL or an error pointer.
        let btf = unsafe { libbpf_sys::btf__new(raw.as_ptr().cast(), size) };
        Self::owned(btf)
    }

    /// The running kernel's BTF (`/sys/kernel/btf/vmlinux`, or libbpf's
    /// other places for it).
    pub fn kernel() -> Option<Self> {
        // SAFETY: no preconditions; an owned BTF, NULL or an error pointer.
        Self::owned(unsafe { libbpf_sys::btf__load_vmlinux_btf() })
    }

    fn owned(btf: *mut libbpf_sys::btf) -> Option<Self> {
        // SAFETY: `btf` is what a libbpf constructor returned.
        if btf.is_null() || unsafe { libbpf_sys::libbpf_get_error(btf.cast()) } != 0 {
            return None;
        }
        NonNull::new(btf).map(Self)
    }

    /// One more than the last type id (id 0 is `void`).
    pub fn type_count(&self) -> u32 {
        // SAFETY: the BTF is live.
        unsafe { libbpf_sys::btf__type_cnt(self.0.as_ptr()) }
    }

    /// The header of type `id`, if there is one.
    pub fn header(&self, id: u32) -> Option<Header> {
        // SAFETY: the BTF is live; libbpf checks `id` and returns NULL for
        // ids it does not have.
        let ty = unsafe { libbpf_sys::btf__type_by_id(self.0.as_ptr(), id) };
        if ty.is_null() {
            return None;
        }
        // SAFETY: `ty` points at one of the live BTF's types.
        let (info, next) = unsafe { ((*ty).info, (*ty).__bindgen_anon_1.type_) };
        Some(Header {
            kind: (info >> 24) & 0x1f,
            vlen: info & 0xffff,
            next,
        })
    }

    /// The size in bytes of type `id` as libbpf resolves it (through
    /// typedefs, qualifiers, variables and arrays); `None` for types with
    /// no size.
    pub fn resolve_size(&self, id: u32) -> Option<i64> {
        // SAFETY: the BTF is live; libbpf checks `id` and bounds its walk.
        let size = unsafe { libbpf_sys::btf__resolve_size(self.0.as_ptr(), id) };
        (size >= 0).then_some(size)
    }

    /// The name of type `id`, if it has one.
    fn name(&self, id: u32) -> Option<String> {
        // SAFETY: as in `header`.
        let ty = unsafe { libbpf_sys::btf__type_by_id(self.0.as_ptr(), id) };
        if ty.is_null() {
            return None;
        }
        // SAFETY: `ty` points into the live BTF; libbpf returns NULL for an
        // offset out of its string section.
        let name = unsafe { libbpf_sys::btf__name_by_offset(self.0.as_ptr(), (*ty).name_off) };
        // SAFETY: libbpf returns NULL or a NUL-terminated string it owns.
        (!name.is_null()).then(|| {
            unsafe { CStr::from_ptr(name) }
                .to_string_lossy()
                .into_owned()
        })
    }

    /// The string at `offset` of the BTF's string section.
    pub fn string(&self, offset: u32) -> Option<String> {
        // SAFETY: the BTF is live; libbpf checks the offset and returns
        // NULL or a NUL-terminated string it owns.
        let s = unsafe { libbpf_sys::btf__str_by_offset(self.0.as_ptr(), offset) };
        // SAFETY: as above.
        (!s.is_null()).then(|| {
            unsafe { std::ffi::CStr::from_ptr(s) }
                .to_string_lossy()
                .into_owned()
        })
    }

    /// The name of function `id`, if `id` is a function.
    pub fn func_name(&self, id: u32) -> Option<String> {
        (self.header(id)?.kind == libbpf_sys::BTF_KIND_FUNC)
            .then(|| self.name(id))
            .flatten()
    }

    /// The functions declared `extern`: in an object, the kfuncs it calls.
    pub fn extern_funcs(&self) -> BTreeSet<String> {
        (1..self.type_count())
            .filter(|&id| {
                self.header(id).is_some_and(|h| {
                    h.kind == libbpf_sys::BTF_KIND_FUNC && h.vlen == libbpf_sys::BTF_FUNC_EXTERN
                })
            })
            .filter_map(|id| self.name(id))
            .collect()
    }
}

impl Drop for RawBtf {
    fn drop(&mut self) {
        // SAFETY: owned since parsing, freed once.
        unsafe { libbpf_sys::btf__free(self.0.as_ptr()) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kernels_functions_are_named_by_id() {
        let btf = RawBtf::kernel().expect("the kernel's BTF (tests/machine.sh)");
        let (id, name) = (1..btf.type_count())
            .find_map(|id| Some((id, btf.func_name(id)?)))
            .expect("a function in the kernel's BTF");
        assert!(!name.is_empty());
        assert_eq!(
            btf.header(id).map(|h| h.kind),
            Some(libbpf_sys::BTF_KIND_FUNC)
        );
        assert_eq!(btf.func_name(btf.type_count()), None);
        assert!(
            btf.extern_funcs().is_empty(),
            "the kernel defines its functions"
        );
    }

    #[test]
    fn what_is_not_btf_is_none() {
        assert!(RawBtf::of_object(b"not an object").is_none());
    }
}
