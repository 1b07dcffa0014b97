package orbcheck_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/shipgate/shipgate/helper/dev/internal/devstack"
	"github.com/shipgate/shipgate/helper/dev/internal/localrunner"
	"github.com/shipgate/shipgate/helper/internal/lint"
	"github.com/shipgate/shipgate/helper/internal/testpeer/devtool"
)

const repoRoot = "../../../.."

// circleciPack runs CircleCI's own `circleci orb pack` (circleci-cli v0.1.30995, pinned in
// helper/dev/tools/circleci) on src. The CLI checks GitHub for updates and may send telemetry:
// both are switched off (CIRCLECI_CLI_SKIP_UPDATE_CHECK, CIRCLECI_CLI_TELEMETRY_OPTOUT, read in
// its cmd/root.go and cmd/create_telemetry.go), its home is a fresh folder, and its API host is
// a closed loopback port, so nothing leaves the machine.
func circleciPack(t *testing.T, src string) []byte {
	t.Helper()
	cli := devtool.PathT(t, "circleci")
	cmd := exec.Command(cli, "orb", "pack", "--skip-update-check", src)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir(), "CIRCLECI_CLI_SKIP_UPDATE_CHECK=true",
		"CIRCLECI_CLI_TELEMETRY_OPTOUT=1", "CIRCLECI_CLI_HOST=http://127.0.0.1:9"}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("circleci orb pack: %v\n%s", err, stderr.String())
	}
	out := stdout.Bytes()
	// The CLI prints the packed YAML with fmt.Println: one newline more than the YAML ends with.
	if !bytes.HasSuffix(out, []byte("\n\n")) {
		t.Fatalf("circleci orb pack: output does not end with the extra newline of fmt.Println")
	}
	return out[:len(out)-1]
}

// The committed orb.yml is exactly what CircleCI's own packer makes of src/ (issue 16: the
// packer as the oracle, not the project's reimplementation of it).
func TestCommittedOrbIsWhatCircleCIPacks(t *testing.T) {
	want := circleciPack(t, filepath.Join(repoRoot, "src"))
	got, err := os.ReadFile(filepath.Join(repoRoot, "orb.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("orb.yml differs from `circleci orb pack src` (%d bytes vs %d): run `make orb`", len(got), len(want))
	}
}

// rollbackValues are the pipeline values CircleCI gives a rollback pipeline
// (pipeline.deploy.*); the rollback example reads them.
var rollbackValues = map[string]any{
	"deploy.component_name": "app", "deploy.environment_name": "production",
	"deploy.target_version": strings.Repeat("a", 40), "deploy.current_version": strings.Repeat("b", 40),
	"deploy.reason": "rolled back from the Deploys view",
}

// Every example, as the real packer publishes it (its usage keeps only version, setup, orbs,
// jobs and workflows: pipeline parameters and comments are gone), with the packed orb inlined,
// compiles every workflow in the local runner and passes `shipgate lint` with no error or
// warning, with default settings and nothing beside it (each deploy example carries its own
// rollback job, so SG011 needs no comment the packer would drop).
func TestPackedExamplesCompileAndLintClean(t *testing.T) {
	packed := circleciPack(t, filepath.Join(repoRoot, "src"))
	orbFile := filepath.Join(t.TempDir(), "orb.yml")
	if err := os.WriteFile(orbFile, packed, 0o644); err != nil {
		t.Fatal(err)
	}
	// The official orbs the examples install CLIs with, as the local world stands them in.
	orbs, err := devstack.StandInOrbs(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	orbs["shipgate/shipgate"] = orbFile
	var orb struct {
		Examples map[string]struct {
			Usage yaml.Node `yaml:"usage"`
		} `yaml:"examples"`
	}
	if err := yaml.Unmarshal(packed, &orb); err != nil {
		t.Fatal(err)
	}
	if len(orb.Examples) < 6 {
		t.Fatalf("the packed orb has %d examples", len(orb.Examples))
	}
	names := make([]string, 0, len(orb.Examples))
	for name := range orb.Examples {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			node := orb.Examples[name].Usage
			usage, err := yaml.Marshal(&node)
			if err != nil {
				t.Fatal(err)
			}
			p, err := localrunner.LoadOrbExample(orbFile, name, orbs)
			if err != nil {
				t.Fatalf("as packed, the example does not compile: %v", err)
			}
			workflows := p.Workflows()
			if len(workflows) == 0 {
				t.Fatal("no workflows")
			}
			for _, wf := range workflows {
				for _, branch := range []string{"main", "develop"} {
					if _, err := p.Plan(wf, localrunner.RunOptions{Branch: branch, PipelineValues: rollbackValues}); err != nil {
						t.Errorf("workflow %s on %s does not compile: %v", wf, branch, err)
					}
				}
			}
			report, err := lint.Lint([]lint.Input{{Name: name + ".yml", Data: usage}}, lint.Options{FailOn: lint.SeverityWarning})
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range report.Findings {
				if f.Severity != lint.SeverityNote {
					t.Errorf("lint: %+v", f)
				}
			}
		})
	}
}
