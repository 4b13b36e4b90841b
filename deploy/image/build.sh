#!/usr/bin/env bash
# Builds the agent image from a wasm-bpf binary without a daemon:
#
#   deploy/image/build.sh BINARY IMAGE    e.g. target/dist/wasm-bpf localhost/wasm-bpf/agent:0.1.0
#
# The root file system is the binary (stripped), the shared libraries
# `ldd` says it loads (libelf, zlib, libc, libgcc_s, the loader) copied
# from this Debian machine, and the system's CA bundle for registries over
# HTTPS. podman builds it `FROM scratch`. CONTAINERS_CONF and
# CONTAINERS_STORAGE_CONF are honoured as podman honours them.
set -euo pipefail

binary=${1:?usage: build.sh BINARY IMAGE}
image=${2:?usage: build.sh BINARY IMAGE}
here=$(cd "$(dirname "$0")" && pwd)
strip=$(command -v llvm-strip-19 || command -v strip)

rootfs=$(mktemp -d)
trap 'rm -rf "$rootfs"' EXIT

install -D -m 0755 "$binary" "$rootfs/usr/bin/wasm-bpf"
"$strip" "$rootfs/usr/bin/wasm-bpf"
# Each library as the loader finds it (`=> /lib/...`, or the loader's own
# absolute path), at the same path in the image.
for lib in $(ldd "$binary" | grep -o '/[^ ]*'); do
	install -D -m "$(stat -L -c %a "$lib")" "$(readlink -f "$lib")" "$rootfs$lib"
done
install -D -m 0644 /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
# Owned by root and writable by no one else, as the store and the cache
# require of their directories.
install -d -m 0700 "$rootfs/var/lib/wasm-bpf"

podman build --quiet --tag "$image" --file "$here/Containerfile" "$rootfs" >/dev/null
echo "$image: $(podman image inspect --format '{{.Size}}' "$image") bytes"
