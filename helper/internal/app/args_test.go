package app

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// commandPaths lists every runnable command of the CLI as its words ("aws assume-role"), so a
// command added later is covered by the argument tests without editing them.
func commandPaths(t *testing.T) (leaves []leafCommand, groups [][]string) {
	t.Helper()
	application := newApp(&streams{getenv: func(string) string { return "" }})
	var walk func(prefix []string, cmds []*cli.Command)
	walk = func(prefix []string, cmds []*cli.Command) {
		for _, c := range cmds {
			path := append(append([]string(nil), prefix...), c.Name)
			if len(c.Subcommands) == 0 {
				leaves = append(leaves, leafCommand{path, c})
				continue
			}
			groups = append(groups, path)
			walk(path, c.Subcommands)
		}
	}
	walk(nil, application.Commands)
	if len(leaves) < 15 {
		t.Fatalf("found only %d commands: the walk is broken", len(leaves))
	}
	return leaves, groups
}

type leafCommand struct {
	words []string
	cmd   *cli.Command
}

// TestStrayArgumentsAreRefused: a word a command does not take never makes later flags
// silently disappear (issue 18 point 1). Every command refuses it with exit 2, names it and
// prints nothing on stdout; lint (which takes files) refuses a flag after a file instead.
func TestStrayArgumentsAreRefused(t *testing.T) {
	t.Parallel()
	leaves, _ := commandPaths(t)
	for _, leaf := range leaves {
		t.Run(strings.Join(leaf.words, "_"), func(t *testing.T) {
			t.Parallel()
			type tc struct {
				tail  []string
				named string
			}
			var cases []tc
			if leaf.cmd.ArgsUsage != "" {
				cases = []tc{{[]string{"c.yml", "--output", "json"}, "--output"}, {[]string{"a.yml", "b.yml", "-x"}, "-x"}}
			} else {
				cases = []tc{{[]string{"oops"}, `"oops"`}, {[]string{"oops", "--output", "json"}, `"oops"`}, {[]string{"help"}, `"help"`}}
				// After a flag that takes one value: the second value is the stray word.
				for _, f := range leaf.cmd.Flags {
					if sf, ok := f.(*cli.StringFlag); ok {
						cases = append(cases, tc{[]string{"--" + sf.Name, "v1", "second", "--dry-run"}, `"second"`})
						break
					}
				}
			}
			for _, c := range cases {
				args := append(append([]string(nil), leaf.words...), c.tail...)
				r := runCLI(t, nil, args...)
				if r.code != 2 {
					t.Errorf("%q: exit %d, want 2 (stderr %q)", args, r.code, r.stderr)
					continue
				}
				if r.stdout != "" {
					t.Errorf("%q: printed %q on stdout", args, r.stdout)
				}
				if first := strings.Split(r.stderr, "\n")[0]; !strings.Contains(first, c.named) {
					t.Errorf("%q: error %q does not name %s", args, first, c.named)
				}
			}
		})
	}
}

// TestReportedStrayWordCases are the cases of issue 18 point 1 as typed.
func TestReportedStrayWordCases(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"promote", "--release", "r2.json", "--to", "reg.example/app", "oops", "--env", "production"}, []string{`"oops"`, "--env"}},
		{[]string{"promote", "--from", "reg.example/app@sha256:" + strings.Repeat("a", 64), "--to", "reg.example/app", "reg.example/second"}, []string{`"reg.example/second"`}},
		{[]string{"lint", "c.yml", "--output", "json"}, []string{"--output", `"c.yml"`}},
		{[]string{"lint", "-", "--disable", "SG001"}, []string{"--disable"}},
		{[]string{"releases", "--repo", "reg.example/app", "production"}, []string{`"production"`}},
	} {
		r := runCLI(t, nil, tc.args...)
		if r.code != 2 {
			t.Errorf("%q: exit %d, want 2 (stderr %q)", tc.args, r.code, r.stderr)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("%q: stderr %q does not name %s", tc.args, r.stderr, w)
			}
		}
	}
}

// TestUnknownCommandSuggests: a mistyped command is bad usage (exit 2) with urfave/cli's
// closest name, at the top level and inside a command group (issue 18 point 6).
func TestUnknownCommandSuggests(t *testing.T) {
	t.Parallel()
	_, groups := commandPaths(t)
	cases := []struct {
		args    []string
		suggest string
	}{
		{[]string{"releses"}, `"releases"`},
		{[]string{"promte"}, `"promote"`},
		{[]string{"mark-god"}, `"mark-good"`},
	}
	for _, g := range groups {
		cases = append(cases, struct {
			args    []string
			suggest string
		}{append(append([]string(nil), g...), "no-such-subcommand"), ""})
	}
	cases = append(cases, struct {
		args    []string
		suggest string
	}{[]string{"aws", "asume-role"}, `"aws assume-role"`})
	for _, tc := range cases {
		r := runCLI(t, nil, tc.args...)
		if r.code != 2 {
			t.Errorf("%q: exit %d, want 2 (stderr %q)", tc.args, r.code, r.stderr)
			continue
		}
		last := tc.args[len(tc.args)-1]
		if !strings.Contains(r.stderr, `unknown `) || !strings.Contains(r.stderr, `"`+last+`"`) {
			t.Errorf("%q: stderr %q does not name the unknown command", tc.args, r.stderr)
		}
		if tc.suggest != "" && !strings.Contains(r.stderr, "did you mean "+tc.suggest) {
			t.Errorf("%q: stderr %q does not suggest %s", tc.args, r.stderr, tc.suggest)
		}
	}
	// Without a command, help (exit 0), as before.
	if r := runCLI(t, nil); r.code != 0 || !strings.Contains(r.stdout, "USAGE") {
		t.Errorf("no command: exit %d stdout %q", r.code, r.stdout)
	}
}

// TestEveryCommandHasExamples: --help of every command shows at least one example, and every
// example names a command that exists.
func TestEveryCommandHasExamples(t *testing.T) {
	t.Parallel()
	leaves, _ := commandPaths(t)
	seen := map[string]bool{}
	for _, leaf := range leaves {
		path := strings.Join(leaf.words, " ")
		seen[path] = true
		if leaf.cmd.Hidden {
			continue
		}
		r := runCLI(t, nil, append(append([]string(nil), leaf.words...), "--help")...)
		if r.code != 0 || !strings.Contains(r.stdout, "Examples:\n") {
			t.Errorf("%s --help: exit %d, no examples in %q", path, r.code, r.stdout)
		}
	}
	for path := range commandExamples {
		if !seen[path] {
			t.Errorf("examples for %q, which is not a command", path)
		}
	}
}

// TestShellCompletion runs the real binary through the bash script `completion bash` prints:
// urfave/cli's completion reads os.Args, so it cannot run in-process.
func TestShellCompletion(t *testing.T) {
	t.Parallel()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	bin := shipgateBinary(t)
	script := `source <("$BIN" completion bash)
shipgate() { "$BIN" "$@"; }
COMP_WORDS=(shipgate prom); COMP_CWORD=1; _shipgate_bash_autocomplete; echo "1:${COMPREPLY[*]}"
COMP_WORDS=(shipgate promote --dr); COMP_CWORD=2; _shipgate_bash_autocomplete; echo "2:${COMPREPLY[*]}"
COMP_WORDS=(shipgate aws as); COMP_CWORD=2; _shipgate_bash_autocomplete; echo "3:${COMPREPLY[*]}"
COMP_WORDS=(shipgate promote --); COMP_CWORD=2; _shipgate_bash_autocomplete; echo "4:${#COMPREPLY[@]}"
`
	cmd := exec.Command(bash, "-c", script)
	cmd.Env = append(os.Environ(), "BIN="+bin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bash: %v: %s", err, out)
	}
	for _, want := range []string{"1:promote\n", "2:--dry-run\n", "3:assume-role\n"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("completion: want %q in %q", want, out)
		}
	}
	if strings.Contains(string(out), "4:0\n") {
		t.Errorf("completion after --: no flags offered: %q", out)
	}
	if r := runCLI(t, nil, "completion", "fish"); r.code != 2 {
		t.Errorf("completion fish: exit %d, want 2", r.code)
	}
}

// TestMissingRequiredFlagsOneStyle (issue 18 point 6): a command run without its required
// flags names the first one in one style, `--NAME is required: what it is`, exit 2.
func TestMissingRequiredFlagsOneStyle(t *testing.T) {
	t.Parallel()
	want := map[string]string{
		"record-artifact": "--image", "promote": "--from", "mark-deployed": "--image", "mark-good": "--image",
		"mark-bad": "--image", "releases": "--repo", "find": "--repo", "rollback": "--repo",
		"aws assume-role": "--role-arn", "aws credential-process": "--role-arn", "aws trust-policy": "--account-id",
		"gcp credentials": "--provider", "gcp provider-config": "--org-id",
	}
	leaves, _ := commandPaths(t)
	for _, leaf := range leaves {
		path := strings.Join(leaf.words, " ")
		flag, ok := want[path]
		if !ok {
			continue
		}
		delete(want, path)
		r := runCLI(t, map[string]string{"HOME": t.TempDir()}, leaf.words...)
		first := strings.Split(r.stderr, "\n")[0]
		if r.code != 2 || !strings.HasPrefix(first, "shipgate: error: "+flag+" is required: ") {
			t.Errorf("%s: exit %d, first line %q; want %q", path, r.code, first, flag+" is required: …")
		}
	}
	for path := range want {
		t.Errorf("%s is not a command", path)
	}
	// The second required flag too, once the first is given.
	r := runCLI(t, nil, "mark-good", "--image", "reg.example/app@sha256:"+strings.Repeat("a", 64))
	if !strings.HasPrefix(r.stderr, "shipgate: error: --env is required: ") {
		t.Errorf("mark-good without --env: %q", r.stderr)
	}
	r = runCLI(t, nil, "promote", "--from", "reg.example/app@sha256:"+strings.Repeat("a", 64))
	if !strings.HasPrefix(r.stderr, "shipgate: error: --to is required: ") {
		t.Errorf("promote without --to: %q", r.stderr)
	}
}

// FuzzStrayWord: whatever word follows a command's flags, and wherever it stands among them,
// a command that takes no arguments refuses it (exit 2) before doing anything, saying so
// (issue 18 point 1). The command and the position come from the fuzzer too.
func FuzzStrayWord(f *testing.F) {
	f.Add(uint8(1), uint8(0), "oops")
	f.Add(uint8(5), uint8(2), "reg.example/second")
	f.Add(uint8(9), uint8(1), "production")
	f.Add(uint8(3), uint8(3), "help")
	application := newApp(&streams{getenv: func(string) string { return "" }})
	type leaf struct {
		words []string
		tail  []string // a real flag of the command and a value, around which the word goes
	}
	var leaves []leaf
	var walk func(prefix []string, cmds []*cli.Command)
	walk = func(prefix []string, cmds []*cli.Command) {
		for _, c := range cmds {
			path := append(append([]string(nil), prefix...), c.Name)
			if len(c.Subcommands) > 0 {
				walk(path, c.Subcommands)
				continue
			}
			if c.ArgsUsage != "" {
				continue
			}
			l := leaf{words: path}
			for _, fl := range c.Flags {
				if sf, ok := fl.(*cli.StringFlag); ok {
					l.tail = []string{"--" + sf.Name, "v1"}
					break
				}
			}
			leaves = append(leaves, l)
		}
	}
	walk(nil, application.Commands)
	f.Fuzz(func(t *testing.T, which, pos uint8, word string) {
		if word == "" || word[0] == '-' || strings.ContainsRune(word, 0) {
			return // a flag, or nothing: not a stray word
		}
		l := leaves[int(which)%len(leaves)]
		at := int(pos) % (len(l.tail) + 1)
		if at == 1 {
			at = 2 // between a flag and its value the word would be the value
		}
		args := append([]string(nil), l.words...)
		args = append(args, l.tail[:min(at, len(l.tail))]...)
		args = append(args, word)
		args = append(args, l.tail[min(at, len(l.tail)):]...)
		r := runCLI(t, nil, args...)
		if r.code != 2 || !strings.Contains(r.stderr, "unexpected argument") {
			t.Fatalf("%q: exit %d, want 2 naming the argument (stderr %q)", args, r.code, r.stderr)
		}
		if r.stdout != "" {
			t.Fatalf("%q: stdout %q", args, r.stdout)
		}
	})
}
