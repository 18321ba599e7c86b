# Generates charts/ml-autoscaling/values.schema.json (JSON Schema draft 7).
# Usage: /usr/bin/python3 tests/chart/gen/values_schema.py charts/ml-autoscaling/values.schema.json
import json, sys
def obj(props, required=None, extra=False, desc=None):
    o = {"type": "object", "properties": props, "additionalProperties": extra}
    if required: o["required"] = required
    if desc: o["description"] = desc
    return o
S = lambda **k: dict(type="string", **k)
I = lambda **k: dict(type="integer", **k)
N = lambda **k: dict(type="number", **k)
B = {"type": "boolean"}
ANYOBJ = {"type": "object"}
ARR = {"type": "array"}
STRMAP = {"type": "object", "additionalProperties": {"type": "string"}}
duration = S(pattern=r"^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$", description="Go duration, e.g. 2160h")
hhmm = S(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$")
days = S(pattern=r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun)(-(Mon|Tue|Wed|Thu|Fri|Sat|Sun))?(,(Mon|Tue|Wed|Thu|Fri|Sat|Sun)(-(Mon|Tue|Wed|Thu|Fri|Sat|Sun))?)*$",
         description="days, e.g. Mon-Fri or Sat,Sun")
window = obj({"days": days, "start": hhmm, "end": hhmm, "minReplicas": I(minimum=0)}, ["days", "start", "end"])
tz = S(minLength=1, pattern=r"^(UTC|[A-Za-z_]+(/[A-Za-z0-9_+\-]+)+)$", description="IANA time zone name")
predictive_over = obj({"enabled": B, "lookbackHours": I(minimum=1, maximum=2160), "forecastMinutes": I(minimum=1, maximum=1440),
                       "confidenceThreshold": N(minimum=0, maximum=1), "scaleAheadMinutes": I(minimum=0, maximum=1440),
                       "query": S(minLength=1), "capacityPerReplica": N(exclusiveMinimum=0)})
def nullable(x):
    x = dict(x); x["type"] = [x["type"], "null"]; return x
predictive = obj({"enabled": B, "lookbackHours": nullable(I(minimum=1, maximum=2160)), "forecastMinutes": nullable(I(minimum=1, maximum=1440)),
                  "confidenceThreshold": nullable(N(minimum=0, maximum=1)), "scaleAheadMinutes": nullable(I(minimum=0, maximum=1440))},
                 ["enabled"])
business_over = obj({"enabled": B, "timezone": tz, "windows": {"type": "array", "items": window},
                     "nightMaxReplicas": {"type": ["integer", "null"], "minimum": 1}})
business = dict(business_over, required=["enabled", "timezone", "windows"])
k8sname = S(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", maxLength=63)
service = obj({"namespaces": {"type": "array", "items": k8sname, "minItems": 1},
               "matchLabels": STRMAP, "profile": S(minLength=1),
               "minReplicas": I(minimum=0), "maxReplicas": I(minimum=1),
               "hpaMode": S(enum=["delete", "transfer", "reject"]),
               "predictiveScaling": predictive_over, "businessRules": business_over,
               "cost": obj({"replicaHourlyCost": N(minimum=0), "maxHourlyCost": N(exclusiveMinimum=0)}),
               "policy": S(minLength=1), "priority": I(minimum=-1000000, maximum=1000000), "settings": ANYOBJ},
              desc="per-service policy override")
res = obj({"requests": ANYOBJ, "limits": ANYOBJ}, ["requests", "limits"])
probe = obj({"initialDelaySeconds": I(minimum=0), "periodSeconds": I(minimum=1), "timeoutSeconds": I(minimum=1), "failureThreshold": I(minimum=1)})
schema = {
  "$schema": "http://json-schema.org/draft-07/schema#",
  "title": "ml-autoscaling chart values",
  **obj({
    "global": ANYOBJ,
    "replicaCount": I(minimum=1, description="webhook replicas; 2 or more for availability"),
    "image": obj({"repository": S(minLength=1), "tag": S(), "digest": S(pattern=r"^(sha256:[a-f0-9]{64})?$"),
                  "pullPolicy": S(enum=["Always", "IfNotPresent", "Never"])}, ["repository", "pullPolicy"]),
    "imagePullSecrets": {"type": "array", "items": obj({"name": S(minLength=1)}, ["name"])},
    "nameOverride": S(), "fullnameOverride": S(maxLength=52),
    "logLevel": S(enum=["debug", "info", "warn", "error", "off"]),
    "preStopSleepSeconds": I(minimum=0, maximum=60), "terminationGracePeriodSeconds": I(minimum=1, maximum=600),
    "serviceAccount": obj({"create": B, "name": S(), "annotations": STRMAP}, ["create"]),
    "rbac": obj({"create": B}, ["create"]),
    "podAnnotations": STRMAP, "podLabels": STRMAP,
    "resources": res,
    "podSecurityContext": ANYOBJ, "securityContext": ANYOBJ,
    "podAntiAffinity": S(enum=["", "soft", "hard"]),
    "nodeSelector": STRMAP, "tolerations": ARR, "affinity": ANYOBJ, "topologySpreadConstraints": ARR,
    "priorityClassName": S(),
    "podDisruptionBudget": obj({"enabled": B, "maxUnavailable": {"type": ["integer", "string"], "minimum": 1, "pattern": r"^[0-9]+%$"}}, ["enabled"]),
    "service": obj({"type": S(enum=["ClusterIP", "NodePort", "LoadBalancer"]), "port": I(minimum=1, maximum=65535)}, ["type", "port"]),
    "probes": obj({"liveness": probe, "readiness": probe}),
    "webhook": obj({"timeoutSeconds": I(minimum=1, maximum=30), "failurePolicy": S(enum=["Fail", "Ignore"]),
                    "matchConditions": B, "excludeNamespaces": {"type": "array", "items": k8sname},
                    "namespaceSelectorExpressions": {"type": "array", "items": obj({"key": S(minLength=1), "operator": S(enum=["In", "NotIn", "Exists", "DoesNotExist"]), "values": {"type": "array", "items": {"type": "string"}}}, ["key", "operator"])},
                    "annotations": STRMAP}, ["timeoutSeconds", "failurePolicy"]),
    "certManager": obj({"enabled": B, "duration": duration, "renewBefore": duration, "caDuration": duration,
                        "privateKeyAlgorithm": S(enum=["RSA", "ECDSA", "Ed25519"])}, ["enabled"]),
    "tls": obj({"existingSecret": S(), "caBundle": S(pattern=r"^[A-Za-z0-9+/=]*$")}),
    "prometheus": obj({"url": S(pattern=r"^(https?://\S.*)?$", description="Prometheus base URL, e.g. http://prometheus-operated.monitoring:9090")}),
    "loop": obj({"interval": I(minimum=5, maximum=3600), "enabled": B}, ["interval"]),
    "predictiveScaling": predictive,
    "businessRules": business,
    "services": {"type": "object", "additionalProperties": service, "propertyNames": dict(k8sname, maxLength=55)},
    "policies": obj({"includeDefaults": B, "files": {"type": "object", "additionalProperties": {"type": "string"},
                                                      "propertyNames": S(pattern=r"^[A-Za-z0-9._-]+\.(yaml|yml|json)$")},
                     "existingConfigMap": S()}),
    "metrics": obj({"serviceMonitor": obj({"enabled": B, "interval": duration, "scrapeTimeout": duration, "labels": STRMAP}, ["enabled"]),
                    "prometheusRule": obj({"enabled": B, "labels": STRMAP, "latencyTimeoutRatio": N(exclusiveMinimum=0, maximum=1),
                                           "confidenceFloor": N(minimum=0, maximum=1), "confidenceUsable": N(minimum=0, maximum=1)}, ["enabled"])}),
    "dashboards": obj({"enabled": B, "namespace": S(), "labels": STRMAP, "annotations": STRMAP}, ["enabled"]),
    "keda": {"type": "object", "properties": {"enabled": B}, "required": ["enabled"], "additionalProperties": True,
             "description": "values of the kedacore/keda chart when keda.enabled"},
    "extraEnv": {"type": "array", "items": obj({"name": S(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$"), "value": S(), "valueFrom": ANYOBJ}, ["name"])},
    "extraArgs": {"type": "array", "items": {"type": "string"}},
  }, ["replicaCount", "image", "webhook", "certManager", "predictiveScaling", "businessRules", "loop"]),
}
json.dump(schema, open(sys.argv[1], "w"), indent=2, ensure_ascii=False)
open(sys.argv[1], "a").write("\n")
