# Building a wasm-bpf C guest with Debian's clang-19, wasi-libc and this SDK.
#
# An application's Makefile sets APP and includes this file:
#
#   APP := bootstrap
#   include ../../guest-sdk-c/guest.mk
#
# Its sources are APP.bpf.c (the BPF side), APP.c (user space, which
# includes "APP.skel.h") and any headers next to them; EXTRA_SRC names
# more user-space files (a tool's shared helpers):
#
#   EXTRA_SRC := compat.c trace_helpers.c
# An application with
# several BPF objects lists them in BPF (default: APP); each X.bpf.c gets
# an X.skel.h. `make` writes the
# component to $(GUESTDIR)/$(NAME).wasm; NAME defaults to the directory's
# name. An application that also speaks a WIT of its own, as a typed probe
# imports the `sink` of the WIT `wasm-bpf gen wit` wrote, names the file
# and the world, and includes "WORLD.h":
#
#   WIT   := ../bootstrap-typed/wit/bootstrap.wit
#   WORLD := probe
#
# The steps, in order:
#   wasm-bpf gen bpf-headers   vmlinux.h (running kernel) + libbpf BPF headers
#   clang-19 -target bpf       APP.bpf.o, DWARF stripped, BTF kept
#   wasm-bpf gen skeleton      APP.skel.h, with the object embedded
#   wasm-bpf gen c-bindings    the WIT bindings this SDK is built on
#   clang-19 wasm32-wasi       a WASI reactor core module
#   wasm-bpf componentize      the component `wasm-bpf run` takes

include $(dir $(lastword $(MAKEFILE_LIST)))toolchain.mk
BPF       ?= $(APP)
STRIP     ?= llvm-strip-19
BPF_ARCH  := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/' -e 's/riscv64/riscv/')
MULTIARCH := $(shell uname -m)-linux-gnu
SDK_SRC   := $(wildcard $(SDK)/src/*.c)
SDK_HDR   := $(wildcard $(SDK)/include/*.h $(SDK)/include/*/*.h $(SDK)/src/*.h)

.PHONY: all clean
# Keep the objects and skeletons the pattern rules make (for inspection).
.SECONDARY:
all: $(GUESTDIR)/$(NAME).wasm

# From the running kernel's BTF, or the file $VMLINUX_H names.
$(OUT)/include/vmlinux.h: $(VMLINUX_H)
	$(WASM_BPF) gen bpf-headers -o $(OUT)/include

$(OUT)/%.bpf.o: %.bpf.c $(wildcard *.h) $(OUT)/include/vmlinux.h
	$(CLANG) -g -O2 -target bpf -Wall -D__TARGET_ARCH_$(BPF_ARCH) \
		-idirafter /usr/include/$(MULTIARCH) -I$(OUT)/include -I. -c $< -o $@
	$(STRIP) -g $@

$(OUT)/%.skel.h: $(OUT)/%.bpf.o $(WASM_BPF)
	$(WASM_BPF) gen skeleton $< -o $@

# The kernel's UAPI <linux/bpf.h> and <linux/btf.h>, which the SDK's
# <bpf/bpf.h> and <bpf/btf.h> include as libbpf's do; types come from the
# SDK's <linux/types.h>.
UAPI      ?= /usr/include/linux
# And, beside them, portable headers of libraries the SDK provides for
# wasm32: glibc's <elf.h> (the types of the SDK's <libelf.h>/<gelf.h>) and
# zlib's <zlib.h>/<zconf.h> (for the zlib below).
UAPI_H    := $(OUT)/uapi/linux/bpf.h $(OUT)/uapi/linux/bpf_common.h $(OUT)/uapi/linux/btf.h \
	$(OUT)/uapi/elf.h $(OUT)/uapi/bits/auxv.h $(OUT)/uapi/zlib.h $(OUT)/uapi/zconf.h

$(OUT)/uapi/linux/%.h: $(UAPI)/%.h
	@mkdir -p $(dir $@)
	cp $< $@

$(OUT)/uapi/%.h: /usr/include/%.h
	@mkdir -p $(dir $@)
	cp $< $@

$(OUT)/uapi/bits/auxv.h: /usr/include/$(MULTIARCH)/bits/auxv.h
	@mkdir -p $(dir $@)
	cp $< $@

# zlib's C API for tools that include <zlib.h> (btf_helpers.c): zlib-rs
# built for wasm32 (guest-sdk-c/zlib). Linked into every guest; only what a
# guest calls is kept.
ZLIB      := $(ROOT)/target/wasm32-wasip2/guest/libwasm_bpf_zlib.a

$(ZLIB): $(SDK)/zlib/Cargo.toml $(SDK)/zlib/src/lib.rs
	cd $(ROOT) && cargo build --profile guest --target wasm32-wasip2 -p wasm-bpf-zlib

$(OUT)/bindings/bpf_app.h: $(WASM_BPF)
	$(WASM_BPF) gen c-bindings -o $(OUT)/bindings

ifdef WIT
WIT_H    := $(OUT)/wit/$(WORLD).h
WIT_OBJS := $(OUT)/wit/$(WORLD).c $(OUT)/wit/$(WORLD)_component_type.o

$(WIT_H): $(WIT) $(WASM_BPF)
	$(WASM_BPF) gen c-bindings --wit $(WIT) --world $(WORLD) -o $(OUT)/wit
endif

APP_SRC   := $(APP).c $(EXTRA_SRC)
APP_OBJS  := $(APP_SRC:%.c=$(OUT)/app/%.o)

$(OUT)/app/%.o: %.c $(wildcard *.h) $(SDK_HDR) $(BPF:%=$(OUT)/%.skel.h) \
		$(OUT)/bindings/bpf_app.h $(WIT_H) $(UAPI_H)
	@mkdir -p $(dir $@)
	$(WASM_CC) $(CFLAGS) -I$(SDK)/include -I$(OUT)/uapi -I$(OUT) -I$(OUT)/wit -I. -c $< -o $@

# close() goes through the SDK, which frees the descriptors of
# bpf_prog_load() and friends (src/raw.c); wasi-libc's lookup of a path's
# grant too, which tells the host of a path no grant holds (src/grants.c).
$(OUT)/$(NAME).core.wasm: $(APP_OBJS) $(SDK_SRC) $(SDK_HDR) $(OUT)/bindings/bpf_app.h $(WIT_H) \
		$(UAPI_H) $(ZLIB)
	$(WASM_CC) $(WASM_LD) -Wl,--wrap=close -Wl,--wrap=__wasilibc_find_relpath $(CFLAGS) -I$(SDK)/include -I$(OUT)/uapi \
		-I$(OUT)/bindings $(SDK_SRC) $(OUT)/bindings/bpf_app.c \
		$(OUT)/bindings/bpf_app_component_type.o $(WIT_OBJS) $(APP_OBJS) $(ZLIB) -o $@

$(GUESTDIR)/$(NAME).wasm: $(OUT)/$(NAME).core.wasm
	@mkdir -p $(GUESTDIR)
	$(WASM_BPF) componentize $< -o $@

clean:
	rm -rf $(OUT) $(GUESTDIR)/$(NAME).wasm
