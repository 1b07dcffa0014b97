package localrunner

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/shipgate/shipgate/helper/internal/circleci"
)

// Step is one compiled built-in step of a job, ready to run.
type Step struct {
	// Kind is the built-in step: run, checkout, persist_to_workspace, attach_workspace,
	// store_test_results, store_artifacts, setup_remote_docker, add_ssh_keys, save_cache,
	// restore_cache.
	Kind string
	// Name is the step's display name.
	Name string
	// When is on_success (the default), on_fail or always.
	When string

	// run steps
	Command          string
	Shell            string
	Env              map[string]string
	WorkingDirectory string
	NoOutputTimeout  time.Duration
	Background       bool

	// Args holds the other built-ins' arguments (root, paths, at, path, destination), with
	// `\<<` already unescaped.
	Args map[string]any
}

// compiledSteps is a list of compiled steps; inside a substituted tree it marks a `steps`
// parameter value, so a splice never compiles the caller's steps a second time.
type compiledSteps []Step

var builtinSteps = map[string]bool{
	"run": true, "checkout": true, "persist_to_workspace": true, "attach_workspace": true,
	"store_test_results": true, "store_artifacts": true, "setup_remote_docker": true,
	"add_ssh_keys": true, "save_cache": true, "restore_cache": true,
}

// defaultNoOutputTimeout is CircleCI's default for a run step that prints nothing.
const defaultNoOutputTimeout = 10 * time.Minute

var stepKeys = map[string][]string{
	"run": {"name", "command", "environment", "when", "shell", "working_directory",
		"no_output_timeout", "background", "max_auto_reruns", "auto_rerun_delay"},
	"checkout":             {"name", "path", "method", "when"},
	"persist_to_workspace": {"name", "root", "paths", "when"},
	"attach_workspace":     {"name", "at", "when"},
	"store_test_results":   {"name", "path", "when"},
	"store_artifacts":      {"name", "path", "destination", "when"},
	"setup_remote_docker":  {"name", "version", "docker_layer_caching", "when"},
	"add_ssh_keys":         {"name", "fingerprints", "when"},
	"save_cache":           {"name", "key", "paths", "when"},
	"restore_cache":        {"name", "key", "keys", "when"},
}

func builtinStep(kind string, arg any) (Step, error) {
	st := Step{Kind: kind, When: "on_success", Args: map[string]any{}}
	if kind == "run" {
		if s, ok := arg.(string); ok {
			st.Command = circleci.Unescape(s)
			st.Name = firstLine(st.Command)
			st.NoOutputTimeout = defaultNoOutputTimeout
			return st, nil
		}
	}
	m, err := circleci.AsMap(arg, kind)
	if err != nil {
		return st, err
	}
	allowed := stepKeys[kind]
	var unknown []string
	for k := range m {
		if !contains(allowed, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return st, fmt.Errorf("unknown key(s) %s (allowed: %s)", strings.Join(unknown, ", "), strings.Join(allowed, ", "))
	}
	if w, ok := m["when"]; ok {
		s, _ := w.(string)
		switch s {
		case "on_success", "on_fail", "always":
			st.When = s
		default:
			return st, fmt.Errorf("when must be on_success, on_fail or always, got %s", describe(w))
		}
	}
	text := func(key string) (string, error) {
		v, ok := m[key]
		if !ok || v == nil {
			return "", nil
		}
		s, ok := circleci.ScalarText(v)
		if !ok {
			return "", fmt.Errorf("%s must be a string, got %s", key, describe(v))
		}
		return circleci.Unescape(s), nil
	}
	if st.Name, err = text("name"); err != nil {
		return st, err
	}
	if kind != "run" {
		if st.Name == "" {
			st.Name = kind
		}
		for k, v := range m {
			if k != "name" && k != "when" {
				st.Args[k] = unescapeTree(v)
			}
		}
		return st, nil
	}
	if st.Command, err = text("command"); err != nil {
		return st, err
	}
	if st.Command == "" {
		return st, fmt.Errorf("command is missing")
	}
	if st.Name == "" {
		st.Name = firstLine(st.Command)
	}
	if st.Shell, err = text("shell"); err != nil {
		return st, err
	}
	if st.WorkingDirectory, err = text("working_directory"); err != nil {
		return st, err
	}
	if st.Env, err = environment(m["environment"], "environment"); err != nil {
		return st, err
	}
	st.NoOutputTimeout = defaultNoOutputTimeout
	if t, err := text("no_output_timeout"); err != nil {
		return st, err
	} else if t != "" {
		d, err := time.ParseDuration(t)
		if err != nil || d <= 0 {
			return st, fmt.Errorf("no_output_timeout %q: want a duration such as 20m, 1.5h or 30s", t)
		}
		st.NoOutputTimeout = d
	}
	if b, ok := m["background"]; ok {
		v, ok := b.(bool)
		if !ok {
			return st, fmt.Errorf("background must be true or false")
		}
		st.Background = v
	}
	return st, nil
}

func unescapeTree(v any) any {
	switch x := v.(type) {
	case string:
		return circleci.Unescape(x)
	case []any:
		out := make([]any, len(x))
		for i, item := range x {
			out[i] = unescapeTree(item)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, item := range x {
			out[k] = unescapeTree(item)
		}
		return out
	}
	return v
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
