#!/usr/bin/python3
"""check_render.py - asserts what a rendered ml-autoscaling chart (or `kubectl kustomize deploy/`)
must contain. Used by tests/integration/test_chart_render.sh and test_kustomize.sh.

Usage: check_render.py RENDERED.yaml [--namespace NS] [--failure-policy P] [--timeout S]
         [--monitoring] [--no-cert-manager] [--policy-files a.yaml,b.yaml] [--no-match-conditions]
         [--replicas N] [--policies-out DIR] [--with-namespace]
Exit 0 when every check passes; otherwise prints each failed check and exits 1.
"""
import argparse
import json
import os
import sys

import yaml

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
    return cond


# The RBAC the code needs, exactly (issue 9): nothing more may be granted.
CLUSTER_RULES = {
    ("apps", "deployments"): {"get", "list"},
    ("apps", "statefulsets"): {"get", "list"},
    ("autoscaling", "horizontalpodautoscalers"): {"get", "list", "create", "update", "patch", "delete"},
    ("keda.sh", "scaledobjects"): {"get", "list", "create", "update", "patch", "delete"},
    ("autoscaling.k8s.io", "verticalpodautoscalers"): {"list"},
    ("batch", "jobs"): {"get", "list"},
    ("keda.sh", "scaledjobs"): {"get", "list", "create", "patch", "delete"},
    ("", "events"): {"create", "patch"},
    ("", "namespaces"): {"list"},
}
LEASE_RULES = {("coordination.k8s.io", "leases"): {"get", "create", "update"}}

API_VERSIONS = {
    "Deployment": "apps/v1", "Service": "v1", "ServiceAccount": "v1", "ConfigMap": "v1",
    "PodDisruptionBudget": "policy/v1", "ClusterRole": "rbac.authorization.k8s.io/v1",
    "ClusterRoleBinding": "rbac.authorization.k8s.io/v1", "Role": "rbac.authorization.k8s.io/v1",
    "RoleBinding": "rbac.authorization.k8s.io/v1",
    "MutatingWebhookConfiguration": "admissionregistration.k8s.io/v1",
    "Issuer": "cert-manager.io/v1", "Certificate": "cert-manager.io/v1",
    "ServiceMonitor": "monitoring.coreos.com/v1", "Namespace": "v1", "PrometheusRule": "monitoring.coreos.com/v1",
}
STABLE_ARGS = ["serve", "--listen", "0.0.0.0:8443", "--tls-cert", "/etc/ml-autoscaling/tls/tls.crt",
               "--tls-key", "/etc/ml-autoscaling/tls/tls.key", "--policies", "/etc/ml-autoscaling/policies"]


def rules_of(role):
    got = {}
    for r in role.get("rules") or []:
        check(not r.get("resourceNames") and not r.get("nonResourceURLs"),
              f"{role['kind']} {role['metadata']['name']}: unexpected rule shape {r}")
        for g in r.get("apiGroups", []):
            for res in r.get("resources", []):
                got.setdefault((g, res), set()).update(r.get("verbs", []))
    return got


# ---- a tiny evaluator for the webhook's CEL matchCondition (the subset it uses) ----
class Obj(dict):
    def __getattr__(self, k):
        if k in self:
            v = self[k]
            return Obj(v) if isinstance(v, dict) and not isinstance(v, Obj) else v
        raise KeyError(k)


def cel_eval(expr, obj, old):
    import re
    py = expr.replace("&&", " and ").replace("||", " or ").replace("null", "None")
    py = re.sub(r"\bhas\(([^()]*)\)", r"_has(lambda: \1)", py)
    if re.search(r"[^=!<>]=[^=]|\?|\bsize\(|\.exists\(|\bmatches\(", py):
        raise ValueError("matchCondition uses CEL this checker does not evaluate: " + expr)

    def _has(f):
        try:
            f()
            return True
        except KeyError:
            return False
    env = {"__builtins__": {}, "_has": _has, "object": Obj(obj) if obj is not None else None,
           "oldObject": Obj(old) if old is not None else None}
    return bool(eval(py, env))


def deployment(annotations=None, labels=None):
    md = {"name": "d", "namespace": "ml"}
    if annotations is not None:
        md["annotations"] = annotations
    if labels is not None:
        md["labels"] = labels
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": md}


OPT = {"ml-autoscaling.io/enabled": "true"}
MANAGED = {"ml-autoscaling.io/managed": "true"}
CEL_CASES = [
    # (what, object, oldObject, must reach the webhook)
    ("CREATE opted in", deployment(OPT), None, True),
    ("CREATE without annotations", deployment(), None, False),
    ("CREATE with other annotations", deployment({"a": "b"}, {"app": "x"}), None, False),
    ("CREATE enabled=false", deployment({"ml-autoscaling.io/enabled": "false"}), None, False),
    ("UPDATE never opted in", deployment({"a": "b"}), deployment({"a": "b"}), False),
    ("UPDATE opted in", deployment(OPT, MANAGED), deployment(OPT, MANAGED), True),
    ("UPDATE opting in", deployment(OPT), deployment(), True),
    ("UPDATE removing the opt-in annotation", deployment({}, MANAGED), deployment(OPT, MANAGED), True),
    ("UPDATE removing annotations and labels", deployment(), deployment(OPT, MANAGED), True),
    ("UPDATE removing the opt-in of a Deployment never labelled (admitted while the webhook was down)",
     deployment({"x": "y"}), deployment(OPT), True),
    ("UPDATE setting enabled=false", deployment({"ml-autoscaling.io/enabled": "false"}, MANAGED),
     deployment(OPT, MANAGED), True),
    ("UPDATE of a managed Deployment whose annotation someone else dropped", deployment(None, MANAGED),
     deployment(None, MANAGED), True),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("rendered")
    ap.add_argument("--namespace", default="ml-autoscaling")
    ap.add_argument("--failure-policy", default="Ignore")
    ap.add_argument("--timeout", type=int, default=5)
    ap.add_argument("--replicas", type=int, default=2)
    ap.add_argument("--monitoring", action="store_true")
    ap.add_argument("--no-cert-manager", action="store_true")
    ap.add_argument("--no-match-conditions", action="store_true")
    ap.add_argument("--with-namespace", action="store_true", help="a Namespace object named --namespace is expected")
    ap.add_argument("--policy-files", default=None, help="exact comma-separated keys of the policies ConfigMap")
    ap.add_argument("--policies-out", default=None, help="write the policies ConfigMap files here")
    a = ap.parse_args()
    ns = a.namespace

    with open(a.rendered) as f:
        text = f.read()
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as e:
        print(f"FAIL: {a.rendered} does not parse as YAML: {e}")
        return 1
    check(len(docs) > 0, "no documents rendered")
    by_kind = {}
    for d in docs:
        if not check(isinstance(d, dict) and d.get("kind") and d.get("apiVersion")
                     and (d.get("metadata") or {}).get("name"), f"document without kind/apiVersion/name: {str(d)[:80]}"):
            continue
        by_kind.setdefault(d["kind"], []).append(d)
        check(API_VERSIONS.get(d["kind"]) == d["apiVersion"],
              f"{d['kind']} {d['metadata']['name']}: apiVersion {d['apiVersion']} (want {API_VERSIONS.get(d['kind'])})")
        cluster_scoped = d["kind"] in ("ClusterRole", "ClusterRoleBinding", "MutatingWebhookConfiguration", "Namespace")
        if cluster_scoped:
            check("namespace" not in d["metadata"], f"{d['kind']} is cluster-scoped but has a namespace")
        else:
            check(d["metadata"].get("namespace") == ns, f"{d['kind']} {d['metadata']['name']}: namespace "
                  f"{d['metadata'].get('namespace')!r} (want {ns!r})")

    expected = {"Deployment": 1, "Service": 1, "ServiceAccount": 1, "ConfigMap": 4, "PodDisruptionBudget": 1,
                "ClusterRole": 1, "ClusterRoleBinding": 1, "Role": 1, "RoleBinding": 1,
                "MutatingWebhookConfiguration": 1}
    if not a.no_cert_manager:
        expected.update({"Issuer": 2, "Certificate": 2})
    if a.monitoring:
        expected.update({"ServiceMonitor": 1, "PrometheusRule": 1})
    if a.with_namespace:
        expected["Namespace"] = 1
        check([d["metadata"]["name"] for d in by_kind.get("Namespace", [])] == [ns], f"the Namespace object is {ns}")
    got_counts = {k: len(v) for k, v in by_kind.items()}
    check(got_counts == expected, f"kinds rendered {sorted(got_counts.items())} != expected {sorted(expected.items())}")
    if failures:
        return report()

    dep = by_kind["Deployment"][0]
    svc = by_kind["Service"][0]
    sa = by_kind["ServiceAccount"][0]
    pod = dep["spec"]["template"]
    podspec = pod["spec"]
    c = podspec["containers"][0]

    # ---- Deployment shape and security
    check(dep["spec"]["replicas"] == a.replicas, f"replicas {dep['spec']['replicas']} (want {a.replicas})")
    check(c["args"][:len(STABLE_ARGS)] == STABLE_ARGS, f"container args do not start with the stable serve flags: {c['args']}")
    for flag in ("--log-level",):
        check(flag in c["args"], f"container args lack {flag}")
    check("--loop-interval" in c["args"] or "--no-loop" in c["args"], "container args lack --loop-interval/--no-loop")
    if "--loop-interval" in c["args"]:
        v = c["args"][c["args"].index("--loop-interval") + 1]
        check(isinstance(v, str) and v.isdigit(), f"--loop-interval value {v!r} is not a whole number of seconds")
    # The Lease (Role in the release namespace) is taken in $POD_NAMESPACE by the API side.
    env = {e["name"]: e for e in c.get("env", [])}
    check(((env.get("POD_NAMESPACE") or {}).get("valueFrom") or {}).get("fieldRef", {}).get("fieldPath")
          == "metadata.namespace", "container env POD_NAMESPACE from the downward API (the leader Lease's namespace)")
    ports = {p["name"]: p for p in c.get("ports", [])}
    check(ports.get("https", {}).get("containerPort") == 8443, "container port https is not 8443")
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        hg = (c.get(probe) or {}).get("httpGet") or {}
        check(hg.get("path") == path and hg.get("scheme") == "HTTPS" and hg.get("port") in ("https", 8443),
              f"{probe}: want HTTPS {path} on 8443, got {hg}")
    psc = podspec.get("securityContext") or {}
    sc = c.get("securityContext") or {}
    check(psc.get("runAsNonRoot") is True and (psc.get("runAsUser") or 0) > 0, "pod: runAsNonRoot with a non-zero runAsUser")
    check((psc.get("seccompProfile") or {}).get("type") == "RuntimeDefault", "pod: seccompProfile RuntimeDefault")
    check(sc.get("readOnlyRootFilesystem") is True, "container: readOnlyRootFilesystem")
    check(sc.get("allowPrivilegeEscalation") is False, "container: allowPrivilegeEscalation false")
    check(sc.get("privileged") in (None, False), "container: not privileged")
    check((sc.get("capabilities") or {}).get("drop") == ["ALL"] and not (sc.get("capabilities") or {}).get("add"),
          "container: capabilities drop [ALL], add none")
    check((sc.get("seccompProfile") or {}).get("type") in (None, "RuntimeDefault"), "container: seccomp RuntimeDefault")
    res = c.get("resources") or {}
    for kind in ("requests", "limits"):
        check({"cpu", "memory"} <= set((res.get(kind) or {}).keys()), f"container: resources.{kind} cpu and memory")
    aff = (podspec.get("affinity") or {}).get("podAntiAffinity") or {}
    check(aff, "pod anti-affinity is set")
    check(podspec.get("serviceAccountName") == sa["metadata"]["name"], "Deployment uses the chart's ServiceAccount")
    pod_labels = pod["metadata"]["labels"]
    sel = dep["spec"]["selector"]["matchLabels"]
    check(all(pod_labels.get(k) == v for k, v in sel.items()), "Deployment selector matches its pod labels")
    check(all(pod_labels.get(k) == v for k, v in svc["spec"]["selector"].items()), "Service selector matches the pods")
    pdb = by_kind["PodDisruptionBudget"][0]
    check(pdb["spec"]["selector"]["matchLabels"] == sel, "PDB selects the webhook pods")
    check("maxUnavailable" in pdb["spec"] or "minAvailable" in pdb["spec"], "PDB sets a budget")

    mounts = {m["name"]: m for m in c.get("volumeMounts", [])}
    vols = {v["name"]: v for v in podspec.get("volumes", [])}
    check(mounts.get("tls", {}).get("mountPath") == "/etc/ml-autoscaling/tls", "TLS secret mounted at /etc/ml-autoscaling/tls")
    check(mounts.get("policies", {}).get("mountPath") == "/etc/ml-autoscaling/policies", "policies mounted at /etc/ml-autoscaling/policies")
    tls_secret = ((vols.get("tls") or {}).get("secret") or {}).get("secretName")
    pol_cm = ((vols.get("policies") or {}).get("configMap") or {}).get("name")

    # ---- Service <-> webhook <-> certificate
    wh_cfg = by_kind["MutatingWebhookConfiguration"][0]
    check(len(wh_cfg["webhooks"]) == 1, "one webhook")
    wh = wh_cfg["webhooks"][0]
    cc = wh["clientConfig"]
    svc_port = svc["spec"]["ports"][0]
    check(cc.get("service", {}).get("name") == svc["metadata"]["name"], "webhook clientConfig.service.name == Service name")
    check(cc.get("service", {}).get("namespace") == ns, "webhook clientConfig.service.namespace == release namespace")
    check(cc.get("service", {}).get("path") == "/mutate", "webhook path /mutate")
    check(cc.get("service", {}).get("port", 443) == svc_port["port"], "webhook port == Service port")
    check(svc_port.get("targetPort") in ("https", 8443), "Service targets the https container port")
    check(wh.get("admissionReviewVersions") == ["v1"], "admissionReviewVersions [v1]")
    check(wh.get("sideEffects") == "NoneOnDryRun", "sideEffects NoneOnDryRun")
    check(wh.get("failurePolicy") == a.failure_policy, f"failurePolicy {wh.get('failurePolicy')} (want {a.failure_policy})")
    check(wh.get("timeoutSeconds") == a.timeout, f"timeoutSeconds {wh.get('timeoutSeconds')} (want {a.timeout})")
    # Whatever the values: kube-apiserver never waits more than 5 s on this webhook per write.
    check(isinstance(wh.get("timeoutSeconds"), int) and 1 <= wh["timeoutSeconds"] <= 5,
          f"timeoutSeconds {wh.get('timeoutSeconds')} within 1-5")
    check(wh.get("rules") == [{"apiGroups": ["apps"], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"],
                               "resources": ["deployments", "statefulsets"], "scope": "Namespaced"},
                              {"apiGroups": ["batch"], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"],
                               "resources": ["jobs"], "scope": "Namespaced"}], f"webhook rules: {wh.get('rules')}")
    excluded = set()
    for e in (wh.get("namespaceSelector") or {}).get("matchExpressions", []):
        if e.get("key") == "kubernetes.io/metadata.name" and e.get("operator") == "NotIn":
            excluded |= set(e.get("values", []))
    check({ns, "kube-system"} <= excluded, f"namespaceSelector excludes {ns} and kube-system (got {sorted(excluded)})")
    mcs = wh.get("matchConditions") or []
    if a.no_match_conditions:
        check(not mcs, "matchConditions disabled")
    elif check(len(mcs) == 1 and mcs[0].get("name") and mcs[0].get("expression"), "one named matchCondition"):
        for what, obj, old, want in CEL_CASES:
            try:
                got = cel_eval(mcs[0]["expression"], obj, old)
            except Exception as e:  # noqa: BLE001 - report, not crash
                check(False, f"matchCondition: {what}: {e}")
                continue
            check(got == want, f"matchCondition: {what}: reaches webhook={got} (want {want})")

    dns = [f"{svc['metadata']['name']}.{ns}.svc", f"{svc['metadata']['name']}.{ns}.svc.cluster.local"]
    if a.no_cert_manager:
        check(cc.get("caBundle"), "without cert-manager the webhook carries caBundle")
        check("cert-manager.io/inject-ca-from" not in (wh_cfg["metadata"].get("annotations") or {}),
              "no inject-ca-from without cert-manager")
    else:
        certs = {x["metadata"]["name"]: x for x in by_kind["Certificate"]}
        issuers = {x["metadata"]["name"]: x for x in by_kind["Issuer"]}
        inject = (wh_cfg["metadata"].get("annotations") or {}).get("cert-manager.io/inject-ca-from", "")
        check(inject.count("/") == 1, f"inject-ca-from {inject!r} is namespace/name")
        inj_ns, _, inj_name = inject.partition("/")
        leaf = certs.get(inj_name)
        check(inj_ns == ns and leaf is not None, f"inject-ca-from {inject!r} names a Certificate of the release")
        check("caBundle" not in cc, "caBundle left to cert-manager's injector")
        if leaf:
            check(set(dns) <= set(leaf["spec"].get("dnsNames", [])), f"leaf dnsNames {leaf['spec'].get('dnsNames')} cover {dns}")
            check(leaf["spec"]["secretName"] == tls_secret, f"leaf secretName {leaf['spec']['secretName']} == TLS volume {tls_secret}")
            check(not leaf["spec"].get("isCA"), "leaf is not a CA")
            ca_issuer = issuers.get(leaf["spec"]["issuerRef"]["name"])
            check(ca_issuer is not None and "ca" in ca_issuer["spec"], "leaf is issued by a CA Issuer of the release")
            if ca_issuer:
                ca_cert = [x for x in certs.values() if x["spec"]["secretName"] == ca_issuer["spec"]["ca"]["secretName"]]
                check(len(ca_cert) == 1 and ca_cert[0]["spec"].get("isCA") is True,
                      "CA Issuer's secret comes from an isCA Certificate")
                if ca_cert:
                    root = issuers.get(ca_cert[0]["spec"]["issuerRef"]["name"])
                    check(root is not None and "selfSigned" in root["spec"], "the CA is issued by a selfSigned Issuer")
    # ---- RBAC: exactly what the code uses
    cr = by_kind["ClusterRole"][0]
    check(rules_of(cr) == CLUSTER_RULES, f"ClusterRole rules {sorted((k, sorted(v)) for k, v in rules_of(cr).items())}")
    role = by_kind["Role"][0]
    check(rules_of(role) == LEASE_RULES, f"Role rules {sorted((k, sorted(v)) for k, v in rules_of(role).items())}")
    for kind, target in (("ClusterRoleBinding", cr), ("RoleBinding", role)):
        b = by_kind[kind][0]
        check(b["roleRef"]["name"] == target["metadata"]["name"] and b["roleRef"]["kind"] == target["kind"],
              f"{kind} refers to the {target['kind']}")
        check(b["subjects"] == [{"kind": "ServiceAccount", "name": sa["metadata"]["name"], "namespace": ns}],
              f"{kind} binds only the webhook ServiceAccount: {b['subjects']}")

    # ---- policies ConfigMap
    cms = {x["metadata"]["name"]: x for x in by_kind["ConfigMap"]}
    check(pol_cm in cms, f"policies volume names ConfigMap {pol_cm} that is rendered")
    pol = cms.get(pol_cm, {}).get("data") or {}
    if a.policy_files is not None:
        want = sorted(x for x in a.policy_files.split(",") if x)
        check(sorted(pol) == want, f"policies ConfigMap files {sorted(pol)} (want {want})")
    for name, body in pol.items():
        try:
            yaml.safe_load(body)
        except yaml.YAMLError as e:
            check(False, f"policy file {name} is not valid YAML: {e}")
    if a.policies_out:
        os.makedirs(a.policies_out, exist_ok=True)
        for name, body in pol.items():
            with open(os.path.join(a.policies_out, name), "w") as f:
                f.write(body)

    # ---- dashboards
    dash = [x for x in cms.values() if x["metadata"]["name"] != pol_cm]
    check(len(dash) == 3, f"three dashboard ConfigMaps (got {len(dash)})")
    titles = []
    for d in dash:
        check((d["metadata"].get("labels") or {}).get("grafana_dashboard") == "1",
              f"{d['metadata']['name']}: label grafana_dashboard: \"1\"")
        for key, body in (d.get("data") or {}).items():
            try:
                j = json.loads(body)
            except ValueError as e:
                check(False, f"{d['metadata']['name']}/{key}: not JSON: {e}")
                continue
            check(key.endswith(".json") and j.get("uid") and j.get("panels"), f"{key}: a dashboard with uid and panels")
            titles.append(j.get("title", ""))
    for word in ("Overview", "Predictive", "Cost"):
        check(any(word in t for t in titles), f"a dashboard titled with {word!r} (got {titles})")

    # ---- monitoring
    if a.monitoring:
        sm = by_kind["ServiceMonitor"][0]
        ep = sm["spec"]["endpoints"][0]
        check(sm["spec"]["selector"]["matchLabels"].items() <= svc["metadata"]["labels"].items(),
              "ServiceMonitor selects the Service")
        check(ep.get("port") == svc_port["name"] and ep.get("scheme") == "https" and ep.get("path") == "/metrics",
              f"ServiceMonitor scrapes https /metrics on port {svc_port['name']}")
        check(((ep.get("tlsConfig") or {}).get("ca") or {}).get("secret", {}).get("name") == tls_secret,
              "ServiceMonitor verifies with the CA in the TLS secret")
        pr = by_kind["PrometheusRule"][0]
        alerts = [r["alert"] for g in pr["spec"]["groups"] for r in g["rules"] if "alert" in r]
        for want in ("MLAutoscalingBudgetExceeded", "MLAutoscalingScalingActionsFailing", "MLAutoscalingWebhookErrors",
                     "MLAutoscalingWebhookLatencyNearTimeout", "MLAutoscalingForecastConfidenceCollapsed"):
            check(want in alerts, f"PrometheusRule has alert {want}")
        for g in pr["spec"]["groups"]:
            for r in g["rules"]:
                check(isinstance(r.get("expr"), str) and "mla_" in r["expr"], f"rule {r.get('alert')}: expr uses mla_ metrics")
                for k, v in (r.get("annotations") or {}).items():
                    check("{{`" not in v and "`}}" not in v, f"rule {r.get('alert')}: annotation {k} has unrendered Helm escapes")
    return report()


def report():
    if failures:
        for f in failures:
            print("FAIL:", f)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
