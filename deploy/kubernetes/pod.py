#!/usr/bin/env python3
"""Renders the DaemonSet of `kubectl kustomize` output as a Pod, for
`podman kube play` (podman 4.3 runs Pod documents, not DaemonSets).

    kubectl kustomize overlays/metrics | python3 pod.py > pod.yaml

The pod is the DaemonSet's pod template as it is: the same image, args,
security context, mounts, ConfigMaps and Secret. The Namespace goes (a
podman pod has none). Secrets become ConfigMaps of the same name and
data, mounted the same way: podman 4.3's kube play crashes on a Secret
volume (a nil dereference in VolumeFromSecret). A container's
`seccompProfile` is also given as the annotation podman 4.3 reads
(`container.seccomp.security.alpha.kubernetes.io/NAME`), as it ignores the
field. `--json` writes the documents as one JSON list
instead, for a reader without a YAML parser. Needs PyYAML.
"""

import base64
import json
import sys

import yaml


def as_pod(daemonset):
    template = daemonset["spec"]["template"]
    metadata = dict(template.get("metadata", {}))
    metadata["name"] = daemonset["metadata"]["name"]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": template["spec"]}


def secret_as_config_map(secret):
    data = {k: base64.b64decode(v).decode() for k, v in secret.get("data", {}).items()}
    data.update(secret.get("stringData", {}))
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": secret["metadata"], "data": data}


def secret_volumes_as_config_maps(pod):
    for volume in pod["spec"].get("volumes", []):
        secret = volume.pop("secret", None)
        if secret is not None:
            volume["configMap"] = {"name": secret["secretName"], **{
                k: v for k, v in secret.items() if k != "secretName"}}


def seccomp_annotations(pod):
    annotations = pod["metadata"].setdefault("annotations", {})
    for container in pod["spec"]["containers"]:
        profile = container.get("securityContext", {}).get("seccompProfile", {})
        kind = profile.get("type")
        if kind is None:
            continue
        value = {"Unconfined": "unconfined", "RuntimeDefault": "runtime/default"}.get(
            kind, f"localhost/{profile.get('localhostProfile', '')}")
        annotations[f"container.seccomp.security.alpha.kubernetes.io/{container['name']}"] = value


def main():
    documents = [d for d in yaml.safe_load_all(sys.stdin) if d]
    daemonsets = [d for d in documents if d["kind"] == "DaemonSet"]
    if len(daemonsets) != 1:
        sys.exit(f"pod.py: expected one DaemonSet, found {len(daemonsets)}")
    rendered = []
    for document in documents:
        if document["kind"] == "DaemonSet":
            pod = as_pod(document)
            secret_volumes_as_config_maps(pod)
            seccomp_annotations(pod)
            rendered.append(pod)
        elif document["kind"] == "Secret":
            rendered.append(secret_as_config_map(document))
        elif document["kind"] != "Namespace":
            rendered.append(document)
    if "--json" in sys.argv[1:]:
        json.dump(rendered, sys.stdout)
    else:
        yaml.safe_dump_all(rendered, sys.stdout, sort_keys=False)


if __name__ == "__main__":
    main()
