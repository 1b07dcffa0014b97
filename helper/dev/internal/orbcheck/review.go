package orbcheck

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
)

// OrbName is the orb's registry name, as examples import it.
const OrbName = "shipgate/shipgate"

// CurrentMajor is the orb's current major version; examples must import it (RC011). Raise it
// together with the first release of a new major.
const CurrentMajor = 1

var (
	snakeCase  = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	includeRef = regexp.MustCompile(`^<<\s*include\([-\w/.]+\)\s*>>$`)
	envInKey   = regexp.MustCompile(`\$\{?[A-Za-z_]`)
)

// Review applies the orb-tools review rules that need no network (RC001–RC005, RC008–RC012)
// to an orb source folder. RC006/RC007 (links and registry lookups) need the network and are
// left to orb-tools.
func Review(src string, major int) ([]Problem, error) {
	var problems []Problem
	add := adder(&problems)
	rootFile := filepath.Join(src, "@orb.yml")
	rootDoc, err := readDoc(rootFile)
	if err != nil {
		return nil, err
	}
	root := asMap(rootDoc)
	if s, _ := asMap(root["display"])["source_url"].(string); s == "" {
		add(rootFile, "display", "RC001", "display.source_url is missing")
	}
	if d, _ := root["description"].(string); len(strings.TrimSpace(d)) < 64 {
		add(rootFile, "description", "RC005", "the orb description has %d characters; write at least 64", len(strings.TrimSpace(d)))
	}
	for _, kind := range []string{"commands", "jobs", "executors", "examples"} {
		files, _ := filepath.Glob(filepath.Join(src, kind, "*.y*ml"))
		if kind == "examples" && len(files) == 0 {
			add(filepath.Join(src, kind), "", "RC003", "the orb has no examples")
		}
		for _, f := range files {
			doc, err := readDoc(f)
			if err != nil {
				return nil, err
			}
			comp := asMap(doc)
			name := strings.TrimSuffix(filepath.Base(f), filepath.Ext(f))
			if d, _ := comp["description"].(string); strings.TrimSpace(d) == "" {
				add(f, "description", "RC002", "every %s needs a description", strings.TrimSuffix(kind, "s"))
			}
			if kind == "examples" {
				if strings.Contains(strings.ToLower(name), "example") {
					add(f, "", "RC004", "example file names should not contain \"example\": the registry lists them as examples already")
				}
				problems = append(problems, reviewExampleVersion(f, asMap(comp["usage"]), major)...)
				// Examples are configs users copy: their run steps are named too (RC008).
				reviewNamedRuns(f, []string{"usage"}, comp["usage"], add)
				continue
			}
			if !snakeCase.MatchString(name) {
				add(f, "", "RC010", "component file name %q is not snake_case", name)
			}
			params := asMap(comp["parameters"])
			for _, p := range sortedKeys(params) {
				if !snakeCase.MatchString(p) {
					add(f, "parameters."+p, "RC010", "parameter name %q is not snake_case", p)
				}
			}
			reviewSteps(f, nil, comp["steps"], params, add)
		}
	}
	return problems, nil
}

func reviewExampleVersion(file string, usage map[string]any, major int) []Problem {
	want := regexp.MustCompile(fmt.Sprintf(`^%s@%d(\.\d+\.\d+)?$`, regexp.QuoteMeta(OrbName), major))
	for _, k := range sortedKeys(asMap(usage["orbs"])) {
		s, _ := asMap(usage["orbs"])[k].(string)
		if strings.HasPrefix(s, OrbName+"@") && !want.MatchString(s) {
			return []Problem{{File: file, Path: "usage.orbs." + k, Rule: "RC011", Message: fmt.Sprintf("the example imports %s; use the current major, %s@%d", s, OrbName, major)}}
		}
	}
	return nil
}

// reviewSteps checks RC008 (named run steps), RC009 (long commands use include) and RC012
// (no environment variables, directly or through a parameter default, in cache keys).
func reviewSteps(file string, path []string, v any, params map[string]any, add func(file, path, rule, format string, args ...any)) {
	switch t := v.(type) {
	case []any:
		for i, e := range t {
			reviewSteps(file, at(path, fmt.Sprintf("[%d]", i)), e, params, add)
		}
	case map[string]any:
		for _, k := range sortedKeys(t) {
			p := at(path, k)
			switch k {
			case "run":
				run := asMap(t[k])
				if run == nil {
					add(file, pathString(p), "RC008", "a run step needs a name: write run: {name: ..., command: ...}")
					continue
				}
				if n, _ := run["name"].(string); n == "" {
					add(file, pathString(p), "RC008", "the run step has no name")
				}
				if cmd, _ := run["command"].(string); len(cmd) > 64 && !includeRef.MatchString(cmd) {
					add(file, pathString(at(p, "command")), "RC009", "a command longer than 64 characters belongs in src/scripts with <<include(...)>>")
				}
			case "save_cache", "restore_cache":
				step := asMap(t[k])
				var keys []string
				if s, ok := step["key"].(string); ok {
					keys = append(keys, s)
				}
				if list, ok := step["keys"].([]any); ok {
					for _, e := range list {
						if s, ok := e.(string); ok {
							keys = append(keys, s)
						}
					}
				}
				for _, key := range keys {
					if envInKey.MatchString(key) {
						add(file, pathString(p), "RC012", "cache key %q uses an environment variable, which keys do not expand; use {{ .Environment.NAME }}", key)
					}
					for _, ref := range paramRef.FindAllStringSubmatch(key, -1) {
						if d, ok := asMap(params[ref[2]])["default"].(string); ok && envInKey.MatchString(d) {
							add(file, pathString(p), "RC012", "cache key uses parameter %s whose default %q is an environment variable", ref[2], d)
						}
					}
				}
			default:
				reviewSteps(file, p, t[k], params, add)
			}
		}
	}
}

// reviewNamedRuns reports unnamed run steps anywhere below v (RC008 for examples).
func reviewNamedRuns(file string, path []string, v any, add func(file, path, rule, format string, args ...any)) {
	switch t := v.(type) {
	case []any:
		for i, e := range t {
			reviewNamedRuns(file, at(path, fmt.Sprintf("[%d]", i)), e, add)
		}
	case map[string]any:
		for _, k := range sortedKeys(t) {
			if k == "run" {
				if n, _ := asMap(t[k])["name"].(string); n == "" {
					add(file, pathString(at(path, k)), "RC008", "the run step has no name")
				}
				continue
			}
			reviewNamedRuns(file, at(path, k), t[k], add)
		}
	}
}
