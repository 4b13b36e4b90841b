#!/usr/bin/env python3
"""Writes a gadget image as Inspektor Gadget lays one out, as an OCI image
layout directory: an image index with one manifest per architecture (with
artifactType application/vnd.gadget.v1+binary and, as IG writes them, no
top-level mediaType), gadget.yaml as config (or the OCI empty descriptor),
and the eBPF object (and any other layer asked for) as layers.

An independent writer for the tests: it shares no code with wasm-bpf.

    oci_layout.py DIR TAG [--arch ARCH]... [--ebpf ARCH=FILE]... [--yaml FILE]
                  [--layer MEDIA_TYPE=FILE]... [--config-type TYPE]

Each architecture (amd64 and arm64 by default) gets a manifest of its own,
its eBPF layer the file given for it (none if none is).
"""

import argparse
import hashlib
import json
import os

INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
ARTIFACT = "application/vnd.gadget.v1+binary"
CONFIG = "application/vnd.gadget.config.v1+yaml"
EMPTY = "application/vnd.oci.empty.v1+json"
EBPF = "application/vnd.gadget.ebpf.program.v1+binary"


def blob(root, data, media_type, annotations=None):
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(root, "blobs", "sha256", digest), "wb") as f:
        f.write(data)
    descriptor = {"mediaType": media_type, "digest": "sha256:" + digest, "size": len(data)}
    if annotations:
        descriptor["annotations"] = annotations
    return descriptor


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dir")
    parser.add_argument("tag")
    parser.add_argument("--ebpf", action="append", default=[])
    parser.add_argument("--yaml")
    parser.add_argument("--config-type", default=None)
    parser.add_argument("--arch", action="append")
    parser.add_argument("--layer", action="append", default=[])
    args = parser.parse_args()

    root = args.dir
    os.makedirs(os.path.join(root, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(root, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)

    if args.yaml:
        with open(args.yaml, "rb") as f:
            config = blob(root, f.read(), args.config_type or CONFIG)
    else:
        config = blob(root, b"{}", args.config_type or EMPTY)
    others = []
    for spec in args.layer:
        media_type, path = spec.split("=", 1)
        with open(path, "rb") as f:
            others.append(blob(root, f.read(), media_type))
    objects = dict(spec.split("=", 1) for spec in args.ebpf)

    entries = []
    for arch in args.arch or ["amd64", "arm64"]:
        layers = []
        if arch in objects:
            with open(objects[arch], "rb") as f:
                layers.append(blob(root, f.read(), EBPF, {"org.opencontainers.image.title": "program.bpf.o"}))
        layers += others
        manifest = {
            "schemaVersion": 2,
            "artifactType": ARTIFACT,
            "config": config,
            "layers": layers,
            "annotations": {
                "org.opencontainers.image.title": "test gadget",
                "io.inspektor-gadget.builder.version": "test",
            },
        }
        data = json.dumps(manifest).encode()
        entry = blob(root, data, MANIFEST)
        # No artifactType in the index's descriptors: skopeo 1.9 (Debian 12)
        # drops the field, so it could not copy the index with its digest.
        entry["platform"] = {"architecture": arch, "os": "linux"}
        entries.append(entry)

    index = {"schemaVersion": 2, "mediaType": INDEX, "manifests": entries}
    top = blob(root, json.dumps(index).encode(), INDEX, {"org.opencontainers.image.ref.name": args.tag})
    with open(os.path.join(root, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "mediaType": INDEX, "manifests": [top]}, f)


if __name__ == "__main__":
    main()
