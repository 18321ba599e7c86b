#!/usr/bin/python3
"""Validate a generated ScaledJob against KEDA's ScaledJob CRD schema and the product's rules.

Usage: validate_sj.py SJ.json [JOB.json]
JOB.json is the template Job after the admission patch (it must be suspended, and the
ScaledJob's jobTargetRef must be its spec without suspend and without what the API server sets
for that one Job).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from validate_so import owned_metadata_rules, run  # noqa: E402  (one converter and main for both CRDs)

SERVER_LABELS = ("controller-uid", "job-name", "batch.kubernetes.io/controller-uid",
                 "batch.kubernetes.io/job-name")


def rules(sj, job):
    errs = []
    md, spec = sj.get("metadata", {}), sj.get("spec", {})
    name = md.get("name", "")
    if not name or len(name) > 63:
        errs.append(f"metadata.name '{name}' must be 1..63 characters")
    if sj.get("kind") != "ScaledJob" or sj.get("apiVersion") != "keda.sh/v1alpha1":
        errs.append("not a keda.sh/v1alpha1 ScaledJob")
    trig = spec.get("triggers", [])
    if not trig:
        errs.append("spec.triggers is empty")
    for t in trig:
        if t["type"] in ("cpu", "memory"):
            errs.append(f"{t['type']} trigger on a ScaledJob (KEDA serves it through an HPA)")
        if not all(isinstance(v, str) for v in t.get("metadata", {}).values()):
            errs.append(f"trigger {t['type']}: metadata values must be strings")
    if spec.get("minReplicaCount", 0) > spec.get("maxReplicaCount", 100):
        errs.append("minReplicaCount > maxReplicaCount")
    ref = spec.get("jobTargetRef", {})
    for k in ("suspend", "selector", "manualSelector"):
        if k in ref:
            errs.append(f"jobTargetRef.{k} must not be copied from the template Job")
    tmd = ref.get("template", {}).get("metadata", {})
    for k in tmd.get("labels", {}):
        if k in SERVER_LABELS:
            errs.append(f"jobTargetRef pod label {k} is the template Job's own")
    errs += owned_metadata_rules(md, "ScaledJob")
    if job is not None:
        if job.get("spec", {}).get("suspend") is not True:
            errs.append("the template Job is not suspended after the patch")
        want = dict(job.get("spec", {}))
        for k in ("suspend", "selector", "manualSelector"):
            want.pop(k, None)
        if want != ref:
            errs.append("jobTargetRef is not the template Job's spec")
    return errs


def main():
    return run(__doc__, "keda.sh_scaledjobs.yaml", rules)


if __name__ == "__main__":
    sys.exit(main())
