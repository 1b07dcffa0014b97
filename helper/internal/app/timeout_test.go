package app

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/shipgate/shipgate/helper/internal/testpeer/faultproxy"
	"github.com/shipgate/shipgate/helper/internal/testpeer/registryserver"
	"github.com/shipgate/shipgate/helper/internal/testpeer/testimage"
)

// TestTimeoutBoundsEveryRegistryCommand runs each registry command against a registry that
// never answers (every request stalls for an hour): each gives up at its --timeout with exit
// code 7 and one error line naming the timeout, long before the default stall watchdog (60s).
func TestTimeoutBoundsEveryRegistryCommand(t *testing.T) {
	t.Parallel()
	reg := registryserver.StartT(t, registryserver.Options{})
	digest := testimage.Image(t, reg.Repo("app:v1"), 1)
	stalled := faultproxy.StartT(t, faultproxy.Options{Target: reg.URL, Rate: 1,
		Faults: []faultproxy.Fault{faultproxy.StallHeaders}, Stall: time.Hour})
	repo := stalled.Host + "/app"
	image := repo + "@" + digest.String()
	dir := t.TempDir()
	for _, args := range [][]string{
		{"record-artifact", "--image", repo + ":v1", "--out", filepath.Join(dir, "release.json")},
		{"promote", "--from", image, "--to", stalled.Host + "/prod"},
		{"mark-deployed", "--image", image, "--env", "production"},
		{"mark-good", "--image", image, "--env", "production"},
		{"mark-bad", "--image", image, "--env", "production"},
		{"releases", "--repo", repo, "--env", "production"},
		{"find", "--repo", repo, "--env", "production", "--commit", strings.Repeat("a", 40)},
		{"rollback", "--repo", repo, "--env", "production"},
	} {
		t.Run(args[0], func(t *testing.T) {
			r := runCLI(t, nil, append(args, "--timeout", "200ms")...)
			mustCode(t, r, 7)
			if !strings.Contains(r.stderr, "gave up after --timeout 200ms") {
				t.Errorf("stderr %q does not name the timeout", r.stderr)
			}
		})
	}
}

func TestTimeoutMustBePositive(t *testing.T) {
	t.Parallel()
	for _, value := range []string{"0s", "-1m", "soon", "10"} {
		t.Run(value, func(t *testing.T) {
			r := runCLI(t, nil, "releases", "--repo", "127.0.0.1:1/app", "--env", "production", "--timeout", value)
			mustCode(t, r, 2)
		})
	}
	r := runCLI(t, map[string]string{"SHIPGATE_FLAG_TIMEOUT": "-5s"}, "releases", "--repo", "127.0.0.1:1/app", "--env", "production")
	mustCode(t, r, 2)
}

// TestTimeoutWrapsOnlyRegistryCommands: smoke-test and the aws commands apply their own
// --timeout in their domain packages (with their own exit codes); only registry commands get
// the operation deadline.
func TestTimeoutWrapsOnlyRegistryCommands(t *testing.T) {
	t.Parallel()
	wrapped := map[string]bool{}
	var walk func(prefix string, cmds []*cli.Command)
	walk = func(prefix string, cmds []*cli.Command) {
		for _, c := range cmds {
			name := strings.TrimSpace(prefix + " " + c.Name)
			for _, f := range c.Flags {
				if _, ok := f.(registryTimeoutFlag); ok {
					wrapped[name] = true
				}
			}
			walk(name, c.Subcommands)
		}
	}
	walk("", newApp(&streams{}).Commands)
	for _, name := range []string{"record-artifact", "promote", "mark-deployed", "mark-good", "mark-bad", "releases", "find", "rollback", "ledger prune", "ledger copy"} {
		if !wrapped[name] {
			t.Errorf("%s has no registry --timeout", name)
		}
		delete(wrapped, name)
	}
	if len(wrapped) != 0 {
		t.Errorf("registry --timeout on other commands: %v", wrapped)
	}
}
