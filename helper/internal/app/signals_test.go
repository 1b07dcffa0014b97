package app

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/shipgate/shipgate/helper/internal/testpeer/oidcissuer"
	"github.com/shipgate/shipgate/helper/internal/testpeer/registryserver"
	"github.com/shipgate/shipgate/helper/internal/testpeer/testimage"
)

// stallingProxy forwards to a real registry but never answers the requests stall selects: it
// holds them until the client goes away (a registry that accepts and then goes silent).
func stallingProxy(t *testing.T, reg *registryserver.Server, stall func(*http.Request) bool) (host string, stalled *atomic.Int32) {
	t.Helper()
	target, _ := url.Parse(reg.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	stalled = &atomic.Int32{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if stall(r) {
			stalled.Add(1)
			// Read the body first: only then does the server notice the client going away.
			_, _ = io.Copy(io.Discard, r.Body)
			<-r.Context().Done()
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), stalled
}

// TestSignalsStopEveryCommandPromptly (issue 14 class 6): the real binary, a real signal, a
// registry (or service) that stalls. Each command ends within 2 s of SIGTERM or SIGINT with
// exit 128+signal, writes no tag to the destination, no export file and no temporary file.
func TestSignalsStopEveryCommandPromptly(t *testing.T) {
	t.Parallel()
	bin := shipgateBinary(t)
	src := registryserver.StartT(t, registryserver.Options{})
	dst := registryserver.StartT(t, registryserver.Options{})
	digest := testimage.Image(t, src.Repo("app:v1"), 3).String()
	host, stalled := stallingProxy(t, src, func(r *http.Request) bool {
		return r.Method == http.MethodGet && (strings.Contains(r.URL.Path, "/blobs/") || strings.Contains(r.URL.Path, "/tags/list"))
	})
	// A registry that answers nothing at all (every request held).
	silent, silentCount := stallingProxy(t, src, func(*http.Request) bool { return true })
	service := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
	}))
	t.Cleanup(service.Close)

	// An STS that accepts and never answers, and a well-formed token for it.
	aws := newAWSEnv(t)
	token := aws.mint(t, oidcissuer.Token{})
	cases := []struct {
		name string
		args []string
		sig  syscall.Signal
	}{
		{"aws assume-role/SIGTERM", []string{"aws", "assume-role", "--role-arn", testRole, "--region", "eu-west-1", "--sts-endpoint", service.URL, "--export-to", "EXPORT"}, syscall.SIGTERM},
		// The reported case: promote stuck copying from a silent registry.
		{"promote/SIGTERM", []string{"promote", "--from", host + "/app@" + digest, "--to", dst.Repo("prod"), "--tag", "v1", "--export-to", "EXPORT"}, syscall.SIGTERM},
		{"promote/SIGINT", []string{"promote", "--from", host + "/app@" + digest, "--to", dst.Repo("prod"), "--tag", "v1", "--export-to", "EXPORT"}, syscall.SIGINT},
		{"releases/SIGTERM", []string{"releases", "--repo", host + "/app", "--env", "prod"}, syscall.SIGTERM},
		{"rollback/SIGINT", []string{"rollback", "--repo", host + "/app", "--env", "prod", "--out", "OUT", "--export-to", "EXPORT"}, syscall.SIGINT},
		{"record-artifact/SIGTERM", []string{"record-artifact", "--image", silent + "/app:v1", "--out", "OUT", "--export-to", "EXPORT"}, syscall.SIGTERM},
		{"mark-good/SIGINT", []string{"mark-good", "--image", silent + "/app@" + digest, "--env", "prod"}, syscall.SIGINT},
		{"find/SIGTERM", []string{"find", "--repo", silent + "/app", "--env", "prod", "--commit", strings.Repeat("a", 40), "--export-to", "EXPORT"}, syscall.SIGTERM},
		{"smoke-test/SIGTERM", []string{"smoke-test", "--url", service.URL, "--no-expect-version", "--junit", "OUT"}, syscall.SIGTERM},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			args := make([]string, len(tc.args))
			for i, a := range tc.args {
				switch a {
				case "EXPORT":
					a = filepath.Join(dir, "bash_env")
				case "OUT":
					a = filepath.Join(dir, "out.file")
				}
				args[i] = a
			}
			var stderr bytes.Buffer
			cmd := exec.Command(bin, args...)
			cmd.Dir = dir
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "DOCKER_CONFIG=" + dir, "CIRCLE_OIDC_TOKEN_V2=" + token}
			cmd.Stderr = &stderr
			counter := stalled
			if strings.Contains(strings.Join(args, " "), silent) {
				counter = silentCount
			}
			before := counter.Load()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// Wait until the command is stuck on the silent peer (or give it a moment).
			deadline := time.Now().Add(10 * time.Second)
			for counter.Load() == before && time.Now().Before(deadline) && !strings.HasPrefix(tc.name, "smoke-test") && !strings.HasPrefix(tc.name, "aws") {
				time.Sleep(20 * time.Millisecond)
			}
			time.Sleep(300 * time.Millisecond)
			sent := time.Now()
			if err := cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			err := cmd.Wait()
			took := time.Since(sent)
			code := cmd.ProcessState.ExitCode()
			if took > 2*time.Second {
				t.Errorf("stopped %s after the signal, want within 2s", took)
			}
			if want := 128 + int(tc.sig); code != want {
				t.Errorf("exit %d (%v), want %d; stderr %q", code, err, want, stderr.String())
			}
			if !strings.Contains(stderr.String(), "interrupted by "+signalName(tc.sig)) {
				t.Errorf("stderr does not say it was interrupted: %q", stderr.String())
			}
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				t.Errorf("left %s in the working folder", e.Name())
			}
			tags := registryTagsOf(t, dst, "prod")
			if tags != "" {
				t.Errorf("the destination has tags after an interrupted promote: %s", tags)
			}
		})
	}
}

// registryTagsOf lists the tags of repo in reg, or "".
func registryTagsOf(t *testing.T, reg *registryserver.Server, repo string) string {
	t.Helper()
	resp, err := http.Get(reg.URL + "/v2/" + repo + "/tags/list")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return ""
	}
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	if strings.Contains(b.String(), `"tags":null`) || strings.Contains(b.String(), `"tags":[]`) {
		return ""
	}
	return b.String()
}
