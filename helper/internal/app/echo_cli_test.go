package app

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shipgate/shipgate/helper/internal/testpeer/canary"
)

// TestRegistryEchoingTheCredentialLeaksNothing (issue 14 class 1, through the CLI): a registry
// whose refusals repeat the Authorization it received, decoded and in the clear, as some
// proxies do. Every registry command that meets it exits 3 and prints none of the credential's
// forms on stdout or stderr. The password is the canary the secret scan looks for, and the
// commands' output goes to the test log, so the scan (.ci/secret-scan over `make test`'s log) judges
// it a second time, independently of the checks below.
func TestRegistryEchoingTheCredentialLeaksNothing(t *testing.T) {
	const user, password = "deployer", canary.RegistryPassword
	basic := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	reg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := r.Header.Get("Authorization")
		if got == "" {
			w.Header().Set("WWW-Authenticate", `Basic realm="echo"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		decoded, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(got, "Basic "))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]string{{"code": "DENIED",
			"message": "credentials " + got + " (" + string(decoded) + ") may not " + r.Method + " " + r.URL.Path}}})
	}))
	defer reg.Close()
	host := strings.TrimPrefix(reg.URL, "http://")
	dir := t.TempDir()
	config, _ := json.Marshal(map[string]any{"auths": map[string]any{host: map[string]string{"auth": basic}}})
	if err := os.WriteFile(filepath.Join(dir, "config.json"), config, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", dir)
	digest := "sha256:" + strings.Repeat("ab", 32)
	for _, args := range [][]string{
		{"promote", "--from", host + "/app@" + digest, "--to", host + "/prod"},
		{"releases", "--repo", host + "/app", "--env", "production"},
		{"mark-good", "--image", host + "/app@" + digest, "--env", "production"},
		{"record-artifact", "--image", host + "/app:v1", "--out", filepath.Join(dir, "release.json")},
	} {
		r := runCLI(t, nil, args...)
		if r.code != 3 {
			t.Errorf("%s: exit %d, want 3: %s", args[0], r.code, r.stderr)
		}
		t.Logf("%s: exit %d\nstdout: %s\nstderr: %s", args[0], r.code, r.stdout, r.stderr)
		for _, secret := range []string{password, basic, base64.StdEncoding.EncodeToString([]byte(password))} {
			if strings.Contains(r.stdout+r.stderr, secret) {
				t.Errorf("%s printed %q:\n%s%s", args[0], secret, r.stdout, r.stderr)
			}
		}
		if !strings.Contains(r.stderr, "DENIED") {
			t.Errorf("%s: the registry's refusal is not named: %s", args[0], r.stderr)
		}
	}
}
