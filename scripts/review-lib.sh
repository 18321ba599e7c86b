# review-lib.sh - builds AdmissionReviews the way kube-apiserver sends them. Sourced by the demo
# (scripts/demo.sh) and the webhook and kube integration tests.

# mla_review OP OBJECT_FILE [OLD_FILE] [DRYRUN]: an AdmissionReview for the object on stdout (a
# Deployment, or a StatefulSet when the object's kind says so).
mla_review() {
  /usr/bin/python3 - "$@" <<'PY'
import json, sys, uuid
op, obj = sys.argv[1], sys.argv[2]
old = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] else None
dry = len(sys.argv) > 4 and sys.argv[4] == "true"
o = json.load(open(obj))
kind = "StatefulSet" if o.get("kind") == "StatefulSet" else "Deployment"
req = {"uid": str(uuid.uuid4()),
       "kind": {"group": "apps", "version": "v1", "kind": kind},
       "resource": {"group": "apps", "version": "v1", "resource": kind.lower() + "s"},
       "requestKind": {"group": "apps", "version": "v1", "kind": kind},
       "name": o["metadata"].get("name", ""), "namespace": o["metadata"].get("namespace", "default"),
       "operation": op, "userInfo": {"username": "kubernetes-admin", "groups": ["system:masters"]},
       "object": o, "oldObject": json.load(open(old)) if old else None, "dryRun": dry,
       "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions" if op == "CREATE" else "UpdateOptions"}}
print(json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": req}))
PY
}
