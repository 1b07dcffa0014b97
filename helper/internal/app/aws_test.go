package app

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shipgate/shipgate/helper/internal/awsrole"
	"github.com/shipgate/shipgate/helper/internal/testpeer/canary"
	"github.com/shipgate/shipgate/helper/internal/testpeer/oidcissuer"
	"github.com/shipgate/shipgate/helper/internal/testpeer/stsemulator"
)

const (
	testOrg     = "0f1e2d3c-aaaa-4bbb-8ccc-000000000001"
	testRole    = "arn:aws:iam::123456789012:role/deploy"
	testChain   = "arn:aws:iam::210987654321:role/prod"
	testNobody  = "arn:aws:iam::123456789012:role/nobody"
	testProject = "project-1"
)

type awsEnv struct {
	issuer *oidcissuer.Issuer
	sts    *stsemulator.Emulator
	dir    string
	minted []string
	deps   deps
}

// run runs the CLI in-process with the environment's dependencies (its own, so tests using
// different ones can run in parallel).
func (e *awsEnv) run(t testing.TB, environment map[string]string, args ...string) cliResult {
	t.Helper()
	return runCLIWith(t, e.deps, environment, args...)
}

// newAWSEnv starts an issuer and an STS emulator trusting it, and shortens retries: waits are
// recorded, never slept.
func newAWSEnv(t *testing.T) *awsEnv {
	t.Helper()
	issuer, err := oidcissuer.New(testOrg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(issuer.Close)
	emu := stsemulator.New()
	t.Cleanup(emu.Close)
	emu.AddProvider(stsemulator.Provider{IssuerURL: issuer.URL, ClientIDs: []string{testOrg}})
	emu.AddRole(stsemulator.Role{ARN: testRole, Federated: issuer.URL, Aud: testOrg,
		SubLike: []string{"org/" + testOrg + "/project/" + testProject + "/user/*/vcs-origin/github.com/acme/app/vcs-ref/refs/heads/main"}})
	emu.AddRole(stsemulator.Role{ARN: testChain, TrustedRoles: []string{testRole}})
	emu.AddRole(stsemulator.Role{ARN: testNobody, Federated: issuer.URL, Aud: testOrg, SubLike: []string{"org/other/*"}})
	e := &awsEnv{issuer: issuer, sts: emu, dir: t.TempDir()}
	e.deps = defaultDeps()
	e.deps.aws.retry = awsrole.Retry{Attempts: 3, Base: time.Millisecond, Max: 4 * time.Millisecond,
		Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() }}
	e.deps.aws.canMint = func(*streams) bool { return false }
	e.deps.aws.runner = func(_ context.Context, name string, args ...string) ([]byte, []byte, error) {
		tok := e.mint(t, oidcissuer.Token{})
		return []byte(tok + "\n"), nil, nil
	}
	return e
}

func (e *awsEnv) mint(t *testing.T, tok oidcissuer.Token) string {
	t.Helper()
	raw, err := e.issuer.Mint(tok)
	if err != nil {
		t.Fatal(err)
	}
	e.minted = append(e.minted, raw)
	return raw
}

// environment is a CircleCI job's environment holding token and canary static keys that a
// context might inject.
func (e *awsEnv) environment(token string) map[string]string {
	return map[string]string{
		"CIRCLE_OIDC_TOKEN_V2":    token,
		"CIRCLE_PROJECT_REPONAME": "app",
		"CIRCLE_BUILD_NUM":        "42",
		"CIRCLE_JOB":              "deploy to prod",
		"AWS_REGION":              "eu-west-1",
		"HOME":                    e.dir,
		"AWS_ACCESS_KEY_ID":       canary.StaticAccessKeyID,
		"AWS_SECRET_ACCESS_KEY":   canary.StaticSecretKey,
	}
}

func TestAWSAssumeRoleWriters(t *testing.T) {
	t.Parallel()
	e := newAWSEnv(t)
	env := e.environment(e.mint(t, oidcissuer.Token{}))
	exportTo := filepath.Join(e.dir, "bash_env")

	r := e.run(t, env, "aws", "assume-role", "--role-arn", testRole, "--sts-endpoint", e.sts.URL, "--export-to", exportTo, "--output", "json")
	if r.code != 0 {
		t.Fatalf("env: exit %d: %s", r.code, r.stderr)
	}
	var summary awsSummary
	if err := json.Unmarshal([]byte(r.stdout), &summary); err != nil {
		t.Fatalf("stdout %q: %v", r.stdout, err)
	}
	if summary.Account != "123456789012" || summary.Region != "eu-west-1" || summary.SessionName != "app-42-deploy-to-prod" || summary.Write != "env" {
		t.Errorf("summary %+v", summary)
	}
	data, _ := os.ReadFile(exportTo)
	sessions := e.sts.Sessions()
	if len(sessions) != 1 {
		t.Fatalf("%d sessions", len(sessions))
	}
	for _, want := range []string{"unset AWS_PROFILE\n", "export AWS_ACCESS_KEY_ID='" + sessions[0].AccessKeyID + "'\n",
		"export AWS_SECRET_ACCESS_KEY='" + sessions[0].SecretAccessKey + "'\n", "export AWS_SESSION_TOKEN='" + sessions[0].SessionToken + "'\n", "export AWS_REGION='eu-west-1'\n"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("export file lacks %q", want)
		}
	}
	if !strings.Contains(r.stderr, "long-term AWS key") {
		t.Errorf("no note about the static key: %q", r.stderr)
	}
	if calls := e.sts.Calls(); calls[0].RoleSessionName != "app-42-deploy-to-prod" {
		t.Errorf("session name %q", calls[0].RoleSessionName)
	}
	env["SHIPGATE_PIPELINE_NUMBER"] = "1234"
	env["CIRCLE_JOB"] = strings.Repeat("very long job name ", 5)
	if r := e.run(t, env, "aws", "assume-role", "--role-arn", testRole, "--sts-endpoint", e.sts.URL, "--write", "json"); r.code != 0 {
		t.Fatalf("long job name: exit %d: %s", r.code, r.stderr)
	}
	calls := e.sts.Calls()
	if name := calls[len(calls)-2].RoleSessionName; len(name) != 64 || !strings.HasPrefix(name, "app-1234-very-long-job-name-") {
		t.Errorf("session name %q", name)
	}
	delete(env, "SHIPGATE_PIPELINE_NUMBER")
	env["CIRCLE_JOB"] = "deploy to prod"

	r = e.run(t, env, "aws", "assume-role", "--role-arn", testRole, "--sts-endpoint", e.sts.URL, "--write", "json", "--duration", "15m")
	var cp awsrole.CredentialProcess
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &cp) != nil || cp.Version != 1 || cp.AccessKeyID == "" || cp.SessionToken == "" {
		t.Fatalf("json: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	if exp, err := time.Parse(time.RFC3339, cp.Expiration); err != nil || exp.Sub(time.Now()) > 16*time.Minute {
		t.Errorf("expiration %q for a 15m session", cp.Expiration)
	}

	env["SHIPGATE_FLAG_ROLE_ARN"] = testRole
	env["SHIPGATE_FLAG_STS_ENDPOINT"] = e.sts.URL
	r = e.run(t, env, "aws", "assume-role", "--write", "profile", "--profile", "ci", "--export-to", exportTo)
	if r.code != 0 {
		t.Fatalf("profile: exit %d: %s", r.code, r.stderr)
	}
	creds, err := os.ReadFile(filepath.Join(e.dir, ".aws", "credentials"))
	if err != nil || !strings.Contains(string(creds), "[ci]\naws_access_key_id = ASIA") {
		t.Fatalf("credentials file %q %v", creds, err)
	}
	if data, _ := os.ReadFile(exportTo); !strings.HasSuffix(string(data), "export AWS_PROFILE='ci'\n") || !strings.Contains(string(data), "unset AWS_ACCESS_KEY_ID\n") {
		t.Errorf("export file after profile %q", data)
	}
}

func TestAWSChainAndCredentialProcess(t *testing.T) {
	t.Parallel()
	e := newAWSEnv(t)
	env := e.environment(e.mint(t, oidcissuer.Token{}))
	r := e.run(t, env, "aws", "assume-role", "--role-arn", testRole, "--chain-role-arn", testChain, "--allowed-account-ids", "210987654321",
		"--sts-endpoint", e.sts.URL, "--write", "json")
	if r.code != 0 {
		t.Fatalf("chain: exit %d: %s", r.code, r.stderr)
	}
	// credential-process mints a fresh token on every call when the circleci CLI is there.
	e.deps.aws.canMint = func(*streams) bool { return true }
	var ran [][]string
	e.deps.aws.runner = func(_ context.Context, name string, args ...string) ([]byte, []byte, error) {
		ran = append(ran, append([]string{name}, args...))
		return []byte(e.mint(t, oidcissuer.Token{})), nil, nil
	}
	for i := 0; i < 2; i++ {
		r = e.run(t, env, "aws", "credential-process", "--role-arn", testRole, "--sts-endpoint", e.sts.URL)
		var cp awsrole.CredentialProcess
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &cp) != nil || cp.SecretAccessKey == "" {
			t.Fatalf("credential-process: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
		}
	}
	if len(ran) != 2 || strings.Join(ran[0], " ") != `circleci run oidc get --claims {"aud":"`+testOrg+`"}` {
		t.Fatalf("minted with %q", ran)
	}
}

// TestAWSExitCodes runs each bad input through the whole CLI: its own clear error, its exit code.
func TestAWSExitCodes(t *testing.T) {
	t.Parallel()
	e := newAWSEnv(t)
	past := time.Now().Add(-3 * time.Hour)
	tests := []struct {
		name  string
		token oidcissuer.Token
		raw   string
		args  []string
		setup func()
		code  int
		want  string
	}{
		{name: "wrong audience", token: oidcissuer.Token{Audience: "sts.amazonaws.com"}, code: 3, want: "Incorrect token audience"},
		{name: "wrong issuer", token: oidcissuer.Token{Issuer: "https://oidc.circleci.com/org/someone-else"}, code: 3, want: "No OpenIDConnect provider found"},
		{name: "expired", token: oidcissuer.Token{IssuedAt: past}, code: 3, want: "OIDC token expired at"},
		{name: "unknown signing key", token: oidcissuer.Token{UnknownKey: true}, code: 3, want: "signature"},
		{name: "alg none", token: oidcissuer.Token{AlgNone: true}, code: 2, want: `unsigned (alg "none")`},
		{name: "not a JWT", raw: "hello-world", code: 2, want: "not a JWT"},
		{name: "another project", token: oidcissuer.Token{ProjectID: "project-9"}, code: 3, want: "AccessDenied"},
		{name: "another branch", token: oidcissuer.Token{VCSRef: "refs/heads/wip"}, code: 3, want: "vcs-ref/refs/heads/wip"},
		{name: "fork origin", token: oidcissuer.Token{VCSOrigin: "github.com/fork/app"}, code: 3, want: "vcs-origin/github.com/fork/app"},
		{name: "wrong role", args: []string{"--role-arn", testNobody}, code: 3, want: "AccessDenied"},
		{name: "bad session name", args: []string{"--session-name", "deploy job"}, code: 2, want: `--session-name "deploy job"`},
		{name: "duration out of range", args: []string{"--duration", "43201"}, code: 2, want: "--duration 12h0m1s"},
		{name: "duration not a duration", args: []string{"--duration", "forever"}, code: 2, want: `--duration "forever"`},
		{name: "issuer unreachable", setup: func() { e.sts.FailIdP(100) }, code: 7, want: "still failing after 3 attempts: IDPCommunicationError"},
		{name: "throttled then succeeds", setup: func() { e.sts.Throttle(2, "") }, code: 0},
		{name: "account not allowed", args: []string{"--allowed-account-ids", "111111111111,222222222222"}, code: 5, want: "not in --allowed-account-ids"},
		{name: "malformed account list", args: []string{"--allowed-account-ids", "12"}, code: 2, want: "12-digit"},
		{name: "custom endpoint refused", args: []string{"--sts-endpoint", "https://sts.example.com"}, code: 2, want: "neither an AWS STS host nor loopback"},
		{name: "token flags conflict", args: []string{"--token-env", "X", "--audience", "a"}, code: 2, want: "alternatives"},
		{name: "no token", raw: " ", code: 2, want: "no OIDC token"},
		{name: "unknown write", args: []string{"--write", "clipboard"}, code: 2, want: `--write "clipboard"`},
		{name: "chain over one hour", args: []string{"--chain-role-arn", testChain, "--duration", "7200"}, code: 2, want: "role chaining caps"},
		{name: "missing token file", args: []string{"--token-file", "/nonexistent/token"}, code: 2, want: "reading OIDC token file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := tt.raw
			if raw == "" {
				raw = e.mint(t, tt.token)
			}
			e.sts.Throttle(0, "")
			e.sts.FailIdP(0)
			if tt.setup != nil {
				tt.setup()
			}
			args := append([]string{"aws", "assume-role", "--role-arn", testRole, "--sts-endpoint", e.sts.URL, "--write", "json"}, tt.args...)
			r := e.run(t, e.environment(raw), args...)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d; stderr %q", r.code, tt.code, r.stderr)
			}
			if tt.code == 0 {
				return
			}
			if !strings.Contains(r.stderr, tt.want) || !strings.HasPrefix(r.stderr, "shipgate: error: ") && !strings.Contains(r.stderr, "\nshipgate: error: ") {
				t.Errorf("stderr %q lacks %q", r.stderr, tt.want)
			}
			if r.stdout != "" {
				t.Errorf("stdout on failure: %q", r.stdout)
			}
			var errLines int
			for _, line := range strings.Split(r.stderr, "\n") {
				if strings.HasPrefix(line, "shipgate: error: ") {
					errLines++
				}
			}
			if errLines != 1 {
				t.Errorf("%d error lines in %q", errLines, r.stderr)
			}
		})
	}
}

func TestAWSAccessDeniedExplains(t *testing.T) {
	t.Parallel()
	e := newAWSEnv(t)
	r := e.run(t, e.environment(e.mint(t, oidcissuer.Token{VCSRef: "refs/heads/wip"})),
		"aws", "assume-role", "--role-arn", testRole, "--sts-endpoint", e.sts.URL, "--write", "json")
	for _, want := range []string{
		`aud "` + testOrg + `"`,
		`sub "org/` + testOrg + `/project/project-1/user/user-1/vcs-origin/github.com/acme/app/vcs-ref/refs/heads/wip"`,
		"StringLike " + e.issuer.ProviderHost() + ":sub",
		"shipgate: hint: print a matching policy with `shipgate aws trust-policy --account-id 123456789012 --org-id " + testOrg + " --project-id project-1`",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
}

func TestAWSEndpointWarning(t *testing.T) {
	t.Parallel()
	e := newAWSEnv(t)
	env := e.environment(e.mint(t, oidcissuer.Token{}))
	env["AWS_ENDPOINT_URL_STS"] = "https://user:pw@collector.example.net/sts"
	r := e.run(t, env, "aws", "assume-role", "--role-arn", testRole, "--sts-endpoint", e.sts.URL, "--write", "json")
	if r.code != 0 || !strings.Contains(r.stderr, "warning: $AWS_ENDPOINT_URL_STS points at collector.example.net, which is not an AWS STS host") {
		t.Fatalf("exit %d stderr %q", r.code, r.stderr)
	}
	if strings.Contains(r.stderr, "pw@") {
		t.Error("the endpoint's user info was printed")
	}
}

func TestAWSTrustPolicy(t *testing.T) {
	t.Parallel()
	e := newAWSEnv(t)
	base := []string{"aws", "trust-policy", "--account-id", "123456789012", "--org-id", testOrg, "--project-id", testProject}
	r := e.run(t, nil, append(base, "--branch", "main", "--vcs-origin", "github.com/acme/app")...)
	var policy awsrole.TrustPolicy
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &policy) != nil || len(policy.Statement) != 1 {
		t.Fatalf("exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	check := append(base, "--check", "--issuer", e.issuer.URL, "--branch", "main")
	r = e.run(t, e.environment(e.mint(t, oidcissuer.Token{})), check...)
	if r.code != 0 || !strings.Contains(r.stdout, "matches") {
		t.Fatalf("match: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	r = e.run(t, e.environment(e.mint(t, oidcissuer.Token{VCSRef: "refs/heads/dev"})), append(check, "--output", "json")...)
	var result struct {
		Match      bool
		Mismatches []awsrole.Mismatch
	}
	if r.code != 3 || json.Unmarshal([]byte(r.stdout), &result) != nil || result.Match || len(result.Mismatches) != 1 || result.Mismatches[0].Claim != "sub" {
		t.Fatalf("mismatch: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	if r := e.run(t, nil, "aws", "trust-policy", "--account-id", "1"); r.code != 2 {
		t.Fatalf("bad account: exit %d", r.code)
	}
}

// TestAWSLeaks runs every aws command, error paths included, with a canary token and canary
// static keys in the environment, and looks for the token, the static keys and the issued
// session credentials (plain, base64 and URL-encoded) everywhere but the intended sink.
func TestAWSLeaks(t *testing.T) {
	t.Parallel()
	e := newAWSEnv(t)
	e.deps.aws.canMint = func(*streams) bool { return true }
	type run struct {
		name  string
		token oidcissuer.Token
		args  []string
		setup func()
		// sink may hold session credentials: "stdout", "export" or "profile".
		sink string
	}
	export := filepath.Join(e.dir, "bash_env")
	ar := []string{"aws", "assume-role", "--role-arn", testRole, "--sts-endpoint", e.sts.URL}
	runs := []run{
		{name: "env", args: append(ar, "--export-to", export), sink: "export"},
		{name: "json", args: append(ar, "--write", "json"), sink: "stdout"},
		{name: "profile", args: append(ar, "--write", "profile", "--export-to", export), sink: "profile"},
		{name: "text summary", args: append(ar, "--export-to", export, "--output", "text"), sink: "export"},
		{name: "minted", args: append(ar, "--audience", testOrg, "--write", "json"), sink: "stdout"},
		{name: "credential-process", args: []string{"aws", "credential-process", "--role-arn", testRole, "--sts-endpoint", e.sts.URL}, sink: "stdout"},
		{name: "chain", args: append(ar, "--chain-role-arn", testChain, "--write", "json"), sink: "stdout"},
		{name: "access denied", token: oidcissuer.Token{ProjectID: "x"}, args: append(ar, "--export-to", export)},
		{name: "wrong audience", token: oidcissuer.Token{Audience: "nope"}, args: append(ar, "--export-to", export)},
		// The circleci CLI is "available" here, so an expired token is replaced by a minted one.
		{name: "expired", token: oidcissuer.Token{IssuedAt: time.Now().Add(-5 * time.Hour)}, args: append(ar, "--export-to", export), sink: "export"},
		{name: "unknown key", token: oidcissuer.Token{UnknownKey: true}, args: append(ar, "--write", "json")},
		{name: "alg none", token: oidcissuer.Token{AlgNone: true}, args: append(ar, "--write", "json")},
		{name: "unavailable", setup: func() { e.sts.FailIdP(100) }, args: append(ar, "--write", "json")},
		{name: "throttled", setup: func() { e.sts.Throttle(100, "") }, args: []string{"aws", "credential-process", "--role-arn", testRole, "--sts-endpoint", e.sts.URL}},
		{name: "not allowed", args: append(ar, "--allowed-account-ids", "111111111111", "--write", "json")},
		{name: "chain denied", args: append(ar, "--chain-role-arn", testNobody, "--write", "json")},
		{name: "bad flag", args: append(ar, "--duration", "1")},
		{name: "custom endpoint", args: []string{"aws", "assume-role", "--role-arn", testRole, "--sts-endpoint", "https://evil.example", "--write", "json"}},
		{name: "trust-policy", args: []string{"aws", "trust-policy", "--account-id", "123456789012", "--org-id", testOrg, "--project-id", testProject}},
		{name: "trust-policy check", args: []string{"aws", "trust-policy", "--check", "--account-id", "123456789012", "--org-id", testOrg, "--project-id", testProject, "--issuer", e.issuer.URL}},
		{name: "trust-policy check mismatch", token: oidcissuer.Token{ProjectID: "x"}, args: []string{"aws", "trust-policy", "--check", "--output", "json", "--account-id", "123456789012", "--org-id", testOrg, "--project-id", testProject}},
		{name: "usage", args: []string{"aws", "assume-role", "--help"}},
		{name: "token file", args: append(ar, "--token-file", "TOKENFILE", "--write", "json"), sink: "stdout"},
		{name: "token file, denied", token: oidcissuer.Token{VCSRef: "refs/heads/x"}, args: append(ar, "--token-file", "TOKENFILE", "--export-to", export)},
	}
	// The token file is an input, not a leak; it lives outside the scanned folder.
	tokenFile := filepath.Join(t.TempDir(), "oidc-token")
	for _, tt := range runs {
		t.Run(tt.name, func(t *testing.T) {
			e.sts.Throttle(0, "")
			e.sts.FailIdP(0)
			if tt.setup != nil {
				tt.setup()
			}
			os.RemoveAll(filepath.Join(e.dir, ".aws"))
			os.Remove(export)
			e.minted = nil
			token := e.mint(t, tt.token)
			env := e.environment(token)
			if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			args := make([]string, 0, len(tt.args))
			for _, a := range tt.args {
				args = append(args, strings.ReplaceAll(a, "TOKENFILE", tokenFile))
			}
			if strings.Contains(strings.Join(args, " "), tokenFile) {
				env["CIRCLE_OIDC_TOKEN_V2"] = ""
			}
			r := e.run(t, env, args...)
			secrets := []string{env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]}
			for _, tok := range e.minted {
				secrets = append(secrets, tok)
				if parts := strings.Split(tok, "."); len(parts) == 3 && len(parts[2]) > 16 {
					secrets = append(secrets, parts[2])
				}
			}
			var session []string
			for _, s := range e.sts.Sessions() {
				session = append(session, s.AccessKeyID, s.SecretAccessKey, s.SessionToken)
			}
			check := func(where, text string, allowSession bool) {
				candidates := secrets
				if !allowSession {
					candidates = append(append([]string(nil), secrets...), session...)
				}
				for _, s := range candidates {
					for _, form := range []string{s, base64.StdEncoding.EncodeToString([]byte(s)), base64.RawURLEncoding.EncodeToString([]byte(s)), url.QueryEscape(s)} {
						if strings.Contains(text, form) {
							t.Errorf("%s leaks a secret (%.12s…)", where, s)
						}
					}
				}
			}
			check("stdout", r.stdout, tt.sink == "stdout")
			check("stderr", r.stderr, false)
			_ = filepath.WalkDir(e.dir, func(path string, d os.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return nil
				}
				data, _ := os.ReadFile(path)
				allowed := (tt.sink == "export" && path == export) ||
					(tt.sink == "profile" && path == filepath.Join(e.dir, ".aws", "credentials"))
				check(path, string(data), allowed)
				return nil
			})
			if tt.sink != "" && r.code != 0 {
				t.Fatalf("a successful run failed: exit %d: %s", r.code, r.stderr)
			}
		})
	}
}
