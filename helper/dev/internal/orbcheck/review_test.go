package orbcheck

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func minimalOrb(t *testing.T) string {
	dir := t.TempDir()
	write(t, dir, "@orb.yml", "version: 2.1\ndescription: An orb used to test the review rules, long enough to pass RC005 easily.\ndisplay:\n  source_url: https://example.invalid/src\n")
	write(t, dir, "commands/say_hello.yml", "description: Says hello.\nparameters:\n  who_to:\n    type: string\n    default: world\nsteps:\n  - run:\n      name: Hello\n      command: <<include(scripts/hello.sh)>>\n  - restore_cache:\n      name: Restore\n      keys:\n        - v1-{{ arch }}-<< parameters.who_to >>\n")
	write(t, dir, "scripts/hello.sh", "echo hello\n")
	write(t, dir, "examples/hello.yml", "description: Hello.\nusage:\n  version: 2.1\n  orbs:\n    shipgate: shipgate/shipgate@1\n  workflows:\n    main:\n      jobs: []\n")
	return dir
}

func TestReviewRules(t *testing.T) {
	tests := []struct {
		name, file, from, to, want string
	}{
		{"clean", "", "", "", ""},
		{"RC001 source_url", "@orb.yml", "  source_url: https://example.invalid/src\n", "  home_url: https://example.invalid\n", "RC001"},
		{"RC002 description", "commands/say_hello.yml", "description: Says hello.\n", "", "RC002"},
		{"RC004 example name", "examples/hello.yml", "", "", "RC004"},
		{"RC005 short description", "@orb.yml", "An orb used to test the review rules, long enough to pass RC005 easily.", "Too short.", "RC005"},
		{"RC008 unnamed run", "commands/say_hello.yml", "      name: Hello\n", "", "RC008"},
		{"RC008 unnamed run in an example", "examples/hello.yml", "      jobs: []\n", "      jobs: [build]\n  jobs:\n    build:\n      docker: [{image: cimg/base:2025.01}]\n      steps:\n        - run: make\n", "RC008"},
		{"RC008 string run", "commands/say_hello.yml", "  - run:\n      name: Hello\n      command: <<include(scripts/hello.sh)>>\n", "  - run: echo hi\n", "RC008"},
		{"RC009 long inline command", "commands/say_hello.yml", "command: <<include(scripts/hello.sh)>>", "command: echo this command is far longer than sixty-four characters, so it belongs in a script", "RC009"},
		{"RC010 parameter name", "commands/say_hello.yml", "who_to:", "whoTo:", "RC010"},
		{"RC010 file name", "commands/say_hello.yml", "", "", "RC010"},
		{"RC011 old major", "examples/hello.yml", "shipgate/shipgate@1", "shipgate/shipgate@0.9.0", "RC011"},
		{"RC012 env in key", "commands/say_hello.yml", "v1-{{ arch }}", "v1-$HOME", "RC012"},
		{"RC012 env default used in key", "commands/say_hello.yml", "default: world", "default: ${HOME}", "RC012"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := minimalOrb(t)
			if tt.file != "" && tt.from != "" {
				p := filepath.Join(dir, tt.file)
				data, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(string(data), tt.from) {
					t.Fatalf("%s lacks %q", tt.file, tt.from)
				}
				write(t, dir, tt.file, strings.Replace(string(data), tt.from, tt.to, 1))
			}
			switch tt.name {
			case "RC004 example name":
				must(t, os.Rename(filepath.Join(dir, "examples/hello.yml"), filepath.Join(dir, "examples/hello_example.yml")))
			case "RC010 file name":
				must(t, os.Rename(filepath.Join(dir, "commands/say_hello.yml"), filepath.Join(dir, "commands/say-hello.yml")))
			}
			problems, err := Review(dir, 1)
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(rules(problems), " ")
			if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
				t.Errorf("want %q, got %v", tt.want, problems)
			}
		})
	}
	t.Run("RC003 no examples", func(t *testing.T) {
		dir := minimalOrb(t)
		must(t, os.Remove(filepath.Join(dir, "examples/hello.yml")))
		problems, err := Review(dir, 1)
		if err != nil || !strings.Contains(strings.Join(rules(problems), " "), "RC003") {
			t.Errorf("want RC003, got %v %v", problems, err)
		}
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
