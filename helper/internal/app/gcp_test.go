package app

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"golang.org/x/oauth2/google"

	"github.com/shipgate/shipgate/helper/internal/gcpauth"
	"github.com/shipgate/shipgate/helper/internal/testpeer/oidcissuer"
	"github.com/shipgate/shipgate/helper/internal/testpeer/wifemulator"
)

const (
	gcpOrg     = "0b5e5d2a-3c1f-4e8a-9d2b-7f6e5d4c3b2a"
	gcpProject = "5a301f56-eaa7-4cce-9441-37810f7c8452"
	gcpUser    = "9c8b7a6f-5e4d-4c3b-8a29-1f0e9d8c7b6a"
	gcpNumber  = "123456789012"
	gcpSA      = "deployer@acme-prod.iam.gserviceaccount.com"
	gcpOtherSA = "other@acme-prod.iam.gserviceaccount.com"
)

func gcpProviderName(id string) string {
	return "projects/" + gcpNumber + "/locations/global/workloadIdentityPools/circleci/providers/" + id
}

var (
	shipgateBinaryOnce sync.Once
	shipgateBinaryPath string
	shipgateBinaryErr  error
)

// shipgateBinary builds the real shipgate binary once per test run: Google's library runs it as
// the executable credential source, so it must be a program on disk.
func shipgateBinary(t *testing.T) string {
	t.Helper()
	shipgateBinaryOnce.Do(func() {
		dir, err := os.MkdirTemp("", "shipgate-gcp-test-")
		if err != nil {
			shipgateBinaryErr = err
			return
		}
		shipgateBinaryPath = filepath.Join(dir, "shipgate")
		out, err := exec.Command("go", "build", "-o", shipgateBinaryPath, "github.com/shipgate/shipgate/helper/cmd/shipgate").CombinedOutput()
		if err != nil {
			shipgateBinaryErr = fmt.Errorf("go build: %v: %s", err, out)
		}
	})
	if shipgateBinaryErr != nil {
		t.Fatal(shipgateBinaryErr)
	}
	return shipgateBinaryPath
}

// gcpEnv is a CircleCI job talking to a local Google: an OIDC issuer, STS and IAM Credentials
// emulators, a fake circleci CLI that hands out pre-minted tokens, and the real shipgate binary.
type gcpEnv struct {
	dir, mintDir, bin string
	issuer            *oidcissuer.Issuer
	emu               *wifemulator.Emulator
	minted            []string
	injected          string
	deps              deps
}

// run runs the CLI in-process with the environment's dependencies.
func (e *gcpEnv) run(t testing.TB, environment map[string]string, args ...string) cliResult {
	t.Helper()
	return runCLIWith(t, e.deps, environment, args...)
}

func newGCPEnv(t *testing.T) *gcpEnv {
	t.Helper()
	e := &gcpEnv{dir: t.TempDir(), mintDir: t.TempDir()}
	var err error
	if e.issuer, err = oidcissuer.New(gcpOrg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.issuer.Close)
	e.emu = wifemulator.New()
	t.Cleanup(e.emu.Close)
	for _, p := range []wifemulator.Provider{
		{Audience: "//iam.googleapis.com/" + gcpProviderName("circleci"), IssuerURL: e.issuer.URL, AllowedAudiences: []string{gcpOrg}, AllowedProjects: []string{gcpProject}},
		{Audience: "//iam.googleapis.com/" + gcpProviderName("wrong-aud"), IssuerURL: e.issuer.URL, AllowedAudiences: []string{"someone-else"}},
		{Audience: "//iam.googleapis.com/" + gcpProviderName("other-project"), IssuerURL: e.issuer.URL, AllowedAudiences: []string{gcpOrg}, AllowedProjects: []string{"project-9"}},
	} {
		e.emu.AddProvider(p)
	}
	e.emu.AddServiceAccount(wifemulator.ServiceAccount{Email: gcpSA, Members: []string{
		"principalSet://iam.googleapis.com/projects/" + gcpNumber + "/locations/global/workloadIdentityPools/circleci/attribute.project/" + gcpProject}})
	e.emu.AddServiceAccount(wifemulator.ServiceAccount{Email: gcpOtherSA, Members: []string{"principalSet://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/x/attribute.project/y"}})

	// The fake circleci CLI: each call hands out the next pre-minted token and logs its args.
	e.bin = t.TempDir()
	script := fmt.Sprintf("#!/bin/sh\necho \"$*\" >> %[1]s/args\nn=$(cat %[1]s/count 2>/dev/null || echo 0)\nn=$((n+1))\necho $n > %[1]s/count\ncat %[1]s/tok.$n\n", e.mintDir)
	if err := os.WriteFile(filepath.Join(e.bin, "circleci"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	e.injected = e.mint(t, oidcissuer.Token{Version: 1})
	for i := 1; i <= 12; i++ {
		tok := e.mint(t, oidcissuer.Token{Version: 1, Extra: map[string]any{"jti": fmt.Sprint("minted-", i)}})
		if err := os.WriteFile(filepath.Join(e.mintDir, fmt.Sprint("tok.", i)), []byte(tok+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	exe := shipgateBinary(t)
	e.deps = defaultDeps()
	e.deps.gcp.executable = func() (string, error) { return exe, nil }
	e.deps.gcp.retry = gcpauth.Retry{Sleep: func(context.Context, time.Duration) error { return nil }}
	// Google's library runs the executable with this process's environment.
	t.Setenv("CIRCLECI", "true")
	t.Setenv("PATH", e.bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("CIRCLE_OIDC_TOKEN", e.injected)
	t.Setenv("GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES", "1")
	return e
}

// mint signs a token with UUID project and user IDs, as CircleCI's are: the v1 sub is then
// exactly 127 bytes, google.subject's limit.
func (e *gcpEnv) mint(t *testing.T, tok oidcissuer.Token) string {
	t.Helper()
	if tok.ProjectID == "" {
		tok.ProjectID = gcpProject
	}
	if tok.UserID == "" {
		tok.UserID = gcpUser
	}
	s, err := e.issuer.Mint(tok)
	if err != nil {
		t.Fatal(err)
	}
	e.minted = append(e.minted, s)
	return s
}

// environment is what the in-process CLI sees; the child processes see the real environment,
// set to the same values with t.Setenv.
func (e *gcpEnv) environment() map[string]string {
	return map[string]string{
		"CIRCLECI":             os.Getenv("CIRCLECI"),
		"CIRCLE_OIDC_TOKEN":    os.Getenv("CIRCLE_OIDC_TOKEN"),
		"CIRCLE_OIDC_TOKEN_V2": os.Getenv("CIRCLE_OIDC_TOKEN_V2"),
		"HOME":                 e.dir,
		"GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES": os.Getenv("GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES"),
	}
}

func (e *gcpEnv) credentialsArgs(provider string, extra ...string) []string {
	return append([]string{"gcp", "credentials", "--provider", gcpProviderName(provider),
		"--out", filepath.Join(e.dir, "gcp.json"), "--token-url", e.emu.TokenURL(), "--iam-credentials-url", e.emu.URL}, extra...)
}

func (e *gcpEnv) mintCalls() int {
	data, _ := os.ReadFile(filepath.Join(e.mintDir, "count"))
	var n int
	fmt.Sscan(string(data), &n)
	return n
}

// TestGCPGoogleLibraryRefreshesThroughExecutable: Google's own library consumes the generated
// file, obtains an impersonated token through the STS and IAM emulators, and after expiry runs
// the executable source again, which mints a fresh CircleCI token.
func TestGCPGoogleLibraryRefreshesThroughExecutable(t *testing.T) {
	e := newGCPEnv(t)
	export := filepath.Join(e.dir, "bash_env")
	r := e.run(t, e.environment(), e.credentialsArgs("circleci", "--service-account", gcpSA, "--export-to", export, "--output", "json")...)
	if r.code != 0 {
		t.Fatalf("credentials: exit %d: %s", r.code, r.stderr)
	}
	file := filepath.Join(e.dir, "gcp.json")
	fi, err := os.Stat(file)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file: %v, mode %v", err, fi.Mode())
	}
	var summary gcpCredentialsSummary
	if err := json.Unmarshal([]byte(r.stdout), &summary); err != nil || summary.SubjectBytes != 127 || summary.ServiceAccount != gcpSA {
		t.Fatalf("summary %q: %v", r.stdout, err)
	}
	exported, _ := os.ReadFile(export)
	for _, want := range []string{"export GOOGLE_APPLICATION_CREDENTIALS='" + file + "'", "export GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES='1'"} {
		if !strings.Contains(string(exported), want) {
			t.Errorf("export file lacks %q:\n%s", want, exported)
		}
	}
	data, _ := os.ReadFile(file)
	var cfg struct {
		Type             string `json:"type"`
		CredentialSource struct {
			Executable struct{ Command string } `json:"executable"`
		} `json:"credential_source"`
	}
	if err := json.Unmarshal(data, &cfg); err != nil || cfg.Type != "external_account" ||
		cfg.CredentialSource.Executable.Command != shipgateBinaryPath+" gcp subject-token" {
		t.Fatalf("file %s: %v", data, err)
	}
	mintsBefore := e.mintCalls()

	// Tokens live 5 s: less than the library's 10 s expiry margin, so every Token() call is a
	// refresh, without waiting on the wall clock.
	e.emu.TTL = 5 * time.Second
	creds, err := google.CredentialsFromJSONWithTypeAndParams(context.Background(), data, google.ExternalAccount, google.CredentialsParams{Scopes: []string{gcpauth.CloudPlatformScope}})
	if err != nil {
		t.Fatal(err)
	}
	first, err := creds.TokenSource.Token()
	if err != nil {
		t.Fatalf("first token: %v", err)
	}
	second, err := creds.TokenSource.Token()
	if err != nil {
		t.Fatalf("token after expiry: %v", err)
	}
	if first.AccessToken == second.AccessToken || !e.emu.Valid(first.AccessToken) || !e.emu.Valid(second.AccessToken) {
		t.Fatalf("want two distinct valid tokens")
	}
	if got := e.mintCalls() - mintsBefore; got != 2 {
		t.Errorf("executable minted %d tokens, want 2 (one per refresh)", got)
	}
	var sts, iam []wifemulator.Call
	for _, c := range e.emu.Calls() {
		if c.Endpoint == "sts" {
			sts = append(sts, c)
		} else {
			iam = append(iam, c)
		}
	}
	if len(sts) != 2 || len(iam) != 2 || sts[0].TokenID == sts[1].TokenID || sts[0].Status != 200 || iam[1].Status != 200 {
		t.Fatalf("calls: sts %+v iam %+v", sts, iam)
	}
	args, _ := os.ReadFile(filepath.Join(e.mintDir, "args"))
	if !strings.Contains(string(args), `run oidc get --claims {"aud":"`+gcpOrg+`"}`) {
		t.Errorf("circleci called with %q", args)
	}

	// The same through shipgate gcp access-token, and the registry keychain.
	r = e.run(t, e.environment(), "gcp", "access-token", "--credentials", file)
	if r.code != 0 || !e.emu.Valid(strings.TrimSpace(r.stdout)) {
		t.Fatalf("access-token: exit %d stdout %d bytes stderr %s", r.code, len(r.stdout), r.stderr)
	}
	k := &gcpauth.Keychain{Options: gcpauth.AccessOptions{CredentialsFile: file, ExecutablesAllowed: "1"}}
	for host, google := range map[string]bool{"europe-west1-docker.pkg.dev": true, "gcr.io": true, "eu.gcr.io": true, "registry-1.docker.io": false, "127.0.0.1:5000": false} {
		reg, err := name.NewRegistry(host)
		if err != nil {
			t.Fatal(err)
		}
		auth, err := k.Resolve(reg)
		if err != nil {
			t.Fatal(err)
		}
		if !google {
			if auth != authn.Anonymous {
				t.Errorf("%s: want anonymous, so the next keychain answers", host)
			}
			continue
		}
		cfg, err := auth.Authorization()
		if err != nil || cfg.Username != "oauth2accesstoken" || !e.emu.Valid(cfg.Password) {
			t.Errorf("%s: %v, user %q", host, err, cfg.Username)
		}
	}
}

// TestGCPBadInputs: each refusal gets its own clear error and the documented exit code.
func TestGCPBadInputs(t *testing.T) {
	e := newGCPEnv(t)
	file := filepath.Join(e.dir, "gcp.json")
	tests := []struct {
		name     string
		setup    func(t *testing.T)
		args     []string
		access   bool // run access-token after writing the file
		wantCode int
		want     string
	}{
		{name: "wrong audience", args: e.credentialsArgs("wrong-aud"), access: true, wantCode: 3, want: "audience"},
		{name: "unknown provider", args: e.credentialsArgs("nobody"), access: true, wantCode: 4, want: "does not know the workload identity provider"},
		{name: "attribute condition", args: e.credentialsArgs("other-project"), access: true, wantCode: 3, want: "attribute condition"},
		{name: "service account not allowed", args: e.credentialsArgs("circleci", "--service-account", gcpOtherSA), access: true, wantCode: 3, want: "impersonate the service account"},
		{name: "subject too long", setup: func(t *testing.T) {
			t.Setenv("CIRCLECI", "")
			t.Setenv("CIRCLE_OIDC_TOKEN_V2", e.mint(t, oidcissuer.Token{}))
		}, args: e.credentialsArgs("circleci", "--token-env", "CIRCLE_OIDC_TOKEN_V2"), wantCode: 2, want: "over the 127-byte limit of google.subject"},
		{name: "subject too long at STS", setup: func(t *testing.T) {
			t.Setenv("CIRCLECI", "")
			t.Setenv("CIRCLE_OIDC_TOKEN_V2", e.mint(t, oidcissuer.Token{}))
		}, args: e.credentialsArgs("circleci", "--token-env", "CIRCLE_OIDC_TOKEN_V2", "--subject-limit", "0"), access: true, wantCode: 2, want: "exceeds the 127 bytes limit"},
		{name: "expired token", setup: func(t *testing.T) {
			t.Setenv("CIRCLECI", "")
			t.Setenv("CIRCLE_OIDC_TOKEN", e.mint(t, oidcissuer.Token{Version: 1, IssuedAt: time.Now().Add(-2 * time.Hour)}))
		}, args: e.credentialsArgs("circleci"), wantCode: 3, want: "expired"},
		{name: "expired later, at refresh", setup: func(t *testing.T) {
			t.Setenv("CIRCLECI", "")
		}, args: e.credentialsArgs("circleci"), access: true, wantCode: 3, want: "expired"},
		{name: "executables not allowed", setup: func(t *testing.T) {
			t.Setenv("GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES", "")
		}, args: e.credentialsArgs("circleci"), access: true, wantCode: 2, want: "GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES"},
		{name: "google unavailable", setup: func(t *testing.T) { e.emu.FailNext(100) }, args: e.credentialsArgs("circleci"), access: true, wantCode: 7, want: "failed 4 times"},
		{name: "transient failures retried", setup: func(t *testing.T) { e.emu.FailNext(2) }, args: e.credentialsArgs("circleci", "--service-account", gcpSA), access: true, wantCode: 0, want: "got a Bearer access token"},
		{name: "yaml float project number", args: []string{"gcp", "credentials", "--project-number", "1.23456789012e+11", "--pool", "circleci", "--provider-id", "circleci",
			"--out", filepath.Join(e.dir, "gcp.json"), "--token-url", e.emu.TokenURL()}, access: true, wantCode: 0, want: "got a Bearer access token"},
		{name: "rounded project number", args: []string{"gcp", "credentials", "--project-number", "1.2345678901e+11", "--pool", "circleci", "--provider-id", "circleci"}, wantCode: 2, want: "rounded"},
		{name: "bad provider", args: []string{"gcp", "credentials", "--provider", "circleci"}, wantCode: 2, want: "want projects/NUMBER"},
		{name: "custom token url", args: []string{"gcp", "credentials", "--provider", gcpProviderName("circleci"), "--token-url", "https://evil.example/token"}, wantCode: 2, want: "--token-url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.emu.FailNext(0)
			os.Remove(file)
			if tt.setup != nil {
				tt.setup(t)
			}
			args := tt.args
			r := e.run(t, e.environment(), args...)
			if tt.access {
				if r.code != 0 {
					t.Fatalf("credentials: exit %d: %s", r.code, r.stderr)
				}
				if tt.name == "expired later, at refresh" {
					t.Setenv("CIRCLE_OIDC_TOKEN", e.mint(t, oidcissuer.Token{Version: 1, IssuedAt: time.Now().Add(-2 * time.Hour)}))
				}
				r = e.run(t, e.environment(), "gcp", "access-token", "--credentials", file)
			}
			if r.code != tt.wantCode || !strings.Contains(r.stderr, tt.want) {
				t.Fatalf("exit %d (want %d), stderr %q (want %q)", r.code, tt.wantCode, r.stderr, tt.want)
			}
			if lines := strings.Count(strings.TrimSpace(r.stderr), "\n"); lines > 2 {
				t.Errorf("error should be one line plus a hint, got %q", r.stderr)
			}
		})
	}
}

// TestGCPSubjectTokenResponse: the executable response on success (Google's format, version 1)
// and on failure (code and message, non-zero exit), with the v2 token refused for its length.
func TestGCPSubjectTokenResponse(t *testing.T) {
	e := newGCPEnv(t)
	env := e.environment()
	env["CIRCLECI"] = "" // no minting: the injected token is handed out
	r := e.run(t, env, "gcp", "subject-token")
	var resp gcpauth.ExecutableResponse
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &resp) != nil || resp.Version != 1 || !resp.Success ||
		resp.TokenType != "urn:ietf:params:oauth:token-type:id_token" || resp.IDToken != e.injected || resp.ExpirationTime <= time.Now().Unix() {
		t.Fatalf("exit %d stdout %q", r.code, r.stdout)
	}
	env["CIRCLE_OIDC_TOKEN_V2"] = e.mint(t, oidcissuer.Token{VCSOrigin: "github.com/acme/payments-service"})
	r = e.run(t, env, "gcp", "subject-token", "--token-env", "CIRCLE_OIDC_TOKEN_V2")
	resp = gcpauth.ExecutableResponse{}
	if r.code != 2 || json.Unmarshal([]byte(r.stdout), &resp) != nil || resp.Success || resp.Code != "invalid_input" ||
		!strings.Contains(resp.Message, "127-byte limit") || resp.IDToken != "" {
		t.Fatalf("too long: exit %d stdout %q", r.code, r.stdout)
	}
}

// TestGCPLeaks runs every gcp command, error paths included, and looks for the OIDC tokens
// (the canaries: injected, minted and their signatures) and the issued access tokens, plain,
// base64 and URL-encoded, in stdout, stderr and every file but the intended sink.
func TestGCPLeaks(t *testing.T) {
	e := newGCPEnv(t)
	file := filepath.Join(e.dir, "gcp.json")
	export := filepath.Join(e.dir, "bash_env")
	type run struct {
		name  string
		setup func(t *testing.T)
		pre   []string // run first (credentials), checked too
		args  []string
		// sink may hold a secret: "subject" (stdout holds an OIDC token) or "access" (an access token).
		sink string
	}
	cred := e.credentialsArgs("circleci", "--service-account", gcpSA, "--export-to", export)
	at := []string{"gcp", "access-token", "--credentials", file}
	runs := []run{
		{name: "credentials", args: cred},
		{name: "credentials json", args: append(e.credentialsArgs("circleci"), "--output", "json")},
		{name: "subject-token", args: []string{"gcp", "subject-token"}, sink: "subject"},
		{name: "access-token", pre: cred, args: at, sink: "access"},
		{name: "access-token json", pre: cred, args: append(at, "--output", "json"), sink: "access"},
		{name: "wrong audience", pre: e.credentialsArgs("wrong-aud"), args: at},
		{name: "unknown provider", pre: e.credentialsArgs("nobody"), args: at},
		{name: "sa not allowed", pre: e.credentialsArgs("circleci", "--service-account", gcpOtherSA), args: at},
		{name: "unavailable", setup: func(t *testing.T) { e.emu.FailNext(100) }, pre: cred, args: at},
		{name: "executables not allowed", setup: func(t *testing.T) { t.Setenv("GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES", "") }, pre: cred, args: at},
		{name: "expired at refresh", pre: cred, setup: func(t *testing.T) { t.Setenv("CIRCLECI", "") }, args: at},
		{name: "subject too long", setup: func(t *testing.T) {
			t.Setenv("CIRCLE_OIDC_TOKEN_V2", e.mint(t, oidcissuer.Token{VCSOrigin: "github.com/acme/payments-service"}))
		}, args: e.credentialsArgs("circleci", "--token-env", "CIRCLE_OIDC_TOKEN_V2")},
		{name: "subject-token too long", setup: func(t *testing.T) {
			t.Setenv("CIRCLE_OIDC_TOKEN_V2", e.mint(t, oidcissuer.Token{VCSOrigin: "github.com/acme/payments-service"}))
		}, args: []string{"gcp", "subject-token", "--token-env", "CIRCLE_OIDC_TOKEN_V2"}},
		{name: "provider-config", args: []string{"gcp", "provider-config", "--org-id", gcpOrg, "--project-id", gcpProject, "--provider", gcpProviderName("circleci"), "--service-account", gcpSA}},
	}
	for _, tt := range runs {
		t.Run(tt.name, func(t *testing.T) {
			e.emu.FailNext(0)
			os.Remove(file)
			os.Remove(export)
			var outs []cliResult
			if tt.pre != nil {
				r := e.run(t, e.environment(), tt.pre...)
				if r.code != 0 {
					t.Fatalf("pre: exit %d: %s", r.code, r.stderr)
				}
				outs = append(outs, r)
			}
			if tt.setup != nil {
				tt.setup(t)
			}
			if tt.name == "expired at refresh" {
				t.Setenv("CIRCLE_OIDC_TOKEN", e.mint(t, oidcissuer.Token{Version: 1, IssuedAt: time.Now().Add(-2 * time.Hour)}))
			}
			r := e.run(t, e.environment(), tt.args...)
			var oidc []string
			for _, tok := range e.minted {
				oidc = append(oidc, tok)
				if parts := strings.Split(tok, "."); len(parts) == 3 {
					oidc = append(oidc, parts[2])
				}
			}
			access := e.emu.Issued()
			check := func(where, text string, allowed []string) {
				for _, s := range append(oidc, access...) {
					if gcpContains(allowed, s) {
						continue
					}
					for _, form := range []string{s, base64.StdEncoding.EncodeToString([]byte(s)), base64.RawURLEncoding.EncodeToString([]byte(s)), url.QueryEscape(s)} {
						if strings.Contains(text, form) {
							t.Errorf("%s leaks a secret (%.12s…)", where, s)
						}
					}
				}
			}
			var allowedStdout []string
			switch tt.sink {
			case "subject":
				allowedStdout = oidc
			case "access":
				allowedStdout = access
			}
			for _, o := range outs {
				check("pre stdout", o.stdout, nil)
				check("pre stderr", o.stderr, nil)
			}
			check("stdout", r.stdout, allowedStdout)
			check("stderr", r.stderr, nil)
			_ = filepath.WalkDir(e.dir, func(path string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					data, _ := os.ReadFile(path)
					check(path, string(data), nil)
				}
				return nil
			})
			if tt.sink != "" && r.code != 0 {
				t.Fatalf("a successful run failed: exit %d: %s", r.code, r.stderr)
			}
		})
	}
}

func gcpContains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
