// render - an offline stand-in for `helm template`, for tests on a machine without helm.
//
// It renders a chart directory the way Helm 3 does, closely enough to catch template,
// values and indentation mistakes: Go text/template with the sprig function map (minus the
// non-hermetic env/expandenv, as in Helm) plus Helm's own functions (include, tpl, required,
// toYaml, fromYaml, fromYamlArray, toJson, fromJson, fromJsonArray, lookup -> empty map),
// .Values (chart values.yaml deep-merged with -f files and --set, numbers as float64 like
// Helm's JSON round trip), .Release, .Chart, .Capabilities (KubeVersion, APIVersions.Has),
// .Template and .Files (Get, Glob, AsConfig, AsSecrets, Lines). missingkey=zero and
// "<no value>" removal match Helm. Dependencies listed in Chart.yaml are evaluated against
// their condition; an enabled one that is not vendored under charts/ is reported on stderr
// and in --deps-out (Helm would refuse to install without `helm dependency build`).
//
// It is NOT Helm: no hooks, no subchart rendering, no schema validation (the tests validate
// values.schema.json separately with python3-jsonschema), no .helmignore. The real checks on
// a cluster are `helm lint`, `helm template` and `helm install` (see docs/operations.md).
//
// Build (offline, Debian's Go packages):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode:$TMP/gopath GOCACHE=$TMP/gocache go build -o render .
//
// Usage:
//
//	render --chart DIR [-f values.yaml]... [--set a.b=v]... [--name N] [--namespace NS]
//	       [--kube-version v1.30.0] [--api-versions g/v[/Kind],...] [--notes] [--deps-out FILE]
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig"
	"gopkg.in/yaml.v2"
)

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// ---- values ----

// toJSONish turns yaml.v2 output (map[interface{}]interface{}) into what Helm sees after
// sigs.k8s.io/yaml: map[string]interface{}, []interface{}, float64 numbers, strings, bools.
func toJSONish(v interface{}) (interface{}, error) {
	conv := normalize(v)
	b, err := json.Marshal(conv)
	if err != nil {
		return nil, err
	}
	var out interface{}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	return out, nil
}

func normalize(v interface{}) interface{} {
	switch t := v.(type) {
	case map[interface{}]interface{}:
		m := make(map[string]interface{}, len(t))
		for k, val := range t {
			m[fmt.Sprint(k)] = normalize(val)
		}
		return m
	case map[string]interface{}:
		m := make(map[string]interface{}, len(t))
		for k, val := range t {
			m[k] = normalize(val)
		}
		return m
	case []interface{}:
		l := make([]interface{}, len(t))
		for i, val := range t {
			l[i] = normalize(val)
		}
		return l
	default:
		return v
	}
}

func parseYAMLMap(data []byte, what string) (map[string]interface{}, error) {
	var raw interface{}
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("%s: %v", what, err)
	}
	if raw == nil {
		return map[string]interface{}{}, nil
	}
	j, err := toJSONish(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", what, err)
	}
	m, ok := j.(map[string]interface{})
	if !ok {
		return nil, fmt.Errorf("%s: top level is not a mapping", what)
	}
	return m, nil
}

// coalesce merges src over dst (src wins); a null in src deletes the key, as in Helm.
func coalesce(dst, src map[string]interface{}) map[string]interface{} {
	for k, sv := range src {
		if sv == nil {
			delete(dst, k)
			continue
		}
		sm, sIsMap := sv.(map[string]interface{})
		dm, dIsMap := dst[k].(map[string]interface{})
		if sIsMap && dIsMap {
			dst[k] = coalesce(dm, sm)
		} else {
			dst[k] = sv
		}
	}
	return dst
}

// setValue implements a small subset of --set: a.b.c=v, v typed as bool, int64 or string.
func setValue(vals map[string]interface{}, expr string, forceString bool) error {
	eq := strings.Index(expr, "=")
	if eq <= 0 {
		return fmt.Errorf("--set %q: want key=value", expr)
	}
	keys := strings.Split(expr[:eq], ".")
	raw := expr[eq+1:]
	var v interface{} = raw
	if !forceString {
		if raw == "true" || raw == "false" {
			v = raw == "true"
		} else if raw == "null" {
			v = nil
		} else if n, err := strconv.ParseInt(raw, 10, 64); err == nil {
			v = n
		}
	}
	cur := vals
	for i, k := range keys {
		if i == len(keys)-1 {
			if v == nil {
				delete(cur, k)
			} else {
				cur[k] = v
			}
			break
		}
		next, ok := cur[k].(map[string]interface{})
		if !ok {
			next = map[string]interface{}{}
			cur[k] = next
		}
		cur = next
	}
	return nil
}

// ---- .Files ----

type Files map[string][]byte

func (f Files) Get(name string) string      { return string(f[name]) }
func (f Files) GetBytes(name string) []byte { return f[name] }
func (f Files) Lines(name string) []string {
	s := string(f[name])
	if s == "" {
		return []string{}
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// Glob supports path.Match patterns plus one level of {a,b} alternatives (Helm uses gobwas/glob).
func (f Files) Glob(pattern string) Files {
	pats := expandBraces(pattern)
	out := Files{}
	for name, data := range f {
		for _, p := range pats {
			if ok, _ := path.Match(p, name); ok {
				out[name] = data
				break
			}
		}
	}
	return out
}

func expandBraces(p string) []string {
	i := strings.Index(p, "{")
	j := strings.Index(p, "}")
	if i < 0 || j < i {
		return []string{p}
	}
	var out []string
	for _, alt := range strings.Split(p[i+1:j], ",") {
		out = append(out, expandBraces(p[:i]+alt+p[j+1:])...)
	}
	return out
}

func (f Files) sortedNames() []string {
	names := make([]string, 0, len(f))
	for n := range f {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (f Files) AsConfig() string {
	if len(f) == 0 {
		return ""
	}
	m := map[string]interface{}{}
	for _, n := range f.sortedNames() {
		m[path.Base(n)] = string(f[n])
	}
	return toYAML(m)
}

func (f Files) AsSecrets() string {
	if len(f) == 0 {
		return ""
	}
	m := map[string]interface{}{}
	for _, n := range f.sortedNames() {
		m[path.Base(n)] = base64.StdEncoding.EncodeToString(f[n])
	}
	return toYAML(m)
}

// ---- Helm's functions ----

func toYAML(v interface{}) string {
	// sigs.k8s.io/yaml: JSON first, then YAML with sorted keys.
	j, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	var obj interface{}
	if err := yaml.Unmarshal(j, &obj); err != nil {
		return ""
	}
	b, err := yaml.Marshal(obj)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(string(b), "\n")
}

func fromYAML(s string) map[string]interface{} {
	m, err := parseYAMLMap([]byte(s), "fromYaml")
	if err != nil {
		return map[string]interface{}{"Error": err.Error()}
	}
	return m
}

func fromYAMLArray(s string) []interface{} {
	var raw interface{}
	if err := yaml.Unmarshal([]byte(s), &raw); err != nil {
		return []interface{}{err.Error()}
	}
	j, err := toJSONish(raw)
	if err != nil {
		return []interface{}{err.Error()}
	}
	l, _ := j.([]interface{})
	return l
}

func toJSON(v interface{}) string {
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

func fromJSON(s string) map[string]interface{} {
	m := map[string]interface{}{}
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		m["Error"] = err.Error()
	}
	return m
}

func fromJSONArray(s string) []interface{} {
	var l []interface{}
	if err := json.Unmarshal([]byte(s), &l); err != nil {
		return []interface{}{err.Error()}
	}
	return l
}

type APIVersions []string

// Has matches "group/version" or "group/version/Kind", as Helm's Capabilities.APIVersions.Has.
func (a APIVersions) Has(v string) bool {
	for _, x := range a {
		if x == v {
			return true
		}
	}
	return false
}

type KubeVersion struct {
	Version, Major, Minor, GitVersion string
}

func (k KubeVersion) String() string { return k.Version }

// ---- chart ----

type dependency struct {
	Name       string `yaml:"name"`
	Version    string `yaml:"version"`
	Repository string `yaml:"repository"`
	Condition  string `yaml:"condition"`
	Alias      string `yaml:"alias"`
}

type chartMeta struct {
	APIVersion   string            `yaml:"apiVersion"`
	Name         string            `yaml:"name"`
	Version      string            `yaml:"version"`
	AppVersion   string            `yaml:"appVersion"`
	Description  string            `yaml:"description"`
	Type         string            `yaml:"type"`
	KubeVersion  string            `yaml:"kubeVersion"`
	Dependencies []dependency      `yaml:"dependencies"`
	Home         string            `yaml:"home"`
	Sources      []string          `yaml:"sources"`
	Keywords     []string          `yaml:"keywords"`
	Maintainers  []interface{}     `yaml:"maintainers"`
	Icon         string            `yaml:"icon"`
	Deprecated   bool              `yaml:"deprecated"`
	Annotations  map[string]string `yaml:"annotations"`
}

func lookupPath(vals map[string]interface{}, dotted string) (interface{}, bool) {
	var cur interface{} = vals
	for _, k := range strings.Split(dotted, ".") {
		m, ok := cur.(map[string]interface{})
		if !ok {
			return nil, false
		}
		cur, ok = m[k]
		if !ok {
			return nil, false
		}
	}
	return cur, true
}

func die(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "render: "+format+"\n", a...)
	os.Exit(1)
}

func main() {
	var valueFiles, sets, setStrings multiFlag
	chartDir := flag.String("chart", "", "chart directory")
	name := flag.String("name", "ml-autoscaling", "release name")
	namespace := flag.String("namespace", "ml-autoscaling", "release namespace")
	kubeVersion := flag.String("kube-version", "v1.30.0", "Capabilities.KubeVersion")
	apiVersions := flag.String("api-versions", "", "extra Capabilities.APIVersions, comma separated")
	notes := flag.Bool("notes", false, "print the rendered NOTES.txt instead of the manifests")
	depsOut := flag.String("deps-out", "", "write the enabled dependencies (JSON) to this file")
	strict := flag.Bool("strict", false, "fail on a reference to a missing value (missingkey=error, as helm lint --strict)")
	flag.Var(&valueFiles, "f", "values file (repeatable)")
	flag.Var(&sets, "set", "key=value (repeatable)")
	flag.Var(&setStrings, "set-string", "key=value, value kept a string (repeatable)")
	flag.Parse()
	if *chartDir == "" || flag.NArg() != 0 {
		die("usage: render --chart DIR [-f values.yaml]... [--set k=v]... [--notes]")
	}

	metaBytes, err := os.ReadFile(filepath.Join(*chartDir, "Chart.yaml"))
	if err != nil {
		die("%v", err)
	}
	var meta chartMeta
	if err := yaml.UnmarshalStrict(metaBytes, &meta); err != nil {
		die("Chart.yaml: %v", err)
	}
	if meta.APIVersion != "v2" || meta.Name == "" || meta.Version == "" {
		die("Chart.yaml: apiVersion v2, name and version are required")
	}

	// Values: chart defaults, then -f files in order, then --set.
	defBytes, err := os.ReadFile(filepath.Join(*chartDir, "values.yaml"))
	if err != nil {
		die("%v", err)
	}
	vals, err := parseYAMLMap(defBytes, "values.yaml")
	if err != nil {
		die("%v", err)
	}
	for _, f := range valueFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			die("%v", err)
		}
		m, err := parseYAMLMap(b, f)
		if err != nil {
			die("%v", err)
		}
		vals = coalesce(vals, m)
	}
	for _, s := range sets {
		if err := setValue(vals, s, false); err != nil {
			die("%v", err)
		}
	}
	for _, s := range setStrings {
		if err := setValue(vals, s, true); err != nil {
			die("%v", err)
		}
	}

	// Dependencies: evaluate conditions like Helm; we cannot render subcharts offline.
	enabled := []map[string]string{}
	for _, d := range meta.Dependencies {
		on := true
		if d.Condition != "" {
			for _, c := range strings.Split(d.Condition, ",") {
				if v, ok := lookupPath(vals, strings.TrimSpace(c)); ok {
					b, isBool := v.(bool)
					if !isBool {
						die("dependency %s: condition %s is not a bool", d.Name, c)
					}
					on = b
					break
				}
			}
		}
		if !on {
			continue
		}
		vendored := false
		if m, _ := filepath.Glob(filepath.Join(*chartDir, "charts", d.Name+"-*.tgz")); len(m) > 0 {
			vendored = true
		}
		if fi, err := os.Stat(filepath.Join(*chartDir, "charts", d.Name)); err == nil && fi.IsDir() {
			vendored = true
		}
		enabled = append(enabled, map[string]string{"name": d.Name, "version": d.Version,
			"repository": d.Repository, "condition": d.Condition, "vendored": strconv.FormatBool(vendored)})
		if !vendored {
			fmt.Fprintf(os.Stderr, "render: note: dependency %q (%s) is enabled but not vendored; "+
				"with helm run `helm dependency build` first. Its objects are not rendered here.\n",
				d.Name, d.Repository)
		}
	}
	if *depsOut != "" {
		b, _ := json.MarshalIndent(enabled, "", "  ")
		if err := os.WriteFile(*depsOut, b, 0o644); err != nil {
			die("%v", err)
		}
	}

	// Files: everything except templates/, charts/, Chart.yaml, values*.
	files := Files{}
	err = filepath.Walk(*chartDir, func(p string, info os.FileInfo, werr error) error {
		if werr != nil {
			return werr
		}
		rel, _ := filepath.Rel(*chartDir, p)
		rel = filepath.ToSlash(rel)
		if info.IsDir() {
			if rel == "templates" || rel == "charts" {
				return filepath.SkipDir
			}
			return nil
		}
		if info.Mode()&os.ModeSymlink != 0 {
			// Helm follows symlinks when loading a chart directory.
			st, err := os.Stat(p)
			if err != nil {
				return nil
			}
			if st.IsDir() {
				return walkLinkedDir(p, rel, files)
			}
		}
		if rel == "Chart.yaml" || rel == "values.yaml" || rel == "values.schema.json" {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files[rel] = b
		return nil
	})
	if err != nil {
		die("%v", err)
	}

	// Templates.
	tplDir := filepath.Join(*chartDir, "templates")
	entries, err := os.ReadDir(tplDir)
	if err != nil {
		die("%v", err)
	}
	root := template.New("root").Option("missingkey=zero")
	if *strict {
		root = root.Option("missingkey=error")
	}
	funcs := sprig.TxtFuncMap()
	delete(funcs, "env")
	delete(funcs, "expandenv")
	var names []string
	includeDepth := 0
	funcs["include"] = func(n string, data interface{}) (string, error) {
		includeDepth++
		defer func() { includeDepth-- }()
		if includeDepth > 100 {
			return "", errors.New("include: recursion too deep")
		}
		var buf bytes.Buffer
		if err := root.ExecuteTemplate(&buf, n, data); err != nil {
			return "", err
		}
		return buf.String(), nil
	}
	funcs["tpl"] = func(text string, data interface{}) (string, error) {
		t, err := root.Clone()
		if err != nil {
			return "", err
		}
		t, err = t.New("tpl").Parse(text)
		if err != nil {
			return "", fmt.Errorf("tpl: %v", err)
		}
		var buf bytes.Buffer
		if err := t.Execute(&buf, data); err != nil {
			return "", fmt.Errorf("tpl: %v", err)
		}
		return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
	}
	funcs["required"] = func(msg string, v interface{}) (interface{}, error) {
		if v == nil {
			return nil, errors.New(msg)
		}
		if s, ok := v.(string); ok && s == "" {
			return nil, errors.New(msg)
		}
		return v, nil
	}
	funcs["toYaml"] = toYAML
	funcs["fromYaml"] = fromYAML
	funcs["fromYamlArray"] = fromYAMLArray
	funcs["toJson"] = toJSON
	funcs["fromJson"] = fromJSON
	funcs["fromJsonArray"] = fromJSONArray
	funcs["lookup"] = func(apiVersion, kind, ns, n string) (map[string]interface{}, error) {
		return map[string]interface{}{}, nil
	}
	root.Funcs(funcs)
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		fn := e.Name()
		ext := path.Ext(fn)
		if ext != ".yaml" && ext != ".yml" && ext != ".tpl" && ext != ".txt" && ext != ".json" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(tplDir, fn))
		if err != nil {
			die("%v", err)
		}
		full := meta.Name + "/templates/" + fn
		if _, err := root.New(full).Parse(string(b)); err != nil {
			die("parse %s: %v", full, err)
		}
		names = append(names, full)
	}
	sort.Strings(names)

	kv := strings.TrimPrefix(*kubeVersion, "v")
	parts := strings.SplitN(kv, ".", 3)
	if len(parts) < 2 {
		die("--kube-version %q: want vMAJOR.MINOR.PATCH", *kubeVersion)
	}
	apis := APIVersions{"v1", "apps/v1", "batch/v1", "policy/v1", "rbac.authorization.k8s.io/v1",
		"admissionregistration.k8s.io/v1", "coordination.k8s.io/v1", "autoscaling/v1",
		"autoscaling/v2", "networking.k8s.io/v1", "apiextensions.k8s.io/v1", "events.k8s.io/v1"}
	if *apiVersions != "" {
		for _, a := range strings.Split(*apiVersions, ",") {
			apis = append(apis, strings.TrimSpace(a))
		}
	}
	top := map[string]interface{}{
		"Values": vals,
		"Release": map[string]interface{}{
			"Name": *name, "Namespace": *namespace, "Service": "Helm",
			"IsInstall": true, "IsUpgrade": false, "Revision": 1,
		},
		"Chart": map[string]interface{}{
			"Name": meta.Name, "Version": meta.Version, "AppVersion": meta.AppVersion,
			"Description": meta.Description, "Type": meta.Type,
		},
		"Capabilities": map[string]interface{}{
			"KubeVersion": KubeVersion{Version: "v" + kv, Major: parts[0], Minor: parts[1], GitVersion: "v" + kv},
			"APIVersions": apis,
			"HelmVersion": map[string]interface{}{"Version": "v3.15.0-render"},
		},
		"Files": files,
	}

	var out bytes.Buffer
	sep := regexp.MustCompile(`(?m)^---\s*$`)
	for _, full := range names {
		base := path.Base(full)
		isNotes := base == "NOTES.txt"
		if strings.HasPrefix(base, "_") || isNotes != *notes {
			continue
		}
		ctx := make(map[string]interface{}, len(top)+1)
		for k, v := range top {
			ctx[k] = v
		}
		ctx["Template"] = map[string]interface{}{"Name": full, "BasePath": meta.Name + "/templates"}
		var buf bytes.Buffer
		if err := root.ExecuteTemplate(&buf, full, ctx); err != nil {
			die("%v", err)
		}
		text := strings.ReplaceAll(buf.String(), "<no value>", "")
		if isNotes {
			out.WriteString(text)
			continue
		}
		for _, doc := range sep.Split(text, -1) {
			if strings.TrimSpace(stripComments(doc)) == "" {
				continue
			}
			fmt.Fprintf(&out, "---\n# Source: %s\n%s\n", full, strings.Trim(doc, "\n"))
		}
	}
	os.Stdout.Write(out.Bytes())
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, l := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			b.WriteString(l)
			b.WriteString("\n")
		}
	}
	return b.String()
}

func walkLinkedDir(dir, rel string, files Files) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		r := rel + "/" + e.Name()
		st, err := os.Stat(p)
		if err != nil {
			continue
		}
		if st.IsDir() {
			if err := walkLinkedDir(p, r, files); err != nil {
				return err
			}
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files[r] = b
	}
	return nil
}
