# review-lib.sh - builds AdmissionReviews the way kube-apiserver sends them. Sourced by the demo
# (scripts/demo.sh) and the webhook and kube integration tests.

# mla_review OP OBJECT_FILE [OLD_FILE] [DRYRUN]: an AdmissionReview for the object (a Deployment,
# or the kind its apiVersion/kind say, e.g. an apps/v1 StatefulSet or a batch/v1 Job) on stdout.
mla_review() {
  /usr/bin/python3 - "$@" <<'PY'
import json, sys, uuid
op, obj = sys.argv[1], sys.argv[2]
old = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] else None
dry = len(sys.argv) > 4 and sys.argv[4] == "true"
o = json.load(open(obj))
group, _, version = o.get("apiVersion", "apps/v1").rpartition("/")
kind = o.get("kind", "Deployment")
gvk = {"group": group, "version": version, "kind": kind}
req = {"uid": str(uuid.uuid4()),
       "kind": gvk,
       "resource": {"group": group, "version": version, "resource": kind.lower() + "s"},
       "requestKind": gvk,
       "name": o["metadata"].get("name", ""), "namespace": o["metadata"].get("namespace", "default"),
       "operation": op, "userInfo": {"username": "kubernetes-admin", "groups": ["system:masters"]},
       "object": o, "oldObject": json.load(open(old)) if old else None, "dryRun": dry,
       "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions" if op == "CREATE" else "UpdateOptions"}}
print(json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": req}))
PY
}
