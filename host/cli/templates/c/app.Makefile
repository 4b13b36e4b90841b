# {{name}}: `make` builds {{ident}}.wasm from {{ident}}.bpf.c (the kernel
# half) and {{ident}}.c (user space), with the wasm-bpf C SDK.
APP      := {{ident}}
NAME     := {{ident}}
# The SDK of the checkout the wasm-bpf binary was built from, and that
# binary (it writes vmlinux.h, the skeleton and the WIT bindings).
SDK_DIR  ?= {{sdk}}/guest-sdk-c
WASM_BPF ?= {{wasm_bpf}}
OUT      := build
GUESTDIR := .
include $(SDK_DIR)/guest.mk
