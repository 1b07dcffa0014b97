package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/shipgate/shipgate/helper/internal/promotion"
	"github.com/shipgate/shipgate/helper/internal/registry"
	"github.com/shipgate/shipgate/helper/internal/testpeer/countingproxy"
	"github.com/shipgate/shipgate/helper/internal/testpeer/registryserver"
	"github.com/shipgate/shipgate/helper/internal/testpeer/testimage"
	"github.com/shipgate/shipgate/helper/internal/testpeer/tokenserver"
)

// tools are the command lines measured side by side, as users run them.
type tools struct{ shipgate, regctl, crane string }

var toolNames = []string{"shipgate", "regctl", "crane"}

const (
	benchUser     = "bench"
	benchPassword = "bench-password"
)

// kind is one registry setup: implementation and authentication.
type kind struct {
	label    string
	external bool // Debian's docker-registry 2.8 instead of the embedded distribution v3
	auth     string
}

var kinds = []kind{
	{label: "docker-registry 2.8 (Debian), anonymous", external: true},
	{label: "distribution v3.1.2, anonymous"},
	{label: "distribution v3.1.2, basic auth", auth: "basic"},
	{label: "distribution v3.1.2, bearer tokens (token server, basic login)", auth: "token"},
}

// world is a source and a destination registry of one kind, each behind a counting proxy,
// and a HOME with the credentials and registry settings every tool reads.
type world struct {
	kind    kind
	servers [2]*registryserver.Server
	proxies [2]*countingproxy.Proxy
	tokens  *tokenserver.Server
	home    string
	keys    authn.Keychain
	direct  *registry.Client // seeds and prepares state without going through the proxies
	t       *fakeT
}

func startWorld(k kind, rootDir string) *world {
	w := &world{kind: k, t: &fakeT{}, keys: authn.DefaultKeychain}
	opts := registryserver.Options{}
	switch k.auth {
	case "basic":
		opts.Users = map[string]string{benchUser: benchPassword}
	case "token":
		ts, err := tokenserver.Start(tokenserver.Options{Users: map[string]string{benchUser: benchPassword}})
		must(err)
		w.tokens = ts
		opts.Token = &registryserver.TokenAuth{Realm: ts.Realm, Service: ts.Service, Issuer: ts.Issuer, RootCertBundle: ts.CertFile}
	}
	if k.auth != "" {
		w.keys = staticKeychain{authn.FromConfig(authn.AuthConfig{Username: benchUser, Password: benchPassword})}
	}
	for i := range w.servers {
		o := opts
		if rootDir != "" {
			o.RootDir = filepath.Join(rootDir, fmt.Sprint(i))
		}
		var err error
		if k.external {
			w.servers[i], err = registryserver.StartExternal(registryserver.DebianBinary, o)
		} else {
			w.servers[i], err = registryserver.Start(o)
		}
		must(err)
		w.proxies[i], err = countingproxy.Start(w.servers[i].URL)
		must(err)
	}
	w.direct = registry.New(registry.Options{Keychain: w.keys})
	home, err := os.MkdirTemp("", "shipgate-bench-home-")
	must(err)
	w.home = home
	w.writeToolConfig()
	return w
}

// writeToolConfig writes ~/.docker/config.json (credentials for every proxy, read by all three
// tools) and ~/.regctl/config.json (plain HTTP for every proxy: regctl assumes TLS otherwise;
// crane gets --insecure; shipgate uses plain HTTP for loopback registries by itself).
func (w *world) writeToolConfig() {
	auths := map[string]any{}
	hosts := map[string]any{}
	for _, p := range w.proxies {
		if w.kind.auth != "" {
			auths[p.Host] = map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte(benchUser + ":" + benchPassword))}
		}
		hosts[p.Host] = map[string]any{"tls": "disabled"}
	}
	writeJSON(filepath.Join(w.home, ".docker", "config.json"), map[string]any{"auths": auths})
	writeJSON(filepath.Join(w.home, ".regctl", "config.json"), map[string]any{"hosts": hosts})
}

func writeJSON(path string, v any) {
	must(os.MkdirAll(filepath.Dir(path), 0o700))
	data, err := json.Marshal(v)
	must(err)
	must(os.WriteFile(path, data, 0o600))
}

func (w *world) close() {
	for i := range w.servers {
		w.proxies[i].Close()
		w.servers[i].Close()
	}
	if w.tokens != nil {
		w.tokens.Close()
	}
	os.RemoveAll(w.home)
}

func (w *world) remoteOpts() []remote.Option {
	return []remote.Option{remote.WithAuthFromKeychain(w.keys)}
}

// repo names a repository through proxy i (what the tools are pointed at).
func (w *world) repo(i int, path string) registry.Repository {
	return registry.Repository{Registry: w.proxies[i].Host, Path: path}
}

// directRepo names the same repository on the server itself (uncounted).
func (w *world) directRepo(i int, path string) registry.Repository {
	return registry.Repository{Registry: w.servers[i].Host, Path: path}
}

// prepare copies digest into a repository without counting (state a scenario starts from).
func (w *world) prepare(srcServer int, srcPath string, digest v1.Hash, dstServer int, dstPath string) {
	_, err := promotion.Promote(context.Background(), w.direct, promotion.Options{
		Source:       registry.Reference{Repository: w.directRepo(srcServer, srcPath), Digest: digest},
		Destinations: []registry.Repository{w.directRepo(dstServer, dstPath)},
	})
	must(err)
}

// run executes one tool's copy of src (by digest) to dst:tag and returns the requests both
// proxies saw, the token requests, and the wall time.
func (w *world) run(t tools, tool string, src registry.Repository, digest v1.Hash, dst registry.Repository, tag string) measurement {
	from := src.Digest(digest)
	to := dst.String() + ":" + tag
	var cmd *exec.Cmd
	switch tool {
	case "shipgate":
		cmd = exec.Command(t.shipgate, "promote", "--from", from, "--to", dst.String(), "--tag", tag)
	case "regctl":
		cmd = exec.Command(t.regctl, "image", "copy", from, to)
	case "crane":
		cmd = exec.Command(t.crane, "copy", "--insecure", from, to)
	}
	cmd.Env = append(os.Environ(), "HOME="+w.home, "DOCKER_CONFIG="+filepath.Join(w.home, ".docker"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	for _, p := range w.proxies {
		p.Reset()
	}
	if w.tokens != nil {
		w.tokens.Reset()
	}
	began := time.Now()
	if err := cmd.Run(); err != nil {
		log.Fatalf("%s %s: %v\n%s", tool, strings.Join(cmd.Args[1:], " "), err, stderr.String())
	}
	m := measurement{elapsed: time.Since(began)}
	var parts []string
	for _, p := range w.proxies {
		m.requests += p.Count()
		if s := p.Summary(); s != "" {
			parts = append(parts, s)
		}
	}
	m.detail = strings.Join(parts, " / ")
	if w.tokens != nil {
		m.tokens = len(w.tokens.Requests())
	}
	return m
}

type measurement struct {
	requests, tokens int
	elapsed          time.Duration
	detail           string
}

// scenario is one row of issue 15's table.
type scenario struct {
	name    string
	minimum string
	// setup seeds the world for tool (repositories are per tool, so no tool finds another's
	// work) and returns what to copy where.
	setup func(w *world, tool string) (src registry.Repository, digest v1.Hash, dst registry.Repository)
}

func scenarios() []scenario {
	image := func(w *world, tool, path string) v1.Hash {
		return testimage.Image(w.t, w.servers[0].Repo(tool+"/"+path+":build"), 8, w.remoteOpts()...)
	}
	index := func(w *world, tool, path string) v1.Hash {
		return testimage.Index(w.t, w.servers[0].Repo(tool+"/"+path+":build"), 3, 8, w.remoteOpts()...)
	}
	return []scenario{
		{"9-blob image → new repository, same registry", "11", func(w *world, tool string) (registry.Repository, v1.Hash, registry.Repository) {
			return w.repo(0, tool+"/staging/app"), image(w, tool, "staging/app"), w.repo(0, tool+"/prod/app")
		}},
		{"destination already holds the digest", "2", func(w *world, tool string) (registry.Repository, v1.Hash, registry.Repository) {
			d := image(w, tool, "staging/held")
			w.prepare(0, tool+"/staging/held", d, 0, tool+"/prod/held")
			return w.repo(0, tool+"/staging/held"), d, w.repo(0, tool+"/prod/held")
		}},
		{"next build (7 of 9 blobs shared)", "11 (5 manifest first)", func(w *world, tool string) (registry.Repository, v1.Hash, registry.Repository) {
			base := image(w, tool, "staging/next")
			w.prepare(0, tool+"/staging/next", base, 0, tool+"/prod/next")
			next := nextBuild(w, w.servers[0].Repo(tool+"/staging/next"), base)
			return w.repo(0, tool+"/staging/next"), next, w.repo(0, tool+"/prod/next")
		}},
		{"3-platform index → new repository", "35", func(w *world, tool string) (registry.Repository, v1.Hash, registry.Repository) {
			return w.repo(0, tool+"/staging/multi"), index(w, tool, "staging/multi"), w.repo(0, tool+"/prod/multi")
		}},
		{"index already in the destination", "2", func(w *world, tool string) (registry.Repository, v1.Hash, registry.Repository) {
			d := index(w, tool, "staging/mheld")
			w.prepare(0, tool+"/staging/mheld", d, 0, tool+"/prod/mheld")
			return w.repo(0, tool+"/staging/mheld"), d, w.repo(0, tool+"/prod/mheld")
		}},
		{"add a tag to an index, same repository", "2", func(w *world, tool string) (registry.Repository, v1.Hash, registry.Repository) {
			d := index(w, tool, "staging/mtag")
			return w.repo(0, tool+"/staging/mtag"), d, w.repo(0, tool+"/staging/mtag")
		}},
		{"9-blob image → another registry", "29", func(w *world, tool string) (registry.Repository, v1.Hash, registry.Repository) {
			return w.repo(0, tool+"/staging/far"), image(w, tool, "staging/far"), w.repo(1, tool+"/prod/far")
		}},
		{"3-platform index → another registry", "89", func(w *world, tool string) (registry.Repository, v1.Hash, registry.Repository) {
			return w.repo(0, tool+"/staging/mfar"), index(w, tool, "staging/mfar"), w.repo(1, tool+"/prod/mfar")
		}},
	}
}

// nextBuild pushes an image sharing 7 of base's 9 blobs (all layers but the last; a new config).
func nextBuild(w *world, repo string, base v1.Hash) v1.Hash {
	img, err := remote.Image(mustRef(repo+"@"+base.String()), w.remoteOpts()...)
	must(err)
	layers, err := img.Layers()
	must(err)
	fresh, err := random.Layer(256, types.DockerLayer)
	must(err)
	next, err := mutate.AppendLayers(empty.Image, append(layers[:len(layers)-1], fresh)...)
	must(err)
	return testimage.Write(w.t, repo+":next", next, w.remoteOpts()...)
}

// runCLIScenarios measures every scenario with every tool on one registry kind.
func runCLIScenarios(report *strings.Builder, t tools, k kind) {
	w := startWorld(k, "")
	defer w.close()
	fmt.Fprintf(report, "## %s\n\n", k.label)
	tokenCols := ""
	if k.auth == "token" {
		tokenCols = " shipgate tokens | regctl tokens | crane tokens |"
	}
	fmt.Fprintf(report, "| scenario | minimum | shipgate | regctl | crane |%s\n", tokenCols)
	fmt.Fprintf(report, "|---|---:|---:|---:|---:|%s\n", strings.Repeat("---:|", strings.Count(tokenCols, "|")))
	var details, behind []string
	for _, sc := range scenarios() {
		results := map[string]measurement{}
		for _, tool := range toolNames {
			src, digest, dst := sc.setup(w, tool)
			results[tool] = w.run(t, tool, src, digest, dst, "v1-"+tool)
		}
		fmt.Fprintf(report, "| %s | %s | %d | %d | %d |", sc.name, sc.minimum,
			results["shipgate"].requests, results["regctl"].requests, results["crane"].requests)
		if k.auth == "token" {
			fmt.Fprintf(report, " %d | %d | %d |", results["shipgate"].tokens, results["regctl"].tokens, results["crane"].tokens)
		}
		fmt.Fprintln(report)
		details = append(details, fmt.Sprintf("- %s, shipgate: %s", sc.name, results["shipgate"].detail))
		if results["shipgate"].requests > results["regctl"].requests {
			behind = append(behind, sc.name)
		}
	}
	fmt.Fprintf(report, "\n%s\n", verdict("more requests than regctl", behind))
	fmt.Fprintf(report, "\nshipgate's requests by kind (source / destination):\n\n%s\n\n", strings.Join(details, "\n"))
}

// runWallTime copies images to another registry, runs times per tool, each into a fresh
// repository, and reports each tool's minimum and median: the cross-registry scenarios of the
// count tables and images of 2 layers of each size in MiB. The tools take turns within a round
// and the round's first tool rotates (shipgate, regctl, crane; then regctl, crane, shipgate; ...),
// so neither a load spike on the shared machine nor the work a registry still does after the
// previous copy (the filesystem driver's writes, its upload purger) falls on one tool more than
// on another.
func runWallTime(report *strings.Builder, t tools, sizes []int, runs int) {
	dir, err := os.MkdirTemp("", "shipgate-bench-storage-")
	must(err)
	defer os.RemoveAll(dir)
	w := startWorld(kind{label: "distribution v3.1.2, anonymous, filesystem storage"}, dir)
	defer w.close()
	type wallCase struct {
		label string
		push  func(ref string) v1.Hash
	}
	cases := []wallCase{
		{"9-blob image (small layers)", func(ref string) v1.Hash { return testimage.Image(w.t, ref, 8, w.remoteOpts()...) }},
		{"3-platform index (27 small blobs)", func(ref string) v1.Hash { return testimage.Index(w.t, ref, 3, 8, w.remoteOpts()...) }},
	}
	for _, size := range sizes {
		cases = append(cases, wallCase{fmt.Sprintf("image of 2 × %d MiB layers", size), func(ref string) v1.Hash {
			img, err := random.Image(int64(size)<<20, 2)
			must(err)
			return testimage.Write(w.t, ref, img, w.remoteOpts()...)
		}})
	}
	bigRuns := min(runs, bigLayerRuns)
	fmt.Fprintf(report, "## Cross-registry wall time\n\n")
	fmt.Fprintf(report, "Copies to another registry (distribution v3.1.2, filesystem storage, anonymous), each tool's\n")
	fmt.Fprintf(report, "command line as users run it (shipgate with referrer discovery and progress), into a fresh\n")
	fmt.Fprintf(report, "repository each run: %d runs per tool (%d for 100 MiB layers), the tools taking turns and the\n", runs, bigRuns)
	fmt.Fprintf(report, "first of each round rotating, so that load on the shared machine falls on all three alike.\n")
	fmt.Fprintf(report, "Each cell is the median, then the fastest run, in milliseconds.\n\n")
	fmt.Fprintf(report, "| copy | shipgate ms | regctl ms | crane ms | shipgate requests | regctl requests | crane requests |\n|---|---:|---:|---:|---:|---:|---:|\n")
	var slower []string
	for c, wc := range cases {
		path := fmt.Sprintf("wall/%d", c)
		digest := wc.push(w.servers[0].Repo(path + ":build"))
		times := map[string][]time.Duration{}
		requests := map[string]int{}
		n := runs
		if strings.Contains(wc.label, "100 MiB") {
			n = bigRuns // each run moves 200 MiB through both proxies
		}
		for r := 0; r < n; r++ {
			for _, tool := range rotate(toolNames, r) {
				m := w.run(t, tool, w.repo(0, path), digest, w.repo(1, fmt.Sprintf("%s/wall%d/run%d", tool, c, r)), "v1")
				times[tool] = append(times[tool], m.elapsed)
				requests[tool] = m.requests
			}
		}
		fmt.Fprintf(report, "| %s | %s | %s | %s | %d | %d | %d |\n", wc.label,
			medianMin(times["shipgate"]), medianMin(times["regctl"]), medianMin(times["crane"]),
			requests["shipgate"], requests["regctl"], requests["crane"])
		if median(times["shipgate"]) > median(times["crane"]) {
			slower = append(slower, wc.label)
		}
	}
	fmt.Fprintf(report, "\n%s\n\n", verdict("a slower median than crane", slower))
}

// verdict says, under a table, in which rows shipgate did worse, or that it did in none.
func verdict(what string, rows []string) string {
	if len(rows) == 0 {
		return fmt.Sprintf("shipgate had %s in no row of this run.", what)
	}
	return fmt.Sprintf("shipgate had %s in: %s.", what, strings.Join(rows, "; "))
}

// median is the middle run (of an odd count; the upper middle of an even one).
func median(ds []time.Duration) time.Duration {
	sorted := append([]time.Duration(nil), ds...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	return sorted[len(sorted)/2]
}

// bigLayerRuns bounds the runs of the 100 MiB copy (each moves 200 MiB through both proxies).
const bigLayerRuns = 15

// rotate returns names starting at the (round mod len)-th.
func rotate(names []string, round int) []string {
	k := round % len(names)
	return append(append([]string(nil), names[k:]...), names[:k]...)
}

// medianMin formats a tool's runs as "median (min)" in milliseconds.
func medianMin(ds []time.Duration) string {
	fastest := slices.Min(ds)
	return fmt.Sprintf("%d (%d)", median(ds).Milliseconds(), fastest.Milliseconds())
}

func mustRef(s string) name.Reference {
	r, err := name.ParseReference(s, name.WeakValidation)
	must(err)
	return r
}
