# {{name}}: `make` builds {{ident}}.wasm from {{ident}}.c. A consumer has no
# BPF side: its bindings come from the WIT in wit/, the `consumer` world
# of wasm-bpf:bpf.
NAME     := {{ident}}
# The SDK of the checkout the wasm-bpf binary was built from, and that
# binary (it writes the WIT bindings and makes the component).
SDK_DIR  ?= {{sdk}}/guest-sdk-c
WASM_BPF ?= {{wasm_bpf}}
OUT      := build
GUESTDIR := .
include $(SDK_DIR)/toolchain.mk

.PHONY: all clean
all: $(NAME).wasm

$(OUT)/bindings/consumer.h: $(wildcard wit/*.wit) $(WASM_BPF)
	$(WASM_BPF) gen c-bindings --wit wit --world consumer -o $(OUT)/bindings

$(OUT)/$(NAME).core.wasm: $(NAME).c $(OUT)/bindings/consumer.h
	$(WASM_CC) $(WASM_LD) $(CFLAGS) -I$(OUT)/bindings $(NAME).c $(OUT)/bindings/consumer.c \
		$(OUT)/bindings/consumer_component_type.o -o $@

$(NAME).wasm: $(OUT)/$(NAME).core.wasm
	$(WASM_BPF) componentize $< -o $@

clean:
	rm -rf $(OUT) $(NAME).wasm
