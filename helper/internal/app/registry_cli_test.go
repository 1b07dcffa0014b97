package app

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/shipgate/shipgate/helper/internal/testpeer/canary"
	"github.com/shipgate/shipgate/helper/internal/testpeer/registryserver"
	"github.com/shipgate/shipgate/helper/internal/testpeer/testimage"
)

// pipelineEnv is the CircleCI context of a build job.
func pipelineEnv(commit string) map[string]string {
	return map[string]string{
		"CIRCLE_SHA1": commit, "CIRCLE_BRANCH": "main", "SHIPGATE_PIPELINE_NUMBER": "42",
		"CIRCLE_PIPELINE_ID": "pipe-1", "CIRCLE_WORKFLOW_ID": "wf-1", "CIRCLE_JOB": "build",
		"CIRCLE_BUILD_URL": "https://circleci.com/gh/acme/app/1",
	}
}

func mustCode(t *testing.T, r cliResult, want int) {
	t.Helper()
	if r.code != want {
		t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, want, r.stdout, r.stderr)
	}
	if want != 0 {
		errLines := 0
		for _, line := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
			if strings.HasPrefix(line, "shipgate: error:") {
				errLines++
			}
		}
		if errLines != 1 {
			t.Fatalf("want exactly one error line, got stderr %q", r.stderr)
		}
	}
}

func TestRegistryCommandsEndToEnd(t *testing.T) {
	t.Parallel()
	reg := registryserver.StartT(t, registryserver.Options{})
	dir := t.TempDir()
	releaseFile := filepath.Join(dir, "release.json")
	exportFile := filepath.Join(dir, "bash_env")
	commitA := strings.Repeat("a", 40)
	commitB := strings.Repeat("b", 40)
	staging, production := reg.Repo("staging/app"), reg.Repo("production/app")

	// Build A: record, promote to production, deploy, mark good.
	testimage.Image(t, staging+":build-a", 3)
	r := runCLI(t, pipelineEnv(commitA), "record-artifact", "--image", staging+":build-a", "--out", releaseFile)
	mustCode(t, r, 0)
	digestA := strings.TrimPrefix(strings.TrimSpace(r.stdout), staging+"@")
	r = runCLI(t, nil, "promote", "--release", releaseFile, "--to", production, "--env", "production", "--export-to", exportFile, "--output", "json")
	mustCode(t, r, 0)
	var promoted struct {
		Digest       string
		Destinations []struct{ Image string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &promoted); err != nil || promoted.Digest != digestA {
		t.Fatalf("promote json: %v %s", err, r.stdout)
	}
	exported, _ := os.ReadFile(exportFile)
	if !strings.Contains(string(exported), "export SHIPGATE_IMAGE='"+production+"@"+digestA+"'") ||
		!strings.Contains(string(exported), "export SHIPGATE_VERSION='"+commitA+"'") {
		t.Fatalf("export file: %s", exported)
	}
	imageA := production + "@" + digestA
	for _, args := range [][]string{
		{"mark-deployed", "--status", "deploying", "--image", imageA, "--env", "production", "--release", releaseFile},
		{"mark-deployed", "--image", imageA, "--env", "production", "--release", releaseFile},
		{"mark-good", "--image", imageA, "--env", "production", "--release", releaseFile, "--reason", "smoke passed"},
	} {
		mustCode(t, runCLI(t, pipelineEnv(commitA), args...), 0)
	}

	// Build B: mark-* takes the image, version and release from the exported names (the documented
	// hand-over); the environment comes from SHIPGATE_FLAG_ENV, a flag input.
	testimage.Image(t, staging+":build-b", 3)
	mustCode(t, runCLI(t, pipelineEnv(commitB), "record-artifact", "--image", staging+":build-b", "--out", releaseFile), 0)
	os.Remove(exportFile)
	mustCode(t, runCLI(t, nil, "promote", "--release", releaseFile, "--to", production, "--export-to", exportFile), 0)
	env := map[string]string{"SHIPGATE_FLAG_ENV": "production"}
	for _, line := range strings.Split(strings.TrimSpace(readFile(t, exportFile)), "\n") {
		kv := strings.SplitN(strings.TrimPrefix(line, "export "), "=", 2)
		env[kv[0]] = strings.Trim(kv[1], "'")
	}
	mustCode(t, runCLI(t, env, "mark-deployed", "--status", "deploying", "--release", releaseFile), 0)
	mustCode(t, runCLI(t, env, "mark-deployed", "--release", releaseFile), 0)
	// B fails its smoke test.
	mustCode(t, runCLI(t, env, "mark-bad", "--release", releaseFile, "--reason", "smoke test failed"), 0)

	// Rollback picks A, even with SHIPGATE_DIGEST (B) in the environment.
	os.Remove(exportFile)
	r = runCLI(t, env, "rollback", "--repo", env["SHIPGATE_REPOSITORY"], "--export-to", exportFile, "--out", filepath.Join(dir, "rollback.json"))
	mustCode(t, r, 0)
	if got := strings.TrimSpace(r.stdout); got != imageA {
		t.Fatalf("rollback target %q, want %q", got, imageA)
	}
	exported, _ = os.ReadFile(exportFile)
	if !strings.Contains(string(exported), "SHIPGATE_ROLLBACK_FROM='"+env["SHIPGATE_DIGEST"]+"'") || !strings.Contains(string(exported), "SHIPGATE_VERSION='"+commitA+"'") {
		t.Fatalf("rollback exports: %s", exported)
	}

	// B cannot be promoted to production again.
	r = runCLI(t, nil, "promote", "--from", staging+"@"+env["SHIPGATE_DIGEST"], "--to", production, "--env", "production")
	mustCode(t, r, 5)

	// find: the digest that was good in production for commit A.
	r = runCLI(t, nil, "find", "--repo", production, "--env", "production", "--commit", commitA)
	mustCode(t, r, 0)
	if strings.TrimSpace(r.stdout) != imageA {
		t.Fatalf("find: %q", r.stdout)
	}

	r = runCLI(t, nil, "releases", "--repo", production, "--env", "production", "--output", "json")
	mustCode(t, r, 0)
	var history struct {
		Current          string
		CurrentMarkedBad bool
		Entries          []releaseView
	}
	if err := json.Unmarshal([]byte(r.stdout), &history); err != nil {
		t.Fatal(err)
	}
	if len(history.Entries) != 6 || history.Entries[0].Status != "bad" || history.Current != production+"@"+env["SHIPGATE_DIGEST"] || !history.CurrentMarkedBad {
		t.Fatalf("releases: %s", r.stdout)
	}
	if history.Entries[3].Reason != "smoke passed" || history.Entries[3].PipelineNumber != "42" {
		t.Fatalf("record fields missing: %+v", history.Entries[3])
	}
	r = runCLI(t, nil, "releases", "--repo", production, "--env", "production")
	mustCode(t, r, 0)
	// The current digest was marked bad above: releases says so (issue 18 point 10).
	if !strings.Contains(r.stdout, "(current, marked bad)") || !strings.Contains(r.stdout, "current: "+production+"@"+env["SHIPGATE_DIGEST"]+" (marked bad)") {
		t.Fatalf("text releases: %s", r.stdout)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRegistryCommandsBadInput(t *testing.T) {
	t.Parallel()
	reg := registryserver.StartT(t, registryserver.Options{})
	authed := registryserver.StartT(t, registryserver.Options{Users: map[string]string{"ci": canary.RegistryPassword}})
	digest := testimage.Image(t, reg.Repo("app:v1"), 1)
	missing := "sha256:" + strings.Repeat("0", 64)
	down := "127.0.0.1:1/app"
	cases := []struct {
		name string
		args []string
		code int
	}{
		{"malformed reference", []string{"promote", "--from", "UPPER/Case@@x", "--to", reg.Repo("prod")}, 2},
		{"bad digest", []string{"promote", "--from", reg.Repo("app") + "@sha256:xyz", "--to", reg.Repo("prod")}, 2},
		{"no destination", []string{"promote", "--from", reg.Repo("app") + "@" + digest.String()}, 2},
		{"destination with tag", []string{"promote", "--from", reg.Repo("app") + "@" + digest.String(), "--to", reg.Repo("prod:v1")}, 2},
		{"tag-only source", []string{"promote", "--from", reg.Repo("app:v1"), "--to", reg.Repo("prod")}, 5},
		{"unknown digest", []string{"promote", "--from", reg.Repo("app") + "@" + missing, "--to", reg.Repo("prod")}, 4},
		{"bad environment", []string{"mark-good", "--image", reg.Repo("app") + "@" + digest.String(), "--env", "Prod"}, 2},
		{"mark a tag", []string{"mark-good", "--image", reg.Repo("app:v1"), "--env", "prod"}, 5},
		{"mark unknown digest", []string{"mark-good", "--image", reg.Repo("app") + "@" + missing, "--env", "prod"}, 4},
		{"registry down", []string{"promote", "--from", down + "@" + digest.String(), "--to", reg.Repo("prod")}, 7},
		{"unauthorised", []string{"promote", "--from", authed.Repo("app") + "@" + digest.String(), "--to", authed.Repo("prod")}, 3},
		{"no rollback target", []string{"rollback", "--repo", reg.Repo("app"), "--env", "prod"}, 4},
		{"bad steps", []string{"rollback", "--repo", reg.Repo("app"), "--env", "prod", "--steps", "0"}, 2},
		{"bad output", []string{"releases", "--repo", reg.Repo("app"), "--env", "prod", "--output", "xml"}, 2},
		{"find needs one of commit/tree", []string{"find", "--repo", reg.Repo("app"), "--env", "prod"}, 2},
		{"missing release file", []string{"promote", "--release", "/nonexistent/release.json", "--to", reg.Repo("prod")}, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, map[string]string{"DOCKER_CONFIG": t.TempDir()}, tc.args...)
			mustCode(t, r, tc.code)
			if strings.Contains(r.stderr+r.stdout, canary.RegistryPassword) {
				t.Fatal("password leaked")
			}
		})
	}
}

// TestFailedPromotionLeavesNoTag makes the destination refuse one blob mount and then the
// manifest: no tag may point at the incomplete image, and a re-run completes it.
func TestFailedPromotionLeavesNoTag(t *testing.T) {
	t.Parallel()
	reg := registryserver.StartT(t, registryserver.Options{})
	target, _ := url.Parse(reg.URL)
	var failMounts, rejectManifest atomic.Bool
	failMounts.Store(true)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failMounts.Load() && r.Method == http.MethodPost && strings.Contains(r.URL.Path, "/prod/") {
			http.Error(w, `{"errors":[{"code":"UNKNOWN","message":"injected"}]}`, http.StatusInternalServerError)
			return
		}
		if rejectManifest.Load() && r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/prod/manifests/") {
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"errors":[{"code":"MANIFEST_INVALID","message":"manifest invalid"}]}`))
			return
		}
		httputil.NewSingleHostReverseProxy(target).ServeHTTP(w, r)
	}))
	defer proxy.Close()
	host := strings.TrimPrefix(proxy.URL, "http://")
	digest := testimage.Image(t, reg.Repo("app:v1"), 3)
	args := []string{"promote", "--from", host + "/app@" + digest.String(), "--to", host + "/prod", "--tag", "release"}

	mustCode(t, runCLI(t, nil, args...), 7)
	assertNoImage(t, reg, digest)
	failMounts.Store(false)
	rejectManifest.Store(true)
	mustCode(t, runCLI(t, nil, args...), 5)
	assertNoImage(t, reg, digest)

	rejectManifest.Store(false)
	mustCode(t, runCLI(t, nil, args...), 0)
	if got, ok := testimage.Digest(t, reg.Repo("prod:release")); !ok || got != digest {
		t.Fatalf("after the re-run: %v %v", got, ok)
	}
}

func assertNoImage(t *testing.T, reg *registryserver.Server, digest v1.Hash) {
	t.Helper()
	if _, ok := testimage.Digest(t, reg.Repo("prod:release")); ok {
		t.Fatal("a destination tag exists after a failed promotion")
	}
	if _, ok := testimage.Digest(t, reg.Repo("prod@"+digest.String())); ok {
		t.Fatal("the destination manifest exists after a failed promotion")
	}
}

// TestTamperedManifestIsRefused serves the source manifest with one byte changed: the digest
// no longer matches what was asked for, and nothing is written.
func TestTamperedManifestIsRefused(t *testing.T) {
	t.Parallel()
	reg := registryserver.StartT(t, registryserver.Options{})
	target, _ := url.Parse(reg.URL)
	reverse := httputil.NewSingleHostReverseProxy(target)
	reverse.ModifyResponse = func(resp *http.Response) error {
		if resp.Request.Method != http.MethodGet || !strings.Contains(resp.Request.URL.Path, "/app/manifests/") {
			return nil
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		resp.Body.Close()
		tampered := strings.Replace(string(body), `"size":`, `"size": `, 1)
		resp.Body = io.NopCloser(strings.NewReader(tampered))
		resp.ContentLength = int64(len(tampered))
		resp.Header.Set("Content-Length", strconv.Itoa(len(tampered)))
		return nil
	}
	proxy := httptest.NewServer(reverse)
	defer proxy.Close()
	host := strings.TrimPrefix(proxy.URL, "http://")
	digest := testimage.Image(t, reg.Repo("app:v1"), 2)
	r := runCLI(t, nil, "promote", "--from", host+"/app@"+digest.String(), "--to", host+"/prod", "--tag", "release")
	mustCode(t, r, 5)
	if !strings.Contains(r.stderr, "digest mismatch") {
		t.Fatalf("stderr does not name the mismatch: %s", r.stderr)
	}
	assertNoImage(t, reg, digest)
}

// TestForbiddenIsRefused: a registry answering 403 (a quota breach on Harbor, a missing
// permission on ECR) is an authorisation refusal, exit 3.
func TestForbiddenIsRefused(t *testing.T) {
	t.Parallel()
	forbidden := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte(`{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}`))
	}))
	defer forbidden.Close()
	host := strings.TrimPrefix(forbidden.URL, "http://")
	r := runCLI(t, nil, "promote", "--from", host+"/app@sha256:"+strings.Repeat("a", 64), "--to", host+"/prod")
	mustCode(t, r, 3)
	if !strings.Contains(r.stderr, "403") {
		t.Fatalf("stderr: %s", r.stderr)
	}
}

// A bad --export-to is bad usage, refused before the promotion copies anything (exit 2 means
// nothing was attempted).
func TestBadExportToRefusedBeforeCopying(t *testing.T) {
	t.Parallel()
	reg := registryserver.StartT(t, registryserver.Options{})
	digest := testimage.Image(t, reg.Repo("app:v1"), 1)
	dir := t.TempDir()
	link := filepath.Join(dir, "bash_env")
	if err := os.Symlink(filepath.Join(dir, "elsewhere"), link); err != nil {
		t.Fatal(err)
	}
	for _, exportTo := range []string{link, filepath.Join(dir, "missing", "bash_env")} {
		r := runCLI(t, nil, "promote", "--from", reg.Repo("app")+"@"+digest.String(), "--to", reg.Repo("prod"), "--export-to", exportTo)
		mustCode(t, r, 2)
		if _, ok := testimage.Digest(t, reg.Repo("prod@"+digest.String())); ok {
			t.Fatalf("--export-to %s: the image was copied before the bad flag was refused", exportTo)
		}
	}
}

// An exported SHIPGATE_RELEASE yields to an explicit --from or --image given on the command line.
func TestExportedReleaseYieldsToExplicitFlags(t *testing.T) {
	t.Parallel()
	reg := registryserver.StartT(t, registryserver.Options{})
	dir := t.TempDir()
	releaseFile := filepath.Join(dir, "release.json")
	testimage.Image(t, reg.Repo("app:a"), 1)
	mustCode(t, runCLI(t, pipelineEnv(strings.Repeat("a", 40)), "record-artifact", "--image", reg.Repo("app:a"), "--out", releaseFile), 0)
	other := testimage.Image(t, reg.Repo("app:b"), 1)
	env := map[string]string{"SHIPGATE_RELEASE": releaseFile}
	mustCode(t, runCLI(t, env, "promote", "--from", reg.Repo("app")+"@"+other.String(), "--to", reg.Repo("dr")), 0)
	mustCode(t, runCLI(t, env, "mark-good", "--image", reg.Repo("app")+"@"+other.String(), "--env", "staging"), 0)
}
