//! zlib's C API for wasm-bpf C guests: libz-rs-sys's exported symbols
//! (`inflateInit2_`, `inflate`, `crc32`, ...), built into a static library
//! that `guest.mk` links beside wasi-libc. The guest's headers are the
//! build machine's `zlib.h`/`zconf.h`, which zlib-rs's `z_stream` matches.
//!
//! On wasm the library carries no Rust standard library: zlib-rs needs only
//! `core` and `alloc`, and both allocate with the guest's libc, so that a
//! C tool has one heap.
#![cfg_attr(target_family = "wasm", no_std)]

pub use libz_rs_sys;

#[cfg(all(target_family = "wasm", not(test)))]
mod guest {
    use core::alloc::{GlobalAlloc, Layout};
    use core::ffi::c_void;

    extern "C" {
        fn aligned_alloc(align: usize, size: usize) -> *mut c_void;
        fn free(ptr: *mut c_void);
    }

    struct Libc;

    // SAFETY: aligned_alloc returns memory of at least `size` bytes at a
    // multiple of `align` (a power of two, as Layout guarantees) or NULL;
    // free takes what it returned.
    unsafe impl GlobalAlloc for Libc {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            let size = layout.size().next_multiple_of(layout.align());
            // SAFETY: see the impl.
            unsafe { aligned_alloc(layout.align(), size).cast() }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, _: Layout) {
            // SAFETY: see the impl.
            unsafe { free(ptr.cast()) }
        }
    }

    #[global_allocator]
    static ALLOCATOR: Libc = Libc;

    /// zlib-rs panics only on a bug of its own; in a guest that is a trap.
    #[panic_handler]
    fn panic(_: &core::panic::PanicInfo) -> ! {
        core::arch::wasm32::unreachable()
    }
}
