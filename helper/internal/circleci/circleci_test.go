package circleci_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/shipgate/shipgate/helper/internal/circleci"
)

func decode(t *testing.T, text string) any {
	t.Helper()
	v, err := circleci.Decode([]byte(text))
	if err != nil {
		t.Fatalf("decode %q: %v", text, err)
	}
	return v
}

// CircleCI reads YAML 1.1: `yes`/`on` are booleans there, strings in YAML 1.2.
func TestDecodeReadsYAML11Booleans(t *testing.T) {
	got := decode(t, "a: yes\nb: off\nc: 'yes'\nd: true\ne: 3\n<<: {f: 1, a: 9}\ng: y\nh: No\n")
	want := map[string]any{"a": true, "b": false, "c": "yes", "d": true, "e": 3, "f": 1, "g": "y", "h": false}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v, want %#v", got, want)
	}
	if _, err := circleci.Decode([]byte("a: 1\na: 2\n")); err == nil {
		t.Error("a repeated key decoded without an error")
	}
}

func TestParseRefusesWhatIsNotOneConfigMapping(t *testing.T) {
	for text, want := range map[string]string{
		"":                     "empty file",
		"a: [":                 "malformed YAML",
		"a: 1\n---\nb: 2\n":    "more than one YAML document",
		"- a\n":                "top level is not a mapping",
		"jobs: {}\njobs: {}\n": `key "jobs" is already defined on line 1`,
	} {
		_, err := circleci.Parse([]byte(text))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want an error containing %q", text, err, want)
		}
	}
	root, err := circleci.Parse([]byte("version: 2.1\njobs:\n  build: {}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if k, _ := circleci.Lookup(root, "jobs"); k == nil || k.Line != 2 {
		t.Errorf("jobs key: %v, want it on line 2", k)
	}
}

func TestEvalConditionByCircleCIRules(t *testing.T) {
	for _, tc := range []struct {
		yaml          string
		result, known bool
	}{
		{"yes", true, true},
		{"off", false, true},
		{"0", false, true},
		{"''", false, true},
		{"{equal: [a, a]}", true, true},
		{"{equal: [1, 1.0]}", true, true},
		{"{equal: [true, yes]}", true, true},
		{"{equal: []}", false, true},
		{"{and: []}", false, true},
		{"{or: [false, 'x']}", true, true},
		{"{not: {equal: [a, b]}}", true, true},
		{"{matches: {pattern: 'release/.*', value: release/1}}", true, true},
		{"{matches: {pattern: 'rel', value: release}}", false, true}, // whole value, not a substring
	} {
		got, known, err := circleci.EvalCondition(decode(t, tc.yaml))
		if err != nil || got != tc.result || known != tc.known {
			t.Errorf("%s: got %v known %v err %v, want %v known %v", tc.yaml, got, known, err, tc.result, tc.known)
		}
	}
	for _, bad := range []string{"{nand: [a]}", "{equal: a}", "{matches: {pattern: '(', value: x}}", "{a: 1, b: 2}"} {
		if _, _, err := circleci.EvalCondition(decode(t, bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

// The linter knows the branch it probes and nothing else: a condition that depends on another
// value stays undecided, unless a known operand decides it.
func TestPartialEvaluation(t *testing.T) {
	sc := &circleci.Scope{What: "test", Partial: true,
		Pipeline: &circleci.PipelineValues{Values: map[string]any{"git.branch": "main"}}}
	for _, tc := range []struct {
		yaml          string
		result, known bool
	}{
		{"{equal: [main, << pipeline.git.branch >>]}", true, true},
		{"{equal: [true, << pipeline.parameters.deploy >>]}", false, false},
		{"{and: [{equal: [dev, << pipeline.git.branch >>]}, << pipeline.parameters.x >>]}", false, true},
		{"{or: [{equal: [dev, << pipeline.git.branch >>]}, << pipeline.parameters.x >>]}", false, false},
		{"{matches: {pattern: 'ma.*', value: << pipeline.git.branch >>}}", true, true},
		{"{equal: [x-main, x-<< pipeline.trigger.type >>]}", false, false},
	} {
		v, err := circleci.Substitute(decode(t, tc.yaml), sc)
		if err != nil {
			t.Fatalf("%s: %v", tc.yaml, err)
		}
		got, known, err := circleci.EvalCondition(v)
		if err != nil || got != tc.result || known != tc.known {
			t.Errorf("%s: got %v known %v err %v, want %v known %v", tc.yaml, got, known, err, tc.result, tc.known)
		}
	}
	for expr, want := range map[string]any{
		`pipeline.git.branch == "main"`:                                  true,
		`pipeline.git.branch != "main"`:                                  false,
		`pipeline.git.branch == "dev" and pipeline.parameters.x`:         false,
		`pipeline.git.branch == "main" or pipeline.parameters.x`:         true,
		`pipeline.git.branch == "main" and pipeline.parameters.x == "y"`: circleci.Unknown{Ref: "pipeline.parameters.x"},
	} {
		got, err := circleci.EvalExpression(expr, sc)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %#v, %v; want %#v", expr, got, err, want)
		}
	}
}

func TestSubstituteKeepsTypesAndEscapes(t *testing.T) {
	sc := &circleci.Scope{What: "command x", Params: map[string]any{"b": true, "n": 3, "s": "v"}}
	for in, want := range map[string]any{
		"<< parameters.b >>":                  true,
		"n=<< parameters.n >>":                "n=3",
		`\<< parameters.s >>`:                 `\<< parameters.s >>`,
		"cat <<EOF >>out":                     "cat <<EOF >>out",
		"<<parameters.s>>-<< parameters.b >>": "v-true",
	} {
		got, err := circleci.SubstituteString(in, sc)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%q: got %#v, %v; want %#v", in, got, err, want)
		}
	}
	if _, err := circleci.SubstituteString("<< parameters.missing >>", sc); err == nil || !strings.Contains(err.Error(), `parameter "missing" is referenced but not declared`) {
		t.Errorf("undeclared parameter: %v", err)
	}
	inOrb := &circleci.Scope{What: "job o/x", InOrb: true, Pipeline: &circleci.PipelineValues{Params: map[string]any{"a": 1}}}
	if _, err := circleci.SubstituteString("<< pipeline.parameters.a >>", inOrb); err == nil {
		t.Error("a pipeline parameter resolved inside an orb")
	}
	if got := circleci.Unescape(`a \<< b`); got != "a << b" {
		t.Errorf("Unescape: %q", got)
	}
}

func TestUndeclaredPipelineParams(t *testing.T) {
	doc := decode(t, `
workflows:
  w:
    when: << pipeline.parameters.run >>
    jobs:
      - x:
          env: << pipeline.parameters.target-env >>
          msg: 'escaped \<< pipeline.parameters.shell >> and << pipeline.parameters.a == "b" >>'
`)
	got := circleci.UndeclaredPipelineParams(doc, map[string]bool{"run": true})
	if want := []string{"a", "target-env"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestParamSpecs(t *testing.T) {
	specs, err := circleci.ParseSpecs(decode(t, "{e: {type: enum, enum: [a, b], default: a}, f: {type: boolean}}"), "job x")
	if err != nil || len(specs) != 2 || specs[0].Name != "e" || !specs[0].HasDefault || specs[1].HasDefault {
		t.Fatalf("specs %+v, %v", specs, err)
	}
	if err := specs[0].CheckScalar("c", "job x", "argument"); err == nil || !strings.Contains(err.Error(), `want one of "a", "b"`) {
		t.Errorf("enum: %v", err)
	}
	if err := specs[1].CheckScalar("yes", "job x", "argument"); err == nil {
		t.Error("a quoted 'yes' passed as a boolean")
	}
	if err := specs[1].CheckScalar(true, "job x", "argument"); err != nil {
		t.Error(err)
	}
	for _, bad := range []string{"{a: {type: list}}", "{a: {type: enum}}", "{a: 1}"} {
		if _, err := circleci.ParseSpecs(decode(t, bad), "job x"); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestCalledAndInstalledCLIs(t *testing.T) {
	script := "# kubectl apply in a comment is not a call\n" +
		"set -eu\n" +
		"AWS_PAGER= aws ecs update-service --cluster c --service s\n" +
		"echo \"deploying << parameters.env >>\"\n" +
		"if helm status app; then sudo kubectl rollout status deploy/app; fi\n" +
		"cat <<END > values.yaml\n" +
		"gcloud: not a command here\n" +
		"END\n" +
		"out=$(terraform output -raw url) && echo \"$out\" | jq .\n"
	if got, want := circleci.CalledCLIs(script), []string{"aws", "helm", "kubectl", "terraform"}; !reflect.DeepEqual(got, want) {
		t.Errorf("CalledCLIs = %v, want %v", got, want)
	}
	install := "curl -LO https://dl.k8s.io/release/v1.31.0/bin/linux/amd64/kubectl && sudo install kubectl /usr/local/bin\n" +
		"curl https://awscli.amazonaws.com/awscli-exe-linux-x86_64.zip -o a.zip"
	if got, want := circleci.InstalledBy(install), []string{"kubectl", "aws"}; !reflect.DeepEqual(got, want) {
		t.Errorf("InstalledBy = %v, want %v", got, want)
	}
	if got := circleci.InstalledBy("kubectl apply -f k8s/"); len(got) != 0 {
		t.Errorf("a plain kubectl call counted as an install: %v", got)
	}
}

func TestLookupImage(t *testing.T) {
	base, ok := circleci.LookupImage("cimg/base:2026.10")
	if !ok || !base.Complete || base.Ships("kubectl") || !base.Ships("docker") {
		t.Errorf("cimg/base: %+v %v", base, ok)
	}
	deploy, _ := circleci.LookupImage("cimg/deploy:2026.10-node")
	if !deploy.Ships("kubectl") || !deploy.Ships("node") || deploy.Ships("aws") {
		t.Errorf("cimg/deploy-node: %+v", deploy)
	}
	if aws, _ := circleci.LookupImage("cimg/aws:2026.10"); !aws.Ships("aws") || !aws.Ships("helm") {
		t.Errorf("cimg/aws: %+v", aws)
	}
	if tagged, ok := circleci.LookupImage("cimg/base:<< parameters.tag >>"); !ok || tagged.Image != "cimg/base" {
		t.Errorf("a parameterised tag: %+v %v, want cimg/base", tagged, ok)
	}
	for _, unknown := range []string{"<< parameters.image >>", "$IMAGE:1", "alpine:3", "myorg/deployer:1"} {
		if _, ok := circleci.LookupImage(unknown); ok {
			t.Errorf("%s: known", unknown)
		}
	}
	if m, ok := circleci.LookupImage("ubuntu-2404:current"); !ok || m.Complete {
		t.Errorf("machine image: %+v %v (its list is not complete)", m, ok)
	}
	for _, row := range circleci.Images {
		if row.Source == "" {
			t.Errorf("%s has no source", row.Image)
		}
	}
}

// circleci-cli v0.1.30995's packer keeps only version, setup, orbs, jobs and workflows of an
// example's usage (issue 16 point 2: rollback_pipeline's parameters were dropped).
func TestPublishedUsage(t *testing.T) {
	usage := decode(t, "{version: 2.1, parameters: {a: {type: string, default: x}}, orbs: {}, jobs: {}, workflows: {}, commands: {}}").(map[string]any)
	published, dropped := circleci.PublishedUsage(usage)
	if want := []string{"commands", "parameters"}; !reflect.DeepEqual(dropped, want) {
		t.Errorf("dropped %v, want %v", dropped, want)
	}
	if _, ok := published["parameters"]; ok || len(published) != 4 {
		t.Errorf("published %v", published)
	}
}

func TestUnnamedReleaseMarkers(t *testing.T) {
	script := "circleci run release plan api --environment-name=prod\n" +
		"circleci run release plan --environment-name=staging\n" +
		"circleci run release plan\n" +
		"circleci run release plan # default\n" +
		"circleci run release update api --status=SUCCESS\n" +
		"circleci run release update --status=FAILED\n" +
		"args=(run release plan --environment-name \"$E\")\n" +
		"args=(run release plan \"$NAME\" --environment-name \"$E\")\n"
	if got := len(circleci.UnnamedReleaseMarkers(script)); got != 5 {
		t.Errorf("found %d unnamed markers, want 5", got)
	}
}

// Nested aliases expand exponentially; the conversion stops at its budget instead of hanging.
func TestValueBoundsAliasExpansion(t *testing.T) {
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i <= 8; i++ {
		fmt.Fprintf(&b, "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	_, err := circleci.Decode([]byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "expands to more than") {
		t.Fatalf("err = %v, want the expansion bound", err)
	}
}
