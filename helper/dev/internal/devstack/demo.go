package devstack

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/shipgate/shipgate/helper/dev/internal/localrunner"
)

// Demo runs the example pipeline end to end and narrates it: `make demo`. It returns the exit
// code: 0 when every step went as the story says, 1 (with the failing step's output) otherwise.
func Demo(ctx context.Context, out io.Writer, self string) int {
	d := &demo{out: out, started: time.Now()}
	if err := d.run(ctx, self); err != nil {
		fmt.Fprintf(out, "\n\033[1;31mDEMO FAILED:\033[0m %v\n", err)
		if d.log.Len() > 0 {
			fmt.Fprintf(out, "\n--- full log of the last pipeline ---\n%s", d.log.String())
		}
		return 1
	}
	fmt.Fprintf(out, "\n\033[1;32mDemo finished in %s.\033[0m Everything it started has stopped.\n", time.Since(d.started).Round(100*time.Millisecond))
	return 0
}

type demo struct {
	out     io.Writer
	started time.Time
	log     bytes.Buffer
	world   *World
}

func (d *demo) say(format string, args ...any) {
	fmt.Fprintf(d.out, "\n\033[1m▶ "+format+"\033[0m\n", args...)
}

func (d *demo) run(ctx context.Context, self string) error {
	cwd, err := os.Getwd()
	if err != nil {
		return err
	}
	root, err := FindRoot(cwd)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "shipgate-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	d.say("Starting the local world on 127.0.0.1 (nothing leaves this machine)")
	w, err := NewWorld(ctx, root, dir, self)
	if err != nil {
		return err
	}
	defer w.Close()
	d.world = w
	fmt.Fprintf(d.out, "  registry (CNCF distribution)  %s\n", w.Registry.URL)
	fmt.Fprintf(d.out, "  CircleCI-style OIDC issuer    %s\n", w.Issuer.URL)
	fmt.Fprintf(d.out, "  AWS STS emulator              %s\n", w.STS.URL)
	fmt.Fprintf(d.out, "  staging service               %s\n", w.Apps["staging"].URL)
	fmt.Fprintf(d.out, "  production service            %s\n", w.Apps["production"].URL)
	fmt.Fprintf(d.out, "  helper release %s served at %s, its SHA-256 pinned in the packed orb\n", LocalVersion, w.ReleaseBaseURL)

	good, err := w.Commit("main", "release 1: the first version", false)
	if err != nil {
		return err
	}
	d.say("Pipeline 1 on main (commit %s): build once, deploy staging, smoke test, approval, promote the SAME digest to production, smoke test, mark known-good", good[:12])
	res, err := d.pipeline(ctx, "build_and_promote", "release", "main")
	if err != nil {
		return err
	}
	if err := expectJobs(res, map[string]localrunner.Status{"build": "success", "deploy-staging": "success", "hold-production": "success", "deploy-production": "success"}); err != nil {
		return err
	}
	stagingImage, stagingVersion, _ := w.Apps["staging"].Deployed()
	prodImage, prodVersion, _ := w.Apps["production"].Deployed()
	if digestOf(stagingImage) != digestOf(prodImage) || prodVersion != good {
		return fmt.Errorf("production runs %s (version %s), staging %s: not the same digest", prodImage, prodVersion, stagingImage)
	}
	fmt.Fprintf(d.out, "  staging and production run the same digest %s (version %s): built once, promoted, never rebuilt\n", digestOf(prodImage), prodVersion[:12])

	bad, err := w.Commit("main", "release 2: a change that panics on every request", true)
	if err != nil {
		return err
	}
	d.say("Pipeline 2 on main (commit %s): a broken release; its smoke test in staging fails, shipgate marks it bad and rolls staging back to the last known-good digest automatically", bad[:12])
	res, err = d.pipeline(ctx, "build_and_promote", "release", "main")
	if err != nil {
		return err
	}
	if err := expectJobs(res, map[string]localrunner.Status{"build": "success", "deploy-staging": "failed", "hold-production": "blocked", "deploy-production": "blocked"}); err != nil {
		return err
	}
	stagingImage, stagingVersion, broken := w.Apps["staging"].Deployed()
	if broken || stagingVersion != good {
		return fmt.Errorf("after the rollback staging runs %s (version %s, broken %v), want the known-good release", stagingImage, stagingVersion, broken)
	}
	prodImage2, _, _ := w.Apps["production"].Deployed()
	if prodImage2 != prodImage {
		return fmt.Errorf("production changed to %s although the broken release never passed staging", prodImage2)
	}
	fmt.Fprintf(d.out, "  staging is back on %s (version %s) and healthy; production never saw the broken release; the workflow is red\n", digestOf(stagingImage), stagingVersion[:12])

	for _, env := range []string{"staging", "production"} {
		d.say("The %s ledger, read back from the registry: shipgate releases --env %s", env, env)
		if err := d.shipgate(ctx, "releases", "--repo", w.Registry.Host+"/app/"+env, "--env", env); err != nil {
			return err
		}
	}
	markers := w.DeployMarkers()
	if len(markers) > 0 {
		d.say("CircleCI deploy markers the jobs recorded (circleci run release, stubbed locally)")
		for _, m := range markers {
			fmt.Fprintf(d.out, "  circleci run release %s\n", m)
		}
	}
	return nil
}

// pipeline runs a workflow, printing a narrated digest of its log; the full log is kept for
// the failure report.
func (d *demo) pipeline(ctx context.Context, example, workflow, branch string) (*localrunner.Result, error) {
	d.log.Reset()
	pr, pw := io.Pipe()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		scanner := bufio.NewScanner(pr)
		scanner.Buffer(make([]byte, 1<<20), 1<<20)
		for scanner.Scan() {
			line := scanner.Text()
			d.log.WriteString(line + "\n")
			if shown := narrateLine(line); shown != "" {
				fmt.Fprintln(d.out, shown)
			}
		}
	}()
	res, err := d.world.Run(ctx, Pipeline{Example: example, Workflow: workflow, Branch: branch}, pw)
	pw.Close()
	wg.Wait()
	if err != nil {
		return nil, fmt.Errorf("running %s/%s: %w", example, workflow, err)
	}
	return res, nil
}

// narrateLine picks the lines of the runner's log worth showing: jobs, steps, approvals and
// what shipgate itself said; everything else stays in the full log.
func narrateLine(line string) string {
	trimmed := strings.TrimSpace(line)
	switch {
	case strings.HasPrefix(line, "==> job "):
		return "  " + strings.SplitN(strings.TrimPrefix(line, "==> "), ",", 2)[0]
	case strings.HasPrefix(line, "<== job "):
		return "  " + strings.TrimPrefix(line, "<== ")
	case strings.HasPrefix(line, "--> "):
		return "    · " + strings.TrimPrefix(line, "--> ")
	case strings.HasPrefix(line, "<-- "):
		return "    ✗ " + strings.TrimPrefix(line, "<-- ")
	case strings.HasPrefix(line, "=== ") && strings.Contains(line, "circleci-agent step halt"):
		// Say what the agent's command means, not just its name.
		return "    ■ " + strings.TrimPrefix(line, "=== ") + "\n" +
			"      (`circleci-agent step halt` is CircleCI's way to end a job early as successful: the steps\n" +
			"       after it, here the automatic-rollback path, are skipped because the release passed)"
	case strings.HasPrefix(line, "=== "):
		return "    ■ " + strings.TrimPrefix(line, "=== ")
	case strings.Contains(line, "approved automatically"):
		return "  " + line
	case strings.HasPrefix(trimmed, "shipgate: ") && !strings.Contains(trimmed, "exported "):
		return "        " + trimmed
	case strings.HasPrefix(trimmed, "smoke-test:") || strings.HasPrefix(trimmed, "PASS ") || strings.HasPrefix(trimmed, "FAIL "):
		return "        " + trimmed
	}
	return ""
}

func (d *demo) shipgate(ctx context.Context, args ...string) error {
	binary := d.world.Dir + "/release/" + LocalVersion + "/shipgate_" + strings.TrimPrefix(LocalVersion, "v") + "_linux_amd64"
	cmd := exec.CommandContext(ctx, binary, args...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	for _, line := range strings.Split(strings.TrimRight(buf.String(), "\n"), "\n") {
		fmt.Fprintln(d.out, "  "+line)
	}
	if err != nil {
		return fmt.Errorf("shipgate %s: %v", strings.Join(args, " "), err)
	}
	return nil
}

func expectJobs(res *localrunner.Result, want map[string]localrunner.Status) error {
	for name, status := range want {
		j := res.Job(name)
		if j == nil {
			return fmt.Errorf("job %s did not run", name)
		}
		if j.Status != status {
			return fmt.Errorf("job %s ended %s, want %s", name, j.Status, status)
		}
	}
	return nil
}

func digestOf(image string) string {
	if i := strings.LastIndex(image, "@"); i >= 0 {
		return image[i+1:]
	}
	return image
}
