{{/*
The policy files of the ConfigMap, as a YAML map of file name -> file text.

1. The chart's files (policies/*.yaml|yml|json, the repository's policies/ directory) unless
   policies.includeDefaults is false, then policies.files (a same-named entry replaces one).
2. When the seed-style values ask for it, every policy of every file gets them in its
   `defaults` (so a profile that sets the key still wins, and annotations still win over both):
   predictiveScaling.enabled=false turns predictive off in every policy AND profile;
   predictiveScaling.lookbackHours/forecastMinutes/confidenceThreshold/scaleAheadMinutes, when
   set (not null), replace the policy-level default; businessRules.enabled=true makes
   timezone/windows/nightMaxReplicas every policy's default business hours. Files that need no
   change are shipped byte for byte; a changed file is re-serialised (comments are lost; the
   original stays in the chart).
3. services.<name> adds a policy "service-<name>" (file 10-values-services.yaml): a copy of the
   base policy (services.<name>.policy, else the one defining services.<name>.profile, else the
   first) matching only the service's namespaces/labels, with higher priority, and the
   service's settings applied to its defaults and every profile.
The format is the policy file format of docs/policies.md (apiVersion ml-autoscaling.io/v1, kind
PolicySet); `ml-autoscaling lint` checks the result like any admin file.
*/}}

{{/* Sets ov's keys into dst, one level into nested maps (sprig's merge* skip false/0). */}}
{{- define "mla.overlay" -}}
{{- $dst := index . 0 -}}
{{- $ov := index . 1 -}}
{{- range $k, $v := $ov -}}
{{- if and (kindIs "map" $v) (kindIs "map" (get $dst $k)) -}}
{{- $inner := get $dst $k -}}
{{- range $k2, $v2 := $v }}{{ $_ := set $inner $k2 $v2 }}{{ end -}}
{{- else -}}
{{- $_ := set $dst $k $v -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The settings that predictiveScaling.* and businessRules.* put into every policy's defaults. */}}
{{- define "mla.valuesOverlay" -}}
{{- $p := .Values.predictiveScaling -}}
{{- $b := .Values.businessRules -}}
{{- $ov := dict -}}
{{- $pred := dict -}}
{{- if not $p.enabled }}{{ $_ := set $pred "enabled" false }}{{ end -}}
{{- range $from, $to := dict "lookbackHours" "lookbackHours" "forecastMinutes" "horizonMinutes" "confidenceThreshold" "confidenceThreshold" "scaleAheadMinutes" "scaleAheadMinutes" -}}
{{- if not (kindIs "invalid" (get $p $from)) }}{{ $_ := set $pred $to (get $p $from) }}{{ end -}}
{{- end -}}
{{- if $pred }}{{ $_ := set $ov "predictive" $pred }}{{ end -}}
{{- if $b.enabled -}}
{{- $bh := dict "timezone" $b.timezone "windows" $b.windows -}}
{{- if not (kindIs "invalid" $b.nightMaxReplicas) }}{{ $_ := set $bh "nightMaxReplicas" $b.nightMaxReplicas }}{{ end -}}
{{- $_ := set $ov "businessHours" $bh -}}
{{- end -}}
{{- toYaml $ov -}}
{{- end -}}

{{/* A service's settings as a policy settings overlay. */}}
{{- define "mla.serviceOverlay" -}}
{{- $s := . -}}
{{- $ov := dict -}}
{{- range $k := list "minReplicas" "maxReplicas" "hpaMode" -}}
{{- if hasKey $s $k }}{{ $_ := set $ov $k (get $s $k) }}{{ end -}}
{{- end -}}
{{- with get $s "predictiveScaling" -}}
{{- $pred := dict -}}
{{- range $from, $to := dict "enabled" "enabled" "lookbackHours" "lookbackHours" "forecastMinutes" "horizonMinutes" "confidenceThreshold" "confidenceThreshold" "scaleAheadMinutes" "scaleAheadMinutes" "query" "query" "capacityPerReplica" "capacityPerReplica" -}}
{{- if hasKey (get $s "predictiveScaling") $from }}{{ $_ := set $pred $to (get (get $s "predictiveScaling") $from) }}{{ end -}}
{{- end -}}
{{- $_ := set $ov "predictive" $pred -}}
{{- end -}}
{{- with get $s "businessRules" -}}
{{- if get . "enabled" -}}
{{- $bh := dict "windows" (default (list) (get . "windows")) -}}
{{- with get . "timezone" }}{{ $_ := set $bh "timezone" . }}{{ end -}}
{{- if not (kindIs "invalid" (get . "nightMaxReplicas")) }}{{ $_ := set $bh "nightMaxReplicas" (get . "nightMaxReplicas") }}{{ end -}}
{{- $_ := set $ov "businessHours" $bh -}}
{{- end -}}
{{- end -}}
{{- with get $s "cost" }}{{ $_ := set $ov "cost" . }}{{ end -}}
{{- with get $s "settings" }}{{ include "mla.overlay" (list $ov .) }}{{ end -}}
{{- toYaml $ov -}}
{{- end -}}

{{/* Applies an overlay to a policy's defaults and, when profOv is not empty, to every profile.
predictive.enabled=true is only placed where a load query is known (the loader requires one):
in the overlay, the settings themselves, or (for a profile) the policy defaults. */}}
{{- define "mla.applyOverlay" -}}
{{- $pol := index . 0 -}}
{{- $ov := index . 1 -}}
{{- $profOv := index . 2 -}}
{{- if not (kindIs "map" (get $pol "defaults")) }}{{ $_ := set $pol "defaults" dict }}{{ end -}}
{{- $defs := get $pol "defaults" -}}
{{- $defQuery := dig "predictive" "query" "" $defs -}}
{{- $o := deepCopy $ov -}}
{{- if and (eq (dig "predictive" "enabled" false $o) true) (not (dig "predictive" "query" "" $o)) (not $defQuery) -}}
{{- $_ := unset (get $o "predictive") "enabled" -}}
{{- end -}}
{{- include "mla.overlay" (list $defs $o) -}}
{{- $defQuery = dig "predictive" "query" "" $defs -}}
{{- if and $profOv (kindIs "map" (get $pol "profiles")) -}}
{{- range $name, $prof := get $pol "profiles" -}}
{{- if kindIs "map" $prof -}}
{{- $po := deepCopy $profOv -}}
{{- if and (eq (dig "predictive" "enabled" false $po) true) (not (dig "predictive" "query" "" $po)) (not (dig "predictive" "query" "" $prof)) (not $defQuery) -}}
{{- $_ := unset (get $po "predictive") "enabled" -}}
{{- end -}}
{{- include "mla.overlay" (list $prof $po) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "mla.policyFiles" -}}
{{- $files := dict -}}
{{- if .Values.policies.includeDefaults -}}
{{- range $path, $_ := .Files.Glob "policies/*.{yaml,yml,json}" -}}
{{- $_ := set $files (base $path) ($.Files.Get $path) -}}
{{- end -}}
{{- end -}}
{{- range $name, $text := .Values.policies.files -}}
{{- $_ := set $files $name $text -}}
{{- end -}}
{{- $ov := fromYaml (include "mla.valuesOverlay" .) -}}
{{- $force := dict -}}
{{- if not .Values.predictiveScaling.enabled }}{{ $force = dict "predictive" (dict "enabled" false) }}{{ end -}}
{{- $parsed := list -}}
{{- range $name := keys $files | sortAlpha -}}
{{- $text := get $files $name -}}
{{- $docs := list -}}
{{- range $i, $doc := regexSplit "(?m)^---[ \\t]*$" $text -1 -}}
{{- if regexMatch "(?m)^[^#\\s]" $doc -}}
{{- $m := fromYaml $doc -}}
{{- if hasKey $m "Error" }}{{ fail (printf "policy file %s: not valid YAML: %s" $name (get $m "Error")) }}{{ end -}}
{{- $docs = append $docs $m -}}
{{- end -}}
{{- end -}}
{{- if $ov -}}
{{- range $docs }}{{ range (get . "policies" | default list) }}{{ if kindIs "map" . }}{{ include "mla.applyOverlay" (list . $ov $force) }}{{ end }}{{ end }}{{ end -}}
{{- $out := list -}}
{{- range $docs }}{{ $out = append $out (toYaml .) }}{{ end -}}
{{- $_ := set $files $name (printf "# Rewritten by the Helm chart from %s with predictiveScaling.* / businessRules.* values.\n%s\n" $name (join "\n---\n" $out)) -}}
{{- end -}}
{{- range $docs }}{{ range (get . "policies" | default list) }}{{ if kindIs "map" . }}{{ $parsed = append $parsed . }}{{ end }}{{ end }}{{ end -}}
{{- end -}}
{{- if .Values.services -}}
{{- $svcPolicies := list -}}
{{- range $sname, $s := .Values.services -}}
{{- if not (or (get $s "namespaces") (get $s "matchLabels")) }}{{ fail (printf "services.%s: set namespaces and/or matchLabels (a service override must not match every Deployment)" $sname) }}{{ end -}}
{{- $base := dict -}}
{{- range $parsed -}}
{{- if and (not $base) (get $s "policy") (eq (get . "name") (get $s "policy")) }}{{ $base = . }}{{ end -}}
{{- end -}}
{{- if and (get $s "policy") (not $base) }}{{ fail (printf "services.%s.policy: no policy named %q in the policy files" $sname (get $s "policy")) }}{{ end -}}
{{- if and (not $base) (get $s "profile") -}}
{{- range $parsed -}}
{{- if and (not $base) (kindIs "map" (get . "profiles")) (hasKey (get . "profiles") (get $s "profile")) }}{{ $base = . }}{{ end -}}
{{- end -}}
{{- if not $base }}{{ fail (printf "services.%s.profile: no policy defines a profile %q" $sname (get $s "profile")) }}{{ end -}}
{{- end -}}
{{- if and (not $base) $parsed }}{{ $base = first $parsed }}{{ end -}}
{{- if not $base }}{{ fail (printf "services.%s: there is no policy to base it on (policies.includeDefaults is false and policies.files is empty)" $sname) }}{{ end -}}
{{- $pol := deepCopy $base -}}
{{- $_ := set $pol "name" (printf "service-%s" $sname) -}}
{{- $_ := set $pol "description" (printf "Helm values services.%s, based on policy %s" $sname (get $base "name")) -}}
{{- $_ := set $pol "priority" (default (add (int (get $base "priority" | default 0)) 100) (get $s "priority")) -}}
{{- $match := dict -}}
{{- with (get $s "namespaces") }}{{ $_ := set $match "namespaces" . }}{{ end -}}
{{- with (get $s "matchLabels") }}{{ $_ := set $match "selector" (dict "matchLabels" .) }}{{ end -}}
{{- $_ := set $pol "match" $match -}}
{{- with (get $s "profile") }}{{ $_ := set $pol "defaultProfile" . }}{{ end -}}
{{- $sov := fromYaml (include "mla.serviceOverlay" $s) -}}
{{- include "mla.applyOverlay" (list $pol $sov $sov) -}}
{{- $svcPolicies = append $svcPolicies $pol -}}
{{- end -}}
{{- $_ := set $files "10-values-services.yaml" (printf "# Generated by the Helm chart from services.* values.\n%s\n" (toYaml (dict "apiVersion" "ml-autoscaling.io/v1" "kind" "PolicySet" "policies" $svcPolicies))) -}}
{{- end -}}
{{- toYaml $files -}}
{{- end -}}
