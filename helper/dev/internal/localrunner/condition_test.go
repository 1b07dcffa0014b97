package localrunner

import (
	"math"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestEvalCondition(t *testing.T) {
	tests := []struct {
		yaml string
		want bool
		err  string
	}{
		{yaml: "true", want: true},
		{yaml: "false", want: false},
		{yaml: "null", want: false},
		{yaml: "0", want: false},
		{yaml: "1", want: true},
		{yaml: "0.0", want: false},
		{yaml: ".nan", want: false},
		{yaml: `""`, want: false},
		{yaml: "main", want: true},
		{yaml: `"false"`, want: true}, // a non-empty string is truthy, even this one
		{yaml: "{and: [true, 1, x]}", want: true},
		{yaml: "{and: [true, 0]}", want: false},
		{yaml: "{and: []}", want: false},
		{yaml: "{or: [false, '', 'x']}", want: true},
		{yaml: "{or: [false, null]}", want: false},
		{yaml: "{or: []}", want: false},
		{yaml: "{not: false}", want: true},
		{yaml: "{not: main}", want: false},
		{yaml: "{not: {equal: [a, b]}}", want: true},
		{yaml: "{equal: [main, main, main]}", want: true},
		{yaml: "{equal: [main, dev]}", want: false},
		{yaml: "{equal: [1, 1.0]}", want: true},
		{yaml: `{equal: [1, "1"]}`, want: false},
		{yaml: "{equal: [true, true]}", want: true},
		{yaml: "{matches: {pattern: 'v[0-9]+', value: v12}}", want: true},
		{yaml: "{matches: {pattern: 'v[0-9]+', value: v12-rc}}", want: false}, // full match only
		{yaml: "{matches: {pattern: 'main', value: not-main}}", want: false},
		{yaml: "{matches: {pattern: 'release/.*', value: release/1.2}}", want: true},
		{yaml: "{and: [{or: [false, true]}, {not: {matches: {pattern: 'x', value: y}}}]}", want: true},
		{yaml: "{xor: [a]}", err: `unknown logic statement "xor"`},
		{yaml: "{and: [a], or: [b]}", err: "want one of"},
		{yaml: "{matches: {pattern: '(', value: x}}", err: "pattern"},
		{yaml: "{equal: x}", err: "want a list"},
	}
	for _, tt := range tests {
		t.Run(tt.yaml, func(t *testing.T) {
			var c any
			if err := yaml.Unmarshal([]byte(tt.yaml), &c); err != nil {
				t.Fatal(err)
			}
			got, err := evalCondition(c)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	if truthy(math.NaN()) {
		t.Error("NaN must be falsy")
	}
}
