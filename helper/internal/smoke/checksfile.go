package smoke

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/shipgate/shipgate/helper/internal/inputfile"
)

// A checks file holds several named checks, each with its own expectations:
//
//	checks:
//	  - name: health
//	    url: https://app.example.com/healthz
//	    headers:
//	      Authorization: env:SMOKE_TOKEN   # value read from $SMOKE_TOKEN, never written here
//	      Accept: application/json
//	    expect:
//	      status: 200                      # or "2xx", or [200, 204]
//	      body: '"status":\s*"ok"'         # regular expression
//	      json:
//	        .build.version: "1.2.3"
//	        .items[0].name: widget
//	      headers:
//	        X-Served-By: web
//	      version: true                    # true: the run's version; false: none; or a value
//	  - name: login page
//	    url: https://app.example.com/login
//	    method: HEAD
//	    followRedirects: true
//	    expect: {status: 2xx, version: false}
//
// Unknown keys are errors, so a typo never silently drops an expectation.
type checksFile struct {
	Checks []CheckSpec `yaml:"checks"`
}

// maxChecksFileSize bounds a checks file; a real one is a few kilobytes.
const maxChecksFileSize = 1 << 20

// LoadChecksFile reads and parses a checks file.
func LoadChecksFile(path string) ([]CheckSpec, error) {
	data, err := inputfile.Read(path, "checks file", maxChecksFileSize)
	if err != nil {
		return nil, err
	}
	specs, err := ParseChecksFile(data)
	if err != nil {
		return nil, fmt.Errorf("checks file %s: %w", path, err)
	}
	return specs, nil
}

// ParseChecksFile parses the YAML of a checks file and checks its shape: at least one check,
// every check named (uniquely) and with a URL. Expectations are validated by Compile.
func ParseChecksFile(data []byte) ([]CheckSpec, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var file checksFile
	if err := dec.Decode(&file); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("empty: want a 'checks:' list")
		}
		return nil, fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("more than one YAML document")
	}
	if len(file.Checks) == 0 {
		return nil, fmt.Errorf("no checks: want a 'checks:' list with at least one check")
	}
	seen := map[string]bool{}
	for i, c := range file.Checks {
		if strings.TrimSpace(c.Name) == "" {
			return nil, fmt.Errorf("check %d: no name", i+1)
		}
		if seen[c.Name] {
			return nil, fmt.Errorf("check %q: name used twice", c.Name)
		}
		seen[c.Name] = true
		if c.URL == "" {
			return nil, fmt.Errorf("check %q: no url", c.Name)
		}
	}
	return file.Checks, nil
}

// UnmarshalYAML reads a mapping of scalars, keeping its order.
func (p *Pairs) UnmarshalYAML(node *yaml.Node) error {
	if node.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: want a mapping of NAME: VALUE", node.Line)
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(node.Content); i += 2 {
		key, value := node.Content[i], node.Content[i+1]
		if key.Kind != yaml.ScalarNode {
			return fmt.Errorf("line %d: want a plain name", key.Line)
		}
		if value.Kind != yaml.ScalarNode {
			return fmt.Errorf("line %d: %s: want a single value (a string, number or boolean)", value.Line, key.Value)
		}
		if seen[key.Value] {
			return fmt.Errorf("line %d: %s given twice", key.Line, key.Value)
		}
		seen[key.Value] = true
		*p = append(*p, Pair{Name: key.Value, Value: scalarText(value)})
	}
	return nil
}

// scalarText is a scalar's text as written; a YAML null reads as the JSON word null.
func scalarText(node *yaml.Node) string {
	if node.Tag == "!!null" {
		return "null"
	}
	return node.Value
}

// UnmarshalYAML reads a status as a number, a string or a list of them.
func (s *StatusText) UnmarshalYAML(node *yaml.Node) error {
	switch node.Kind {
	case yaml.ScalarNode:
		*s = StatusText(node.Value)
		return nil
	case yaml.SequenceNode:
		parts := make([]string, 0, len(node.Content))
		for _, item := range node.Content {
			if item.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: status list: want codes or classes", item.Line)
			}
			parts = append(parts, item.Value)
		}
		*s = StatusText(strings.Join(parts, ","))
		return nil
	}
	return fmt.Errorf("line %d: status: want a code, a class such as 2xx, or a list", node.Line)
}

// UnmarshalYAML reads version: true, false or a version string (a number is read as written).
func (v *VersionSpec) UnmarshalYAML(node *yaml.Node) error {
	if node.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: version: want true, false or a version", node.Line)
	}
	if node.Tag == "!!bool" {
		var enabled bool
		if err := node.Decode(&enabled); err != nil {
			return err
		}
		if enabled {
			*v = VersionSpec{Mode: VersionRequired}
		} else {
			*v = VersionSpec{Mode: VersionOff}
		}
		return nil
	}
	if node.Tag == "!!null" {
		*v = VersionSpec{}
		return nil
	}
	*v = VersionSpec{Mode: VersionExplicit, Value: node.Value}
	return nil
}
