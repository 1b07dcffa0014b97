package lint_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/lint"
)

var update = flag.Bool("update", false, "rewrite the testdata/bad/*.golden files from the current output")

// wantComment marks an expected finding on its line: `# want: SG001 SG005`.
var wantComment = regexp.MustCompile(`want:((?:\s+SG[0-9]{3})+)`)

// wantedFindings reads the `want:` comments of a fixture as sorted "line RULE" strings.
func wantedFindings(data []byte) []string {
	var out []string
	for i, line := range strings.Split(string(data), "\n") {
		if m := wantComment.FindStringSubmatch(line); m != nil {
			for _, id := range strings.Fields(m[1]) {
				out = append(out, fmt.Sprintf("%d %s", i+1, id))
			}
		}
	}
	sort.Strings(out)
	return out
}

func gotFindings(fs []lint.Finding) []string {
	out := []string{}
	for _, f := range fs {
		out = append(out, fmt.Sprintf("%d %s", f.Line, f.Rule))
	}
	sort.Strings(out)
	return out
}

func lintOne(t *testing.T, path string, opts lint.Options) *lint.Report {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	report, err := lint.Lint([]lint.Input{{Name: filepath.ToSlash(path), Data: data}}, opts)
	if err != nil {
		t.Fatalf("lint %s: %v", path, err)
	}
	return report
}

// TestBadCorpus lints every testdata/bad config: the findings must be exactly the rule IDs at
// the lines the fixture's `# want:` comments name, and the full text report must match the
// .golden file beside it (go test -run TestBadCorpus -update rewrites those).
func TestBadCorpus(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "bad", "*.yml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no bad fixtures (%v)", err)
	}
	covered := map[string]bool{}
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		want := wantedFindings(data)
		for _, w := range want {
			covered[strings.Fields(w)[1]] = true
		}
		t.Run(filepath.Base(path), func(t *testing.T) {
			if len(want) == 0 {
				t.Fatal("fixture has no `# want:` comment")
			}
			report := lintOne(t, path, lint.Options{})
			if got := gotFindings(report.Findings); strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("findings (line rule)\n got: %v\nwant: %v\n%s", got, want, report.Text())
			}
			golden := strings.TrimSuffix(path, ".yml") + ".golden"
			text := report.Text()
			if *update {
				if err := os.WriteFile(golden, []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			expected, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestBadCorpus -update)", err)
			}
			if text != string(expected) {
				t.Errorf("text report differs from %s:\n got:\n%s\nwant:\n%s", golden, text, expected)
			}
		})
	}
	for _, r := range lint.Rules() {
		if !covered[r.ID] {
			t.Errorf("rule %s (%s) has no bad fixture", r.ID, r.Title)
		}
	}
}

// TestGoodCorpus: well-formed shipgate pipelines (and accepted exceptions disabled by comment)
// lint without a single finding.
func TestGoodCorpus(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "good", "*.yml"))
	if len(files) == 0 {
		t.Fatal("no good fixtures")
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			report := lintOne(t, path, lint.Options{})
			if len(report.Findings) != 0 || report.Failed {
				t.Errorf("want no findings, got:\n%s", report.Text())
			}
		})
	}
}

// assertDirLintsClean lints every .yml file in dir with default options and fails on any
// finding that would fail the lint or warn; notes are logged. Orb examples (a `usage:` key
// holding the config, as in src/examples) are linted through their usage. The test is skipped
// when dir does not exist.
func assertDirLintsClean(t *testing.T, dir string, pending map[string][]string) {
	t.Helper()
	if _, err := os.Stat(dir); os.IsNotExist(err) {
		t.Skipf("%s does not exist", dir)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Skipf("no .yml files in %s", dir)
	}
	for _, path := range files {
		report := lintOne(t, path, lint.Options{FailOn: lint.SeverityWarning})
		var got []string
		for _, f := range report.Findings {
			line := fmt.Sprintf("%s: %s %s: %s (hint: %s)", f.Position(), f.Severity, f.Rule, f.Message, f.Hint)
			if f.Severity == lint.SeverityNote {
				t.Log(line)
				continue
			}
			if want := pending[filepath.Base(path)]; len(want) > 0 {
				got = append(got, f.Rule)
				t.Log("pending fix: " + line)
				continue
			}
			t.Error(line)
		}
		if want := pending[filepath.Base(path)]; len(want) > 0 {
			sort.Strings(got)
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("%s: findings %v, pending list says %v: update pendingExampleFixes as the fixes land", path, got, want)
			}
		}
	}
}

// pendingExampleFixes are the findings the new CircleCI checks report on src/examples, which
// the orb track fixes (issue 16: point 3, the deprecated and unavailable pipeline values of
// nightly_release; point 5, kubectl, aws and gcloud called on cimg/base in deploy and rollback
// jobs). The test fails if a
// listed finding is no longer reported, so the list only shrinks; a finding not listed fails
// it as before. The orb track's fixes landed (deploy_tools executor, official orbs' install
// commands, pipeline.trigger.type): nothing is pending.
var pendingExampleFixes = map[string][]string{}

// TestOrbExamplesLintClean: every orb example in src/examples must pass the linter.
func TestOrbExamplesLintClean(t *testing.T) {
	assertDirLintsClean(t, filepath.Join("..", "..", "..", "src", "examples"), pendingExampleFixes)
}

func TestGoodDirectoryHelper(t *testing.T) {
	assertDirLintsClean(t, filepath.Join("testdata", "good"), nil)
}

func TestMalformedInput(t *testing.T) {
	cases := []struct {
		name, data, want string
	}{
		{"empty", "", "empty file"},
		{"only a comment", "# nothing\n", "no YAML document"},
		{"bad indentation", "version: 2.1\njobs:\n  build:\n    steps: [\n", "malformed YAML"},
		{"tab indentation", "version: 2.1\njobs:\n\tbuild: {}\n", "malformed YAML"},
		{"top-level list", "- version\n- jobs\n", "line 1: the top level is not a mapping"},
		{"top-level scalar", "hello\n", "not a mapping"},
		{"two documents", "version: 2.1\n---\nversion: 2.1\n", "line 2: more than one YAML document"},
		{"duplicate key", "version: 2.1\njobs:\n  a: {}\n  a: {}\n", "line 4: key \"a\" is already defined on line 3"},
		{"undefined alias", "version: 2.1\njobs: *nothing\n", "malformed YAML"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := lint.LintFile("config.yml", []byte(tc.data), lint.Options{})
			if err == nil {
				t.Fatal("want an error")
			}
			if failure.KindOf(err) != failure.Usage {
				t.Errorf("kind %v, want usage (exit code 2)", failure.KindOf(err))
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "reading config.yml: ") {
				t.Errorf("error %q, want it to name the file and contain %q", err, tc.want)
			}
		})
	}
}

// TestOddButValidInput: shapes a linter must survive without findings it cannot justify.
func TestOddButValidInput(t *testing.T) {
	cases := []struct {
		name, data string
		want       []string
	}{
		{"version only", "version: 2.1\n", nil},
		{"null sections", "version: 2.1\norbs:\njobs:\nworkflows:\n", nil},
		{"workflow jobs not a list", "version: 2.1\nworkflows:\n  w:\n    jobs: 3\n", nil},
		{"entry with null body", "version: 2.1\njobs:\n  b: {}\nworkflows:\n  w:\n    jobs:\n      - b:\n", nil},
		{"empty entry mapping", "version: 2.1\nworkflows:\n  w:\n    jobs:\n      - {}\n", nil},
		{"requires loop", "version: 2.1\njobs:\n  a: {}\n  b: {}\nworkflows:\n  w:\n    jobs:\n      - a: {requires: [b]}\n      - b: {requires: [a]}\n", nil},
		{"deploy requires itself", "version: 2.1\norbs: {s: shipgate/shipgate@1}\nworkflows:\n  rollback: {}\n  w:\n    jobs:\n      - s/deploy: {name: d, env: staging, requires: [d], context: c, serial-group: g, filters: {branches: {only: develop}}}\n", nil},
		{"bad regex filter", "version: 2.1\norbs: {s: shipgate/shipgate@1}\nworkflows:\n  rollback: {}\n  w:\n    jobs:\n      - s/deploy: {env: staging, context: c, serial-group: g, filters: {branches: {only: \"/(/\"}}}\n", []string{"7 SG004"}},
		{"unknown orb only", "version: 2.1\norbs:\n  x: acme/thing@1\n", []string{"3 SG101"}},
		{"recursive merge keys", "version: 2.1\nx-a: &a {k: 1}\nx-b: &b {<<: [*a, *a]}\nx-c: {<<: [*b, *b, *a]}\n", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fs, err := lint.LintFile("c.yml", []byte(tc.data), lint.Options{})
			if err != nil {
				t.Fatal(err)
			}
			want := tc.want
			if want == nil {
				want = []string{}
			}
			if got := gotFindings(fs); strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}

// TestOptions: deploy jobs named in settings, other branches, job and global disables.
func TestOptions(t *testing.T) {
	const config = `version: 2.1
workflows: # rollback
  w:
    jobs:
      - build
      - ship-it:
          requires: [build]
          filters: {branches: {only: trunk}}
jobs:
  build: {docker: [{image: x}], steps: [checkout]}
  ship-it: {docker: [{image: x}], steps: [attach_workspace: {at: .}, run: ./ship.sh && ./smoke.sh]}
  rollback: {docker: [{image: x}], steps: [run: ./rollback.sh]}
`
	cases := []struct {
		name string
		opts lint.Options
		want []string
	}{
		{"not a deploy by name", lint.Options{}, []string{}},
		{"named deploy job", lint.Options{DeployJobs: map[string]string{"ship-it": "production"}},
			[]string{"6 SG001", "6 SG005", "6 SG012", "6 SG016", "8 SG003"}},
		{"other release branch", lint.Options{DeployJobs: map[string]string{"ship-it": "production"}, ReleaseBranch: "trunk"},
			[]string{"6 SG001", "6 SG005", "6 SG012", "6 SG016"}},
		{"global disable", lint.Options{DeployJobs: map[string]string{"ship-it": "production"}, Disable: []string{"SG012", "sg005"}},
			[]string{"6 SG001", "6 SG016", "8 SG003"}},
		{"job disable", lint.Options{DeployJobs: map[string]string{"ship-it": "production"}, JobDisable: map[string][]string{"ship-it": {"all"}}},
			[]string{}},
		{"environment inferred", lint.Options{DeployJobs: map[string]string{"ship-it": ""}},
			[]string{"6 SG005", "6 SG012", "6 SG104"}},
		{"fork of the orb", lint.Options{ShipgateOrbs: []string{"acme/sg"}}, []string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			report, err := lint.Lint([]lint.Input{{Name: "c.yml", Data: []byte(config)}}, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := gotFindings(report.Findings); strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("got %v, want %v\n%s", got, tc.want, report.Text())
			}
		})
	}
	if _, err := lint.Lint(nil, lint.Options{Disable: []string{"SG999"}}); failure.KindOf(err) != failure.Usage {
		t.Errorf("unknown rule in options: err %v, want usage error", err)
	}
}

// TestShipgateOrbFork: an orb named in ShipgateOrbs is recognised like shipgate's own.
func TestShipgateOrbFork(t *testing.T) {
	config := "version: 2.1\norbs: {mine: acme/sg@1}\nworkflows:\n  w:\n    jobs:\n      - mine/deploy: {env: production}\n"
	plain, err := lint.LintFile("c.yml", []byte(config), lint.Options{})
	if err != nil {
		t.Fatal(err)
	}
	fork, err := lint.LintFile("c.yml", []byte(config), lint.Options{ShipgateOrbs: []string{"acme/sg"}})
	if err != nil {
		t.Fatal(err)
	}
	// By name alone, "deploy" with env production is a deploy either way; the fork is known
	// (no SG101) and its deploy job counts as smoke-tested.
	if got := gotFindings(plain); !contains(got, "2 SG101") || !contains(got, "6 SG010") {
		t.Errorf("unknown orb: got %v", got)
	}
	if got := gotFindings(fork); contains(got, "2 SG101") || contains(got, "6 SG010") {
		t.Errorf("fork of the orb: got %v", got)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestSettings(t *testing.T) {
	good := `release_branch: trunk
staging_branch: next
fail_on: warning
disable: [SG012]
deploy_jobs:
  ship-it: production
  ship-docs: ""
not_deploy_jobs: [release-notes]
shipgate_orbs: [acme/sg]
jobs:
  ship-it:
    disable: [SG003]
`
	opts, err := lint.ParseSettings(".shipgate-lint.yml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if opts.ReleaseBranch != "trunk" || opts.StagingBranch != "next" || opts.FailOn != lint.SeverityWarning ||
		opts.DeployJobs["ship-it"] != "production" || len(opts.NotDeployJobs) != 1 ||
		opts.JobDisable["ship-it"][0] != "SG003" || opts.ShipgateOrbs[0] != "acme/sg" || opts.Disable[0] != "SG012" {
		t.Errorf("settings read wrong: %+v", opts)
	}
	merged := opts.Merge(lint.Options{ReleaseBranch: "main", Disable: []string{"SG005"}, DeployJobs: map[string]string{"x": "staging"}})
	if merged.ReleaseBranch != "main" || merged.StagingBranch != "next" || len(merged.Disable) != 2 || len(merged.DeployJobs) != 3 {
		t.Errorf("merge: %+v", merged)
	}
	for name, bad := range map[string]string{
		"unknown key":   "relase_branch: main\n",
		"unknown rule":  "disable: [SG1234]\n",
		"bad fail_on":   "fail_on: sometimes\n",
		"job bad rule":  "jobs: {x: {disable: [nope]}}\n",
		"not a mapping": "- a\n",
	} {
		if _, err := lint.ParseSettings("s.yml", []byte(bad)); err == nil || failure.KindOf(err) != failure.Usage {
			t.Errorf("%s: err %v, want a usage error", name, err)
		}
	}
	if opts, err := lint.ParseSettings("s.yml", nil); err != nil || opts.ReleaseBranch != "" {
		t.Errorf("empty settings: %v %+v", err, opts)
	}
}

func TestFailOnSeverity(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "bad", "sg012-serial-group.yml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		failOn lint.Severity
		failed bool
	}{{"", false}, {lint.SeverityError, false}, {lint.SeverityWarning, true}, {lint.SeverityNote, true}} {
		report, err := lint.Lint([]lint.Input{{Name: "c.yml", Data: data}}, lint.Options{FailOn: tc.failOn})
		if err != nil {
			t.Fatal(err)
		}
		if report.Failed != tc.failed || report.Warnings != 1 || report.Errors != 0 {
			t.Errorf("fail-on %q: failed %v warnings %d errors %d", tc.failOn, report.Failed, report.Warnings, report.Errors)
		}
	}
}

// TestReportFormats checks each machine format against the text findings.
func TestReportFormats(t *testing.T) {
	report := lintOne(t, filepath.Join("testdata", "bad", "mix-alias-orb.yml"), lint.Options{})
	if len(report.Findings) == 0 {
		t.Fatal("fixture has no findings")
	}

	var buf bytes.Buffer
	if err := lint.Write(&buf, report, "json", "test"); err != nil {
		t.Fatal(err)
	}
	var decoded lint.Report
	if err := json.Unmarshal(buf.Bytes(), &decoded); err != nil {
		t.Fatal(err)
	}
	if len(decoded.Findings) != len(report.Findings) || decoded.Findings[0].Rule != report.Findings[0].Rule ||
		decoded.Findings[0].Line != report.Findings[0].Line || decoded.Errors != report.Errors || !decoded.Failed {
		t.Errorf("json round trip: %+v", decoded)
	}

	buf.Reset()
	if err := lint.Write(&buf, report, "sarif", "v9"); err != nil {
		t.Fatal(err)
	}
	var sarif struct {
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name    string `json:"name"`
					Version string `json:"version"`
					Rules   []struct {
						ID string `json:"id"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID    string `json:"ruleId"`
				RuleIndex int    `json:"ruleIndex"`
				Level     string `json:"level"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct {
							URI string `json:"uri"`
						} `json:"artifactLocation"`
						Region struct {
							StartLine   int `json:"startLine"`
							StartColumn int `json:"startColumn"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(buf.Bytes(), &sarif); err != nil {
		t.Fatal(err)
	}
	if sarif.Version != "2.1.0" || len(sarif.Runs) != 1 || sarif.Runs[0].Tool.Driver.Version != "v9" {
		t.Fatalf("sarif header: %s", buf.String())
	}
	run := sarif.Runs[0]
	if len(run.Tool.Driver.Rules) != len(lint.Rules()) || len(run.Results) != len(report.Findings) {
		t.Fatalf("sarif: %d rules, %d results", len(run.Tool.Driver.Rules), len(run.Results))
	}
	for i, res := range run.Results {
		f := report.Findings[i]
		loc := res.Locations[0].PhysicalLocation
		if res.RuleID != f.Rule || run.Tool.Driver.Rules[res.RuleIndex].ID != f.Rule || res.Level != string(f.Severity) ||
			loc.Region.StartLine != f.Line || loc.Region.StartColumn != f.Column || loc.ArtifactLocation.URI != f.File {
			t.Errorf("sarif result %d = %+v, finding %+v", i, res, f)
		}
	}

	buf.Reset()
	if err := lint.Write(&buf, report, "junit", "test"); err != nil {
		t.Fatal(err)
	}
	var junit struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Suites   []struct {
			Name  string `xml:"name,attr"`
			Cases []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Type string `xml:"type,attr"`
					Text string `xml:",chardata"`
				} `xml:"failure"`
				SystemOut string `xml:"system-out"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(buf.Bytes(), &junit); err != nil {
		t.Fatalf("junit: %v\n%s", err, buf.String())
	}
	failingRules := map[string]bool{}
	warningRules := map[string]bool{}
	for _, f := range report.Findings {
		if f.Severity == lint.SeverityError {
			failingRules[f.Rule] = true
		} else {
			warningRules[f.Rule] = true
		}
	}
	if junit.Tests != len(lint.Rules()) || junit.Failures != len(failingRules) || len(junit.Suites) != 1 {
		t.Fatalf("junit totals: tests %d failures %d, want %d and %d", junit.Tests, junit.Failures, len(lint.Rules()), len(failingRules))
	}
	for _, c := range junit.Suites[0].Cases {
		id := strings.Fields(c.Name)[0]
		if (c.Failure != nil) != failingRules[id] {
			t.Errorf("junit case %s: failure %v", c.Name, c.Failure != nil)
		}
		if warningRules[id] && !strings.Contains(c.SystemOut, id) {
			t.Errorf("junit case %s: warning not in system-out", c.Name)
		}
	}

	if err := lint.Write(&buf, report, "yaml", "test"); err == nil {
		t.Error("unknown format accepted")
	}
}

// TestNoSecretInOutput: SG007 findings name the key, never the secret value.
func TestNoSecretInOutput(t *testing.T) {
	report := lintOne(t, filepath.Join("testdata", "bad", "sg007-static-credentials.yml"), lint.Options{})
	legacy := lintOne(t, filepath.Join("testdata", "bad", "mix-legacy-aws.yml"), lint.Options{})
	for _, format := range lint.Formats {
		for _, r := range []*lint.Report{report, legacy} {
			var buf bytes.Buffer
			if err := lint.Write(&buf, r, format, "test"); err != nil {
				t.Fatal(err)
			}
			for _, secret := range []string{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI", "$SECRET", "$ECR_SECRET"} {
				if strings.Contains(buf.String(), secret) {
					t.Errorf("%s output contains %q", format, secret)
				}
			}
		}
	}
}

func TestRulesCatalogue(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range lint.Rules() {
		if !regexp.MustCompile(`^SG[0-9]{3}$`).MatchString(r.ID) || seen[r.ID] {
			t.Errorf("bad or duplicate rule ID %q", r.ID)
		}
		seen[r.ID] = true
		if r.Title == "" || r.Hint == "" || r.Severity == "" {
			t.Errorf("rule %s lacks title, hint or severity", r.ID)
		}
	}
	doc, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "lint.md"))
	if err != nil {
		t.Fatal(err)
	}
	for id := range seen {
		if !strings.Contains(string(doc), "### "+id) {
			t.Errorf("docs/lint.md does not describe %s", id)
		}
	}
}

// Commands that call each other ten times, seven deep, expand to 10^7 steps if followed
// naively: the linter bounds the work (a hang here shows as the test binary's timeout), and
// still judges what it reached.
func TestCommandFanOutIsBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("version: 2.1\ncommands:\n")
	for i := 0; i < 7; i++ {
		fmt.Fprintf(&b, "  c%d:\n    steps:\n", i)
		for j := 0; j < 10; j++ {
			if i == 6 {
				b.WriteString("      - run: kubectl apply -f k8s/\n")
			} else {
				fmt.Fprintf(&b, "      - c%d\n", i+1)
			}
		}
	}
	b.WriteString("jobs:\n  ship:\n    docker: [{image: cimg/base:2026.10}]\n    steps: [c0]\n")
	b.WriteString("workflows:\n  w:\n    jobs: [ship]\n")
	findings, err := lint.LintFile("fanout.yml", []byte(b.String()), lint.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(fmt.Sprint(findings), "SG020") {
		t.Errorf("the deploy was not judged: %v", findings)
	}
}

// FuzzLintFile feeds arbitrary bytes to the parser entry point: it must return findings with
// real positions or a usage error, never panic.
func FuzzLintFile(f *testing.F) {
	for _, dir := range []string{"bad", "good"} {
		files, _ := filepath.Glob(filepath.Join("testdata", dir, "*.yml"))
		for _, path := range files {
			data, err := os.ReadFile(path)
			if err == nil {
				f.Add(data)
			}
		}
	}
	for _, seed := range []string{
		"", "version: 2.1\n", "- a\n", "a: [\n", "a: &a [*a]\n", "x: &x {<<: *x}\n",
		"version: 2.1\nworkflows:\n  w:\n    jobs:\n      - deploy-production: {requires: [deploy-production]}\n",
		"usage:\n  workflows:\n    w:\n      jobs: [deploy-prod]\n",
		"workflows: {w: {when: {and: [{or: [{not: {equal: [a, << pipeline.git.branch >>]}}]}]}, jobs: [deploy-staging]}}\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		findings, err := lint.LintFile("fuzz.yml", data, lint.Options{})
		if err != nil {
			if failure.KindOf(err) != failure.Usage {
				t.Fatalf("error of kind %v: %v", failure.KindOf(err), err)
			}
			return
		}
		for _, f := range findings {
			if _, ok := lint.LookupRule(f.Rule); !ok || f.Line < 1 || f.Column < 1 || f.Message == "" || f.Hint == "" {
				t.Fatalf("bad finding %+v", f)
			}
		}
	})
}

// TestDisableCommentScope: a job's disable comment covers that job only, wherever it sits in
// the job (above it, on its line, inside it, or in its definition).
func TestDisableCommentScope(t *testing.T) {
	config := `version: 2.1
orbs: {sg: shipgate/shipgate@1}
parameters: {rollback: {type: boolean, default: false}}
jobs:
  # shipgate-lint: disable=SG005
  ship-eu-staging:
    docker: [{image: x}]
    steps: [sg/deploy]
workflows:
  w:
    jobs:
      # shipgate-lint: disable=SG012
      - sg/deploy:
          name: a-staging
          env: staging
          filters: {branches: {only: develop}}
      - sg/deploy: # shipgate-lint: disable=SG005
          name: b-staging
          env: staging
          filters: {branches: {only: develop}}
      - sg/deploy:
          name: c-staging
          env: staging
          # shipgate-lint: disable=SG012,SG005
          filters: {branches: {only: develop}}
      - ship-eu-staging:
          serial-group: g
          filters: {branches: {only: develop}}
`
	fs, err := lint.LintFile("c.yml", []byte(config), lint.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"13 SG005", "17 SG012"}
	if got := gotFindings(fs); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("got %v, want %v", got, want)
	}
}

// The rule table reads whole as JSON, links included (the config-policy bundle is built from
// it).
func TestRulesAsJSON(t *testing.T) {
	data, err := json.Marshal(lint.Rules())
	if err != nil {
		t.Fatal(err)
	}
	var rules []map[string]string
	if err := json.Unmarshal(data, &rules); err != nil {
		t.Fatal(err)
	}
	for _, r := range rules {
		if r["id"] == "" || r["severity"] == "" || !strings.HasSuffix(r["docs"], "#"+strings.ToLower(r["id"])) {
			t.Errorf("rule %v: want id, severity and a docs link to its section", r)
		}
		if r["id"] == lint.RuleDeprecatedPipelineVal && !strings.HasPrefix(r["source"], "https://circleci.com/") {
			t.Errorf("%s: source %q, want CircleCI's page", r["id"], r["source"])
		}
	}
}

// A workflow condition made of nested aliases is not expanded without bound: the condition is
// undecided, and the deploy behind it is judged as if it could run on every branch.
func TestAliasBombInAConditionIsBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("version: 2.1\nx-refs:\n  a0: &a0 [{equal: [main, << pipeline.git.branch >>]}, {equal: [a, a]}]\n")
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&b, "  a%d: &a%d [{and: *a%d}, {or: *a%d}, {and: *a%d}, {or: *a%d}, {and: *a%d}, {or: *a%d}, {and: *a%d}, {or: *a%d}]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	b.WriteString("jobs:\n  deploy-app:\n    docker: [{image: cimg/base:2026.10}]\n    steps: [{run: ./deploy.sh}]\n")
	b.WriteString("workflows:\n  w:\n    when: {and: *a9}\n    jobs: [deploy-app]\n")
	findings, err := lint.LintFile("bomb.yml", []byte(b.String()), lint.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(fmt.Sprint(findings), "SG002") {
		t.Errorf("want SG002 for a deploy whose workflow condition could not be read: %v", findings)
	}
}
