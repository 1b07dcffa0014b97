package main

import (
	"bytes"
	"debug/elf"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// startupRuns is how many times each tool's version command runs in the start-up section.
const startupRuns = 61

// runStartup measures start-up as every CI step pays it (issue 15): `shipgate --version`,
// `crane version` and `regctl version`, each run startupRuns times in rounds in which the three
// take turns and the first one rotates (a load spike falls on all alike), after one round not
// counted. Wall time is from start to exit; cpu time is user+sys of the finished process (wait4's
// rusage). The binaries are those of every other section (releaseTools): each as its users
// download it; the table says how each is linked, so a run against another build cannot pass
// for the release figure.
func runStartup(report *strings.Builder, t tools) {
	type tool struct {
		name string
		path string
		args []string
	}
	ts := []tool{
		{"shipgate", t.shipgate, []string{"--version"}},
		{"crane", t.crane, []string{"version"}},
		{"regctl", t.regctl, []string{"version"}},
	}
	wall := make([][]time.Duration, len(ts))
	cpu := make([][]time.Duration, len(ts))
	for round := -1; round < startupRuns; round++ {
		for i := range ts {
			k := (i + max(round, 0)) % len(ts)
			w, c := timeOnce(ts[k].path, ts[k].args)
			if round >= 0 {
				wall[k] = append(wall[k], w)
				cpu[k] = append(cpu[k], c)
			}
		}
	}
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d)/float64(time.Millisecond)) }
	fmt.Fprintf(report, "## Start-up\n\n")
	fmt.Fprintf(report, "Every CI step that runs the binary pays its start-up (issue 15). Each tool's version command\n")
	fmt.Fprintf(report, "ran %d times, the three taking turns in rounds with the first rotating, after a round not\n", startupRuns)
	fmt.Fprintf(report, "counted; medians of whole-process wall time and of cpu time (user + sys). crane and regctl are\n")
	fmt.Fprintf(report, "built from their pins as their releases are (static, stripped); shipgate by `make build` (the\n")
	fmt.Fprintf(report, "release's flags); each is timed from a fresh copy in one folder, as a download would leave it.\n")
	fmt.Fprintf(report, "Medians of a few milliseconds on a shared machine: compare within this run.\n\n")
	fmt.Fprintf(report, "| command | wall median (ms) | cpu median (ms) | cpu / crane's | binary (MB) | linked |\n|---|---:|---:|---:|---:|---|\n")
	craneCPU := median(cpu[1])
	for i, t := range ts {
		info, err := os.Stat(t.path)
		must(err)
		fmt.Fprintf(report, "| `%s %s` | %s | %s | %.2f | %.1f | %s |\n", t.name, strings.Join(t.args, " "),
			ms(median(wall[i])), ms(median(cpu[i])), float64(median(cpu[i]))/float64(craneCPU),
			float64(info.Size())/1e6, linkage(t.path))
	}
	fmt.Fprintln(report)
}

// releaseTools returns the binaries every section measures, each as its users download it:
// crane and regctl built from their pins (helper/dev/tools) the way their releases are, static
// and stripped (CGO_ENABLED=0, -s -w: go-containerregistry's .goreleaser.yml; regclient's
// Makefile, LD_FLAGS "-s -w -extldflags -static"), shipgate as given (`make build` uses the
// release's flags). devtool's builds (cgo, symbols) would pay a dynamic loader at every start
// that release binaries do not. A -crane or -regctl given on the command line is used as given.
// Each binary is then copied in one sequential pass into one folder, as a download (or cp)
// writes it: the same bytes as written by the Go linker started 15% slower in paired runs on
// the project's machine (the page cache's layout of the file), which would charge one tool for
// how the bench obtained it. The caller removes dir.
func releaseTools(t tools, dir string) tools {
	built := filepath.Join(dir, "built")
	must(os.Mkdir(built, 0o755))
	if t.crane == "" {
		t.crane = releaseBuild(built, "crane")
	}
	if t.regctl == "" {
		t.regctl = releaseBuild(built, "regctl")
	}
	return tools{shipgate: copyBinary(t.shipgate, dir), crane: copyBinary(t.crane, dir), regctl: copyBinary(t.regctl, dir)}
}

// releaseBuild builds the pinned tool (the `tool` directive of helper/dev/tools/NAME/go.mod)
// static and stripped into dir, as its release is built.
func releaseBuild(dir, name string) string {
	module := filepath.Join("helper", "dev", "tools", name)
	gomod, err := os.ReadFile(filepath.Join(module, "go.mod"))
	must(err)
	var pkg string
	for _, line := range strings.Split(string(gomod), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "tool" {
			pkg = f[1]
		}
	}
	if pkg == "" {
		log.Fatalf("%s/go.mod: no tool directive", module)
	}
	out := filepath.Join(dir, name)
	build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	build.Dir = module
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off", "GOFLAGS=-mod=readonly")
	if b, err := build.CombinedOutput(); err != nil {
		log.Fatalf("building %s (%s) for the start-up figures: %v\n%s", name, pkg, err, b)
	}
	return out
}

// copyBinary copies the executable src into dir in one sequential pass and returns the copy.
func copyBinary(src, dir string) string {
	in, err := os.Open(src)
	must(err)
	defer in.Close()
	dst := filepath.Join(dir, filepath.Base(src))
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o755)
	must(err)
	if _, err := io.Copy(out, in); err != nil {
		log.Fatalf("copying %s: %v", src, err)
	}
	must(out.Close())
	return dst
}

// timeOnce runs one version command and returns its wall and cpu time; a command that fails
// or prints nothing stops the bench (a figure of a failed run is no figure).
func timeOnce(path string, args []string) (wall, cpu time.Duration) {
	var stdout bytes.Buffer
	cmd := exec.Command(path, args...)
	cmd.Stdout = &stdout
	began := time.Now()
	if err := cmd.Run(); err != nil {
		log.Fatalf("%s %s: %v", path, strings.Join(args, " "), err)
	}
	wall = time.Since(began)
	if stdout.Len() == 0 {
		log.Fatalf("%s %s printed no version", path, strings.Join(args, " "))
	}
	return wall, cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
}

// linkage says whether an ELF binary is static or dynamic (a PT_INTERP program header names
// the dynamic loader) and stripped or not (a .symtab section).
func linkage(path string) string {
	f, err := elf.Open(path)
	if err != nil {
		return "not ELF"
	}
	defer f.Close()
	linked := "static"
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			linked = "dynamic"
		}
	}
	if f.Section(".symtab") != nil {
		return linked + ", with symbols"
	}
	return linked + ", stripped"
}
