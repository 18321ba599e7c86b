#!/usr/bin/python3
"""Validate a generated ScaledObject against KEDA's CRD schema and KEDA's webhook rules.

Usage: validate_so.py SO.json [DEPLOYMENT.json]
DEPLOYMENT.json is the Deployment after the admission patch (for the cpu/memory request rule).
"""
import json
import os
import sys

import jsonschema
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))


def to_jsonschema(node):
    """openAPIV3Schema (structural) -> JSON Schema draft 7."""
    if isinstance(node, list):
        return [to_jsonschema(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {}
    int_or_string = node.get("x-kubernetes-int-or-string") is True
    for k, v in node.items():
        if k.startswith("x-kubernetes-") or k in ("format", "nullable"):
            continue
        if k in ("properties", "patternProperties", "definitions"):
            out[k] = {name: to_jsonschema(s) for name, s in v.items()}
        else:
            out[k] = to_jsonschema(v)
    if int_or_string:
        out.pop("type", None)
        out = {"anyOf": [{"type": "integer"}, {"type": "string"}], **out}
    if out.get("type") == "object" and "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False  # the API server would prune: we want to know
    return out


def load_schema(crd_file="keda.sh_scaledobjects.yaml"):
    with open(os.path.join(HERE, crd_file)) as f:
        crd = yaml.safe_load(f)
    ver = [v for v in crd["spec"]["versions"] if v["name"] == "v1alpha1"][0]
    return to_jsonschema(ver["schema"]["openAPIV3Schema"])


def owned_metadata_rules(md, kind):
    """What an object the worker applies must not carry in its generated metadata."""
    errs = []
    if md.get("ownerReferences"):
        errs.append("ownerReferences are added at apply time, not generated")
    for k in md.get("labels", {}):
        if k == "app.kubernetes.io/instance" or k.startswith("argocd.argoproj.io/"):
            errs.append(f"GitOps tracking label {k} copied onto the {kind}")
    return errs


def run(doc, crd_file, rules):
    """main() of a validator: OBJ.json [SOURCE.json] -> schema errors, then rules(obj, source)."""
    if len(sys.argv) < 2:
        print(doc, file=sys.stderr)
        return 2
    with open(sys.argv[1]) as f:
        obj = json.load(f)
    src = None
    if len(sys.argv) > 2:
        with open(sys.argv[2]) as f:
            src = json.load(f)
    errs = [f"schema: {'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in jsonschema.Draft7Validator(load_schema(crd_file)).iter_errors(obj)]
    errs += rules(obj, src)
    for e in errs:
        print(f"{sys.argv[1]}: {e}", file=sys.stderr)
    return 1 if errs else 0


def webhook_rules(so, dep):
    errs = []
    md, spec = so.get("metadata", {}), so.get("spec", {})
    name = md.get("name", "")
    if not name or len(name) > 63:
        errs.append(f"metadata.name '{name}' must be 1..63 characters")
    if len("keda-hpa-" + name) > 63:
        errs.append(f"derived HPA name keda-hpa-{name} is over 63 characters")
    if "minReplicaCount" not in spec:
        errs.append("spec.minReplicaCount must be explicit")
    mn, mx = spec.get("minReplicaCount", 0), spec.get("maxReplicaCount", 100)
    if mn > mx:
        errs.append(f"minReplicaCount {mn} > maxReplicaCount {mx}")
    if "idleReplicaCount" in spec and spec["idleReplicaCount"] >= mn:
        errs.append("idleReplicaCount must be less than minReplicaCount")
    trig = spec.get("triggers", [])
    if not trig:
        errs.append("spec.triggers is empty")
    res_only = all(t["type"] in ("cpu", "memory") for t in trig)
    if trig and res_only and mn == 0:
        errs.append("minReplicaCount 0 with only cpu/memory triggers (KEDA refuses)")
    fb = spec.get("fallback")
    if fb:
        ok = any(t["type"] not in ("cpu", "memory") and t.get("metricType", "AverageValue") == "AverageValue"
                 for t in trig)
        if not ok:
            errs.append("fallback needs a non-cpu/memory trigger with metricType AverageValue")
        for t in trig:
            if t["type"] == "prometheus" and t.get("metadata", {}).get("ignoreNullValues") != "false":
                errs.append("prometheus trigger without ignoreNullValues \"false\" while fallback is set")
    adv = spec.get("advanced", {})
    if adv.get("restoreToOriginalReplicaCount"):
        errs.append("restoreToOriginalReplicaCount must not be set on owned objects")
    errs += owned_metadata_rules(md, "ScaledObject")
    for t in trig:
        md_t = t.get("metadata", {})
        if not all(isinstance(v, str) for v in md_t.values()):
            errs.append(f"trigger {t['type']}: metadata values must be strings")
        if t["type"] in ("cpu", "memory") and dep is not None:
            res = t["type"]
            only = md_t.get("containerName")
            for c in dep["spec"]["template"]["spec"]["containers"]:
                if only and c["name"] != only:
                    continue
                r = c.get("resources", {})
                if res not in r.get("requests", {}) and res not in r.get("limits", {}):
                    errs.append(f"{res} trigger but container {c['name']} has no {res} request")
    ref = spec.get("scaleTargetRef", {})
    if dep is not None and ref.get("name") != dep["metadata"]["name"]:
        errs.append("scaleTargetRef.name is not the Deployment")
    return errs


def main():
    return run(__doc__, "keda.sh_scaledobjects.yaml", webhook_rules)


if __name__ == "__main__":
    sys.exit(main())
