# The toolchain of C components, shared by guest.mk (BPF applications) and
# Makefiles of components with no BPF side (consumers of a probe's WIT).
# NAME defaults to the including directory's name.

SDK       := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
ROOT      := $(abspath $(SDK)/..)
NAME      ?= $(notdir $(CURDIR))
WASM_BPF  ?= $(ROOT)/target/release/wasm-bpf
CLANG     ?= clang-19
OUT       ?= $(ROOT)/target/wasm32-wasi/c/$(NAME)
GUESTDIR  ?= $(ROOT)/target/wasm32-wasip2/guest
CFLAGS    ?= -O2 -Wall -Wextra -Wno-unused-parameter
# wasi-libc's emulated signal(): tools install their SIGINT handler as
# natively, and the SDK runs it when the host asks the guest to stop.
# Its emulated getrusage()/clock() and getpid(), which <sys/resource.h>
# and <unistd.h> otherwise refuse or leave out: every libbpf-tools tool
# includes the first, trace_helpers.c calls the second.
# Headers come from wasi-libc and the SDK only: with --sysroot=/usr alone,
# clang falls back to /usr/include, where the build machine's glibc and
# library headers (nlist.h, pcap.h) compile and then fail in confusing ways.
WASM_CC   := $(CLANG) --target=wasm32-wasi --sysroot=/usr -nostdlibinc \
	-isystem /usr/include/wasm32-wasi -D_WASI_EMULATED_SIGNAL \
	-D_WASI_EMULATED_PROCESS_CLOCKS -D_WASI_EMULATED_GETPID
# A reactor: a command's exports run its constructors and destructors
# around every call (src/run.c calls main() once instead). wasi-libc's
# libc.a carries DWARF, which the component does not need.
WASM_LD   := -fuse-ld=/usr/bin/wasm-ld-19 -mexec-model=reactor -Wl,--strip-debug \
	-lwasi-emulated-signal -lwasi-emulated-process-clocks -lwasi-emulated-getpid
