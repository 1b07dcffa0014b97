package orbcheck

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/shipgate/shipgate/helper/internal/circleci"
)

// DefaultSchemaPath is CircleCI's official config schema as copied into this repository
// (schemas/README.md says where from).
const DefaultSchemaPath = "schemas/circleci-yaml-language-server.schema.json"

// Problem is one finding of a check.
type Problem struct {
	File    string
	Path    string
	Rule    string
	Message string
}

func (p Problem) String() string {
	loc := p.File
	if p.Path != "" {
		loc += ": " + p.Path
	}
	return fmt.Sprintf("%s: [%s] %s", loc, p.Rule, p.Message)
}

// Validator checks CircleCI configs and orbs against the JSON schema plus semantic checks.
type Validator struct {
	schema *jsonschema.Schema
}

// NewValidator compiles the schema at path; it needs no network.
func NewValidator(path string) (*Validator, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening schema %q: %w", path, err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		return nil, fmt.Errorf("reading schema %q: %w", path, err)
	}
	c := jsonschema.NewCompiler()
	const url = "https://shipgate.invalid/circleci.schema.json"
	if err := c.AddResource(url, doc); err != nil {
		return nil, fmt.Errorf("loading schema %q: %w", path, err)
	}
	s, err := c.Compile(url)
	if err != nil {
		return nil, fmt.Errorf("compiling schema %q: %w", path, err)
	}
	return &Validator{schema: s}, nil
}

var (
	paramRefOnly = regexp.MustCompile(`^<<\s*parameters\.[A-Za-z0-9_-]+\s*>>$`)
	// devOrbRef is the orb-tools template's reference to the dev orb of the current commit.
	devOrbRef = regexp.MustCompile(`^([a-z][a-z0-9_-]+/[a-z][a-z0-9_-]+)@dev:<<\s*pipeline\.git\.revision\s*>>$`)
)

// falsePositives neutralises the schema's known false positives before validation, and only
// them (see ../shared SOURCES notes and schemas/README.md): a parameter reference as the whole
// value of run.when, no_output_timeout or resource_class, which CircleCI accepts and substitutes
// before checking, and `when:` on restore_cache/save_cache, which CircleCI accepts and its own
// language server hides. The substitutes are values the schema accepts; the semantic checks
// still see the original document.
func falsePositives(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, val := range t {
			out[k] = falsePositives(val)
		}
		for _, k := range []string{"no_output_timeout", "resource_class"} {
			if s, ok := out[k].(string); ok && paramRefOnly.MatchString(s) {
				out[k] = map[string]string{"no_output_timeout": "10m", "resource_class": "medium"}[k]
			}
		}
		if run, ok := out["run"].(map[string]any); ok {
			if s, ok := run["when"].(string); ok && paramRefOnly.MatchString(s) {
				run["when"] = "always"
			}
		}
		for _, k := range []string{"restore_cache", "save_cache"} {
			if step, ok := out[k].(map[string]any); ok {
				delete(step, "when")
			}
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, val := range t {
			out[i] = falsePositives(val)
		}
		return out
	}
	return v
}

// devOrbFalsePositive replaces `ns/orb@dev:<< pipeline.git.revision >>` under the top-level
// orbs: with a literal dev version: CircleCI substitutes the pipeline value before resolving
// the orb (the orb-tools template relies on it), but the schema's pattern allows either a
// literal dev label or a whole-string expression, not both.
func devOrbFalsePositive(doc any) any {
	m, ok := doc.(map[string]any)
	if !ok {
		return doc
	}
	orbs, ok := m["orbs"].(map[string]any)
	if !ok {
		return doc
	}
	for k, val := range orbs {
		if s, ok := val.(string); ok {
			if sub := devOrbRef.FindStringSubmatch(s); sub != nil {
				orbs[k] = sub[1] + "@dev:revision"
			}
		}
	}
	return doc
}

// validateValue runs the schema over a decoded document.
func (v *Validator) validateValue(file string, doc any) ([]Problem, error) {
	raw, err := json.Marshal(devOrbFalsePositive(falsePositives(doc)))
	if err != nil {
		return nil, fmt.Errorf("%s: converting to JSON: %w", file, err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("%s: converting to JSON: %w", file, err)
	}
	err = v.schema.Validate(inst)
	if err == nil {
		return nil, nil
	}
	var verr *jsonschema.ValidationError
	if !errors.As(err, &verr) {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return []Problem{{File: file, Rule: "schema", Message: schemaMessage(verr)}}, nil
}

// schemaMessage is the validator's own error tree without its first line (the schema URL).
func schemaMessage(verr *jsonschema.ValidationError) string {
	lines := strings.Split(strings.TrimSpace(verr.Error()), "\n")
	if len(lines) > 1 {
		lines = lines[1:]
	}
	if len(lines) > 40 {
		lines = append(lines[:40], fmt.Sprintf("  ... and %d more lines", len(lines)-40))
	}
	return "does not match CircleCI's schema:\n" + strings.Join(lines, "\n")
}

func readDoc(file string) (any, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	doc, err := circleci.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return doc, nil
}

// ValidateOrbFile checks a packed orb: schema, then the orb's semantic checks.
func (v *Validator) ValidateOrbFile(file string) ([]Problem, error) {
	doc, err := readDoc(file)
	if err != nil {
		return nil, err
	}
	problems, err := v.validateValue(file, doc)
	if err != nil {
		return nil, err
	}
	return append(problems, CheckOrb(file, doc)...), nil
}

// ValidateConfig checks a decoded config.
func (v *Validator) ValidateConfig(file string, doc any) ([]Problem, error) {
	problems, err := v.validateValue(file, doc)
	if err != nil {
		return nil, err
	}
	return append(problems, CheckConfig(file, doc)...), nil
}

// ValidateConfigWithOrb checks a CircleCI config file and, when it imports this orb, every
// use of the orb's jobs and commands against the orb source in src.
func (v *Validator) ValidateConfigWithOrb(file, src string) ([]Problem, error) {
	doc, err := readDoc(file)
	if err != nil {
		return nil, err
	}
	problems, err := v.ValidateConfig(file, doc)
	if err != nil {
		return nil, err
	}
	if !importsOrb(doc) {
		return problems, nil
	}
	orb, err := loadOrbSource(src)
	if err != nil {
		return nil, err
	}
	return append(problems, CheckOrbUses(file, doc, orb)...), nil
}

func importsOrb(doc any) bool {
	m, _ := doc.(map[string]any)
	orbs, _ := m["orbs"].(map[string]any)
	for _, v := range orbs {
		if s, ok := v.(string); ok && strings.HasPrefix(s, OrbName+"@") {
			return true
		}
	}
	return false
}

// ValidateExamples checks the usage of every example in the orb source folder as a config,
// and every use of this orb's jobs and commands in it against their parameters.
func (v *Validator) ValidateExamples(src string) ([]Problem, error) {
	files, err := filepath.Glob(filepath.Join(src, "examples", "*.yml"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return []Problem{{File: src, Rule: "examples", Message: "no examples"}}, nil
	}
	orb, err := loadOrbSource(src)
	if err != nil {
		return nil, err
	}
	var problems []Problem
	for _, f := range files {
		doc, err := readDoc(f)
		if err != nil {
			return nil, err
		}
		m, _ := doc.(map[string]any)
		usage, ok := m["usage"]
		if !ok {
			problems = append(problems, Problem{File: f, Rule: "examples", Message: "no usage"})
			continue
		}
		p, err := v.ValidateConfig(f+" (usage)", usage)
		if err != nil {
			return nil, err
		}
		problems = append(problems, p...)
		problems = append(problems, CheckOrbUses(f+" (usage)", usage, orb)...)
	}
	return problems, nil
}
