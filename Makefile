# wasm-bpf. On a fresh Debian 12 machine (the tests need root):
#
#   make run    installs what is needed, builds everything and runs the
#               bootstrap example, which traces process starts and exits
#   make test   runs the whole test suite (lints included)
#   make check  the fast loop: fmt, clippy, every crate's unit tests; no
#               root, no kernel programs, no LTO
#   make dist   the shipped host binary (LTO): target/dist/wasm-bpf
#   make bench  compares wasm-bpf with native libbpf-rs (BENCHMARKS.md)
#   make soak   the long runs: 60 s event storms, exit paths 15 times
#
# `make bootstrap ARGS="-d 100"` passes arguments to the example; every
# example under examples/ is built to target/wasm32-wasip2/guest/NAME.wasm.

CARGO    ?= cargo
SUDO     := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
GUEST    := --profile guest --target wasm32-wasip2
GUESTDIR := target/wasm32-wasip2/guest
HOST     := target/release/wasm-bpf
# Every guest component: the examples (Rust ones are cargo packages; C,
# Python and JavaScript ones have a Makefile) and the test guests.
EXAMPLES   := $(notdir $(patsubst %/Cargo.toml,%,$(wildcard examples/*/Cargo.toml)))
C_GUESTS   := $(patsubst %/Makefile,%,$(wildcard examples/*/Makefile tests/guests/*/Makefile))
GUESTS     := $(addprefix -p ,$(EXAMPLES) host-api bench bench-probe bench-sink bad-sink)

.PHONY: run test check dist bench soak setup build host guests c-guests bootstrap lint image image-push apps fuzz fuzz-tool fuzz-btf fuzz-legacy fuzz-calls fuzz-programs fuzz-registry fuzz-archive fuzz-smoke

run: setup build bootstrap

# Everything the build and the tests need from the machine (Debian
# packages, the Rust wasm target, tracefs, bpffs, ...): tests/machine.sh
# lists each item, creates what is missing and fails naming what it cannot.
setup:
	@bash tests/machine.sh setup

build: guests c-guests

# The gadget runner (`run` of an Inspektor Gadget image) is the loader and
# its consumers, which the host finds in gadget/ beside its binary.
RUNNER := loader columns json
guests:
	$(CARGO) build $(GUEST) $(GUESTS)
	for dir in target/release/gadget target/dist/gadget; do \
		mkdir -p $$dir && cp $(RUNNER:%=$(GUESTDIR)/%.wasm) $$dir/ || exit 1; done

host:
	$(CARGO) build --release -p wasm-bpf

dist:
	$(CARGO) build --profile dist -p wasm-bpf

# C guests are built by the host's generators (skeletons, bindings,
# componentize), so after it.
c-guests: host
	for dir in $(C_GUESTS); do $(MAKE) -C $$dir || exit 1; done

bootstrap:
	$(SUDO) $(HOST) run $(GUESTDIR)/bootstrap.wasm $(ARGS)

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --release --workspace --all-targets -- -D warnings
	$(CARGO) clippy --release -p wasm-bpf --no-default-features --all-targets -- -D warnings
	$(CARGO) clippy $(GUEST) $(GUESTS) -- -D warnings

# What a change should pass first: no root, no kernel programs, no LTO.
check:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --release --all-targets -- -D warnings
	$(CARGO) clippy --release -p wasm-bpf --no-default-features --all-targets -- -D warnings
	$(CARGO) test --release --lib --bins
	$(CARGO) test --release -p wasm-bpf-btf -p wasm-bpf-build

test: setup build lint
	$(CARGO) test --release
	$(CARGO) test --release -p filter -p columns -p loader -p wasm-bpf-guest \
		--features wasm-bpf-guest/gadget --lib --bins
	$(MAKE) fuzz-smoke

# Fuzzing with cargo-fuzz, which needs the nightly toolchain:
#   btf_layout  the BTF reader behind gen, inspect and build scripts
#               (guest-sdk-rust/build/fuzz), its corpus seeded with the
#               objects the build made;
#   legacy_abi  the original wasm-bpf ABI's pointers and lengths against the
#               real host and kernel (host/fuzz; root);
#   host_calls  sequences of the WIT host calls (live, stale and forged
#               handles, wrong sizes, huge lengths) against the real host
#               and kernel (host/fuzz; root);
#   program_calls  the policy's helper and kfunc check over arbitrary
#               instruction streams and grants, against the kernel's BTF
#               (host/fuzz);
#   registry_documents  app and signature manifests, configs, signed
#               payloads and identities as a registry sends them (host/fuzz);
#   archive_import  `wasm-bpf import` of a hostile archive into a store of
#               its own (host/fuzz).
# `make fuzz FUZZ_SECONDS=3600` for a long run; `make test` runs 30 s each.
FUZZ_SECONDS ?= 600
FUZZDIR      := guest-sdk-rust/build/fuzz
fuzz: fuzz-btf fuzz-legacy fuzz-calls fuzz-programs fuzz-registry fuzz-archive

fuzz-tool:
	@command -v cargo-fuzz >/dev/null || $(CARGO) install --locked cargo-fuzz

fuzz-btf: fuzz-tool
	mkdir -p $(FUZZDIR)/corpus/btf_layout
	for obj in target/wasm32-wasip2/guest/build/*/out/*.bpf.o; do \
		cp "$$obj" "$(FUZZDIR)/corpus/btf_layout/$$(basename $$(dirname $$(dirname $$obj)))-$$(basename $$obj)"; \
	done
	cd $(FUZZDIR) && $(CARGO) +nightly fuzz run btf_layout corpus/btf_layout -- \
		-max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=10

fuzz-legacy: fuzz-tool c-guests
	mkdir -p host/fuzz/corpus/legacy_abi
	cp host/fuzz/seeds/legacy_abi/* host/fuzz/corpus/legacy_abi/
	cd host/fuzz && LSAN_OPTIONS=suppressions=$(CURDIR)/host/fuzz/lsan.supp \
		$(CARGO) +nightly fuzz run --fuzz-dir . legacy_abi corpus/legacy_abi -- \
		-max_total_time=$(FUZZ_SECONDS) -max_len=4096 -timeout=30

fuzz-calls: fuzz-tool guests
	mkdir -p host/fuzz/corpus/host_calls
	cp host/fuzz/seeds/host_calls/* host/fuzz/corpus/host_calls/
	cd host/fuzz && LSAN_OPTIONS=suppressions=$(CURDIR)/host/fuzz/lsan.supp \
		$(CARGO) +nightly fuzz run --fuzz-dir . host_calls corpus/host_calls -- \
		-max_total_time=$(FUZZ_SECONDS) -max_len=4096 -timeout=30

fuzz-programs: fuzz-tool
	mkdir -p host/fuzz/corpus/program_calls
	cd host/fuzz && $(CARGO) +nightly fuzz run --fuzz-dir . program_calls corpus/program_calls -- \
		-max_total_time=$(FUZZ_SECONDS) -max_len=1024 -timeout=10

fuzz-registry: fuzz-tool
	mkdir -p host/fuzz/corpus/registry_documents
	cp host/fuzz/seeds/registry_documents/* host/fuzz/corpus/registry_documents/
	cd host/fuzz && $(CARGO) +nightly fuzz run --fuzz-dir . registry_documents corpus/registry_documents -- \
		-max_total_time=$(FUZZ_SECONDS) -max_len=8192 -timeout=10

fuzz-archive: fuzz-tool
	mkdir -p host/fuzz/corpus/archive_import
	cp host/fuzz/seeds/archive_import/* host/fuzz/corpus/archive_import/
	cd host/fuzz && $(CARGO) +nightly fuzz run --fuzz-dir . archive_import corpus/archive_import -- \
		-max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=10

fuzz-smoke:
	@if rustup toolchain list | grep -q '^nightly'; then \
		$(MAKE) fuzz FUZZ_SECONDS=30; \
	else \
		echo "SKIPPED fuzz smoke run: no nightly toolchain (cargo-fuzz needs one)"; \
	fi

# The long runs behind #6's figures: a 60 s event storm per case and the
# exit paths 15 times each (CI runs 3 s and 3 times).
soak: build
	WASM_BPF_STORM_SECONDS=60 $(CARGO) test --release --test storm -- --nocapture
	WASM_BPF_EXIT_RUNS=15 $(CARGO) test --release --test exit_paths

# The agent's container image (deploy/image/build.sh: the shipped binary
# and what it links, FROM scratch, with podman and no daemon), and its push
# to a registry: `make image-push REGISTRY=127.0.0.1:5000`
# (TLS_VERIFY=false for a plain-HTTP one).
VERSION    ?= 0.1.0
IMAGE      ?= localhost/wasm-bpf/agent:$(VERSION)
TLS_VERIFY ?= true
image: dist
	deploy/image/build.sh target/dist/wasm-bpf $(IMAGE)

image-push: image
	podman push --tls-verify=$(TLS_VERIFY) $(IMAGE) docker://$(REGISTRY)/wasm-bpf/agent:$(VERSION)

# The apps deploy/kubernetes's overlays run: bootstrap's probe composed
# with the json and with the metrics consumer, in target/apps.
apps: build
	mkdir -p target/apps
	$(HOST) compose $(GUESTDIR)/bootstrap-probe.wasm $(GUESTDIR)/json.wasm -o target/apps/bootstrap-json.wasm
	$(HOST) compose $(GUESTDIR)/bootstrap-probe.wasm $(GUESTDIR)/metrics.wasm -o target/apps/bootstrap-metrics.wasm

# wasm-bpf against native libbpf-rs; prints the table, writes BENCHMARKS.md.
bench: setup guests
	$(CARGO) bench --profile dist -p wasm-bpf --bench compare
