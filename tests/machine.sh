#!/usr/bin/env bash
# The machine state the build and the tests rely on, one item a line.
#
#   tests/machine.sh report   prints each item with what was found (exit 0)
#   tests/machine.sh check    the same, exit 1 naming what is missing
#   tests/machine.sh setup    creates what is missing, then checks
#
# `make setup` (which both README commands run) calls `setup`; `.ci/run`
# prints `report` first, so a CI log shows the machine as it was found.
# Every item a test needs is here: a test that finds one missing fails
# naming it and this script.
set -u

APT="clang-19 llvm-19 lld-19 libelf-dev zlib1g-dev pkg-config make bpftool linux-libc-dev \
wasi-libc libclang-rt-19-dev-wasm32 iproute2 systemtap-sdt-dev \
docker-registry skopeo apache2-utils openssl python3-venv podman runc tzdata gzip"
# A second registry client for the interop tests: the oras Python package,
# pinned, in a venv of the build's own.
ORAS_VERSION=0.2.25
ORAS_VENV="$(cd "$(dirname "$0")/.." && pwd)/target/tools/oras"
# The Kubernetes manifests' offline schema check (and PyYAML, for
# deploy/kubernetes/pod.py), pinned, in a venv of the build's own.
K8S_VALIDATE_VERSION=1.37.0
K8S_VENV="$(cd "$(dirname "$0")/.." && pwd)/target/tools/k8s"
# Consumers in Python and JavaScript (examples/*-py, examples/*-js):
# componentize-py from PyPI and componentize-js from npm, pinned.
COMPONENTIZE_PY_VERSION=0.25.1
PY_VENV="$(cd "$(dirname "$0")/.." && pwd)/target/tools/py"
COMPONENTIZE_JS_VERSION=0.23.0
JS_PREFIX="$(cd "$(dirname "$0")/.." && pwd)/target/tools/js"
SUDO=$([ "$(id -u)" = 0 ] || echo sudo)

fs_type() { stat -f -c %T "$1" 2>/dev/null; }

# Each item: a name, how to see it, and how to make it.
missing_apt() { for p in $APT; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done; }

has_root() { [ "$(id -u)" = 0 ]; }
has_btf() { [ -r /sys/kernel/btf/vmlinux ]; }
has_apt() { [ -z "$(missing_apt)" ]; }
has_wasm_target() { rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; }
has_tracefs() { [ -d /sys/kernel/tracing/events ]; }
has_bpffs() { [ "$(fs_type /sys/fs/bpf)" = bpf_fs ]; }
has_cgroup2() { grep -q ' cgroup2 ' /proc/self/mounts; }
has_netns() { ip netns list >/dev/null 2>&1; }
has_oras() { "$ORAS_VENV/bin/python" -c "import oras.version as v; assert v.__version__ == '$ORAS_VERSION'" 2>/dev/null; }
has_k8s_validate() { "$K8S_VENV/bin/python" -c "import kubernetes_validate.version as v, yaml; assert v.__version__ == '$K8S_VALIDATE_VERSION'" 2>/dev/null; }
has_componentize_py() { [ "$("$PY_VENV/bin/componentize-py" --version 2>/dev/null | awk '{print $2}')" = "$COMPONENTIZE_PY_VERSION" ]; }
has_node() { command -v node >/dev/null && command -v npm >/dev/null; }
has_componentize_js() { grep -q "\"version\": \"$COMPONENTIZE_JS_VERSION\"" "$JS_PREFIX/node_modules/@bytecodealliance/componentize-js/package.json" 2>/dev/null; }
has_kubectl() { kubectl kustomize --help >/dev/null 2>&1; }
has_nightly() { rustup toolchain list 2>/dev/null | grep -q '^nightly'; }

make_apt() {
	local missing
	missing=$(missing_apt)
	echo "installing:" $missing
	$SUDO apt-get update -qq &&
		$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing
}
make_wasm_target() { rustup target add wasm32-wasip2; }
make_tracefs() { $SUDO mount -t tracefs tracefs /sys/kernel/tracing; }
make_bpffs() { $SUDO mount -t bpf bpf /sys/fs/bpf; }
make_oras() { python3 -m venv "$ORAS_VENV" && "$ORAS_VENV/bin/pip" install -q "oras==$ORAS_VERSION"; }
make_k8s_validate() { python3 -m venv "$K8S_VENV" && "$K8S_VENV/bin/pip" install -q "kubernetes-validate==$K8S_VALIDATE_VERSION"; }
make_componentize_py() { python3 -m venv "$PY_VENV" && "$PY_VENV/bin/pip" install -q "componentize-py==$COMPONENTIZE_PY_VERSION"; }
make_componentize_js() { mkdir -p "$JS_PREFIX" && npm install --silent --no-audit --no-fund --prefix "$JS_PREFIX" "@bytecodealliance/componentize-js@$COMPONENTIZE_JS_VERSION"; }
make_cgroup2() { $SUDO mkdir -p /sys/fs/cgroup && $SUDO mount -t cgroup2 none /sys/fs/cgroup; }

# name | check | make (empty: cannot be made here) | why
ITEMS=(
	"root|has_root||the tests load BPF programs"
	"kernel BTF (/sys/kernel/btf/vmlinux)|has_btf||CO-RE and vmlinux.h"
	"apt packages|has_apt|make_apt|clang-19, bpftool, wasi-libc and the rest of \$APT"
	"rustup target wasm32-wasip2|has_wasm_target|make_wasm_target|guests"
	"tracefs at /sys/kernel/tracing|has_tracefs|make_tracefs|libbpf reads tracepoint ids there"
	"bpffs at /sys/fs/bpf|has_bpffs|make_bpffs|pinned maps (--allow-pin)"
	"cgroup2 mounted|has_cgroup2|make_cgroup2|cgroup programs"
	"network namespaces (ip netns)|has_netns||XDP, tc and socket filter tests on veth"
	"oras $ORAS_VERSION (PyPI) in target/tools/oras|has_oras|make_oras|registry interop tests"
	"kubernetes-validate $K8S_VALIDATE_VERSION (PyPI) in target/tools/k8s|has_k8s_validate|make_k8s_validate|deploy/kubernetes checks"
	"kubectl (kustomize)|has_kubectl||rendering deploy/kubernetes"
	"componentize-py $COMPONENTIZE_PY_VERSION (PyPI) in target/tools/py|has_componentize_py|make_componentize_py|the Python consumer example"
	"node and npm|has_node||componentize-js"
	"componentize-js $COMPONENTIZE_JS_VERSION (npm) in target/tools/js|has_componentize_js|make_componentize_js|the JavaScript consumer example"
	"nightly toolchain|has_nightly||cargo-fuzz (the fuzz smoke run is skipped without it)"
)

state() {
	local mode=$1 failed=0 item name check make why
	for item in "${ITEMS[@]}"; do
		IFS='|' read -r name check make why <<<"$item"
		if ! $check && [ "$mode" = setup ] && [ -n "$make" ]; then
			$make >&2
		fi
		if $check; then
			printf '  %-40s found\n' "$name"
		else
			printf '  %-40s MISSING (%s)\n' "$name" "$why"
			# Without nightly only the fuzz smoke run is skipped, and says so.
			[ "$check" = has_nightly ] || failed=1
		fi
	done
	return $failed
}

case "${1:-report}" in
report)
	echo "machine state:"
	state report
	exit 0
	;;
check | setup)
	echo "machine state:"
	state "$1" || {
		echo "tests/machine.sh: the machine lacks what is marked MISSING above" >&2
		exit 1
	}
	;;
*)
	echo "usage: tests/machine.sh report|check|setup" >&2
	exit 2
	;;
esac
