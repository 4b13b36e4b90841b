# Building a wasm-bpf C guest with Debian's clang-19, wasi-libc and this SDK.
#
# An application's Makefile sets APP and includes this file:
#
#   APP := bootstrap
#   include ../../guest-sdk-c/guest.mk
#
# Its sources are APP.bpf.c (the BPF side), APP.c (user space, which
# includes "APP.skel.h") and any headers next to them. An application with
# several BPF objects lists them in BPF (default: APP); each X.bpf.c gets
# an X.skel.h. `make` writes the
# component to $(GUESTDIR)/$(NAME).wasm; NAME defaults to the directory's
# name. The steps, in order:
#   wasm-bpf gen bpf-headers   vmlinux.h (running kernel) + libbpf BPF headers
#   clang-19 -target bpf       APP.bpf.o, DWARF stripped, BTF kept
#   wasm-bpf gen skeleton      APP.skel.h, with the object embedded
#   wasm-bpf gen c-bindings    the WIT bindings this SDK is built on
#   clang-19 wasm32-wasi       a WASI reactor core module
#   wasm-bpf componentize      the component `wasm-bpf run` takes

SDK       := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
ROOT      := $(abspath $(SDK)/..)
NAME      ?= $(notdir $(CURDIR))
BPF       ?= $(APP)
WASM_BPF  ?= $(ROOT)/target/release/wasm-bpf
CLANG     ?= clang-19
STRIP     ?= llvm-strip-19
OUT       ?= $(ROOT)/target/wasm32-wasi/c/$(NAME)
GUESTDIR  ?= $(ROOT)/target/wasm32-wasip2/guest
BPF_ARCH  := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/' -e 's/riscv64/riscv/')
MULTIARCH := $(shell uname -m)-linux-gnu
SDK_SRC   := $(wildcard $(SDK)/src/*.c)
SDK_HDR   := $(wildcard $(SDK)/include/bpf/*.h $(SDK)/src/*.h)
CFLAGS    ?= -O2 -Wall -Wextra -Wno-unused-parameter
WASM_CC   := $(CLANG) --target=wasm32-wasi --sysroot=/usr
# A reactor: a command's exports run its constructors and destructors
# around every call (src/run.c calls main() once instead). wasi-libc's
# libc.a carries DWARF, which the component does not need.
WASM_LD   := -fuse-ld=/usr/bin/wasm-ld-19 -mexec-model=reactor -Wl,--strip-debug

.PHONY: all clean
# Keep the objects and skeletons the pattern rules make (for inspection).
.SECONDARY:
all: $(GUESTDIR)/$(NAME).wasm

$(OUT)/include/vmlinux.h:
	$(WASM_BPF) gen bpf-headers -o $(OUT)/include

$(OUT)/%.bpf.o: %.bpf.c $(wildcard *.h) $(OUT)/include/vmlinux.h
	$(CLANG) -g -O2 -target bpf -Wall -D__TARGET_ARCH_$(BPF_ARCH) \
		-idirafter /usr/include/$(MULTIARCH) -I$(OUT)/include -I. -c $< -o $@
	$(STRIP) -g $@

$(OUT)/%.skel.h: $(OUT)/%.bpf.o $(WASM_BPF)
	$(WASM_BPF) gen skeleton $< -o $@

$(OUT)/bindings/bpf_app.h: $(WASM_BPF)
	$(WASM_BPF) gen c-bindings -o $(OUT)/bindings

$(OUT)/$(NAME).core.wasm: $(APP).c $(wildcard *.h) $(SDK_SRC) $(SDK_HDR) \
		$(BPF:%=$(OUT)/%.skel.h) $(OUT)/bindings/bpf_app.h
	$(WASM_CC) $(CFLAGS) -I$(SDK)/include -I$(OUT) -I. -c $(APP).c -o $(OUT)/$(APP).o
	$(WASM_CC) $(WASM_LD) $(CFLAGS) -I$(SDK)/include -I$(OUT)/bindings $(SDK_SRC) \
		$(OUT)/bindings/bpf_app.c $(OUT)/bindings/bpf_app_component_type.o \
		$(OUT)/$(APP).o -o $@

$(GUESTDIR)/$(NAME).wasm: $(OUT)/$(NAME).core.wasm
	@mkdir -p $(GUESTDIR)
	$(WASM_BPF) componentize $< -o $@

clean:
	rm -rf $(OUT) $(GUESTDIR)/$(NAME).wasm
