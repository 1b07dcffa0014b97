package awsrole

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/oidctoken"
	"github.com/shipgate/shipgate/helper/internal/testpeer/oidcissuer"
	"github.com/shipgate/shipgate/helper/internal/testpeer/stsemulator"
)

const (
	orgID     = "9c1e5a22-0000-4000-8000-00000000c0de"
	account   = "123456789012"
	roleARN   = "arn:aws:iam::123456789012:role/deploy"
	chainARN  = "arn:aws:iam::210987654321:role/prod-deploy"
	otherRole = "arn:aws:iam::123456789012:role/nobody"
)

// fixture is a local issuer and an STS emulator that trusts it, with a role that admits
// project-1 on github.com/acme/app, branch main.
type fixture struct {
	issuer *oidcissuer.Issuer
	sts    *stsemulator.Emulator
	sleeps []time.Duration
	mu     sync.Mutex
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	issuer, err := oidcissuer.New(orgID)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(issuer.Close)
	emu := stsemulator.New()
	t.Cleanup(emu.Close)
	emu.AddProvider(stsemulator.Provider{IssuerURL: issuer.URL, ClientIDs: []string{orgID}})
	emu.AddRole(stsemulator.Role{
		ARN: roleARN, Federated: issuer.URL, Aud: orgID, MaxSessionDuration: 2 * time.Hour,
		SubLike: []string{"org/" + orgID + "/project/project-1/user/*/vcs-origin/github.com/acme/app/vcs-ref/refs/heads/main"},
	})
	emu.AddRole(stsemulator.Role{ARN: chainARN, TrustedRoles: []string{roleARN}})
	emu.AddRole(stsemulator.Role{ARN: otherRole, Federated: issuer.URL, Aud: orgID, SubLike: []string{"org/" + orgID + "/project/other/*"}})
	return &fixture{issuer: issuer, sts: emu}
}

func (f *fixture) token(t *testing.T, tok oidcissuer.Token) string {
	t.Helper()
	raw, err := f.issuer.Mint(tok)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// staticSource is a token source holding one token.
type staticSource struct{ token string }

func (s staticSource) Token(context.Context) (string, error) { return s.token, nil }
func (s staticSource) Describe() string                      { return "a test token" }

// countingMint mints a fresh valid token on every call.
type countingMint struct {
	f     *fixture
	t     *testing.T
	calls int
}

func (m *countingMint) Token(context.Context) (string, error) {
	m.calls++
	return m.f.token(m.t, oidcissuer.Token{}), nil
}
func (m *countingMint) Describe() string { return "a minted test token" }

func (f *fixture) options(token string) Options {
	return Options{
		RoleARN: roleARN, Region: "us-east-1", SessionName: "acme-app-42-deploy",
		Endpoint: f.sts.URL, Token: staticSource{token},
		Retry: Retry{Attempts: 4, Base: time.Millisecond, Max: 5 * time.Second, Sleep: f.sleep},
	}
}

// sleep records the backoff instead of waiting.
func (f *fixture) sleep(ctx context.Context, d time.Duration) error {
	f.mu.Lock()
	f.sleeps = append(f.sleeps, d)
	f.mu.Unlock()
	return ctx.Err()
}

func TestAssumeSucceeds(t *testing.T) {
	f := newFixture(t)
	for _, version := range []int{1, 2} {
		o := f.options(f.token(t, oidcissuer.Token{Version: version}))
		if version == 1 {
			f.sts.AddRole(stsemulator.Role{ARN: "arn:aws:iam::123456789012:role/v1", Federated: f.issuer.URL, Aud: orgID,
				SubLike: []string{"org/" + orgID + "/project/project-1/user/*"}})
			o.RoleARN = "arn:aws:iam::123456789012:role/v1"
		}
		res, err := Assume(context.Background(), o)
		if err != nil {
			t.Fatalf("v%d: %v", version, err)
		}
		if res.Account != account || !strings.HasSuffix(res.AssumedRoleARN, "/acme-app-42-deploy") || res.Claims.SubjectVersion() != version {
			t.Fatalf("v%d: result %+v", version, res)
		}
		issued := false
		for _, s := range f.sts.Sessions() {
			issued = issued || (s.AccessKeyID == res.Credentials.AccessKeyID && s.SecretAccessKey == res.Credentials.SecretAccessKey && s.SessionToken == res.Credentials.SessionToken)
		}
		if !issued {
			t.Fatalf("v%d: credentials were not issued by the emulator", version)
		}
		if d := res.Credentials.Expiration.Sub(time.Now()); d < 50*time.Minute || d > 61*time.Minute {
			t.Errorf("v%d: session lasts %s, want the default hour", version, d)
		}
	}
	if s := (Credentials{AccessKeyID: "AKIDCANARY", SecretAccessKey: "SECRETCANARY"}); strings.Contains(s.String()+s.GoString(), "CANARY") {
		t.Error("Credentials print their secrets")
	}
}

func TestAssumeFailures(t *testing.T) {
	f := newFixture(t)
	past := time.Now().Add(-3 * time.Hour)
	tests := []struct {
		name      string
		token     oidcissuer.Token
		raw       string
		edit      func(*Options)
		kind      failure.Kind
		want      []string
		stsCalls  int
		wantHint  string
		notInText string
	}{
		{name: "wrong audience", token: oidcissuer.Token{Audience: "sts.amazonaws.com"}, kind: failure.Auth,
			want: []string{"InvalidIdentityToken", "Incorrect token audience", `aud "sts.amazonaws.com"`}, stsCalls: 1},
		{name: "wrong issuer", token: oidcissuer.Token{Issuer: "https://oidc.example.com/org/x"}, kind: failure.Auth,
			want: []string{"No OpenIDConnect provider found", `iss "https://oidc.example.com/org/x"`}, stsCalls: 1},
		{name: "expired", token: oidcissuer.Token{IssuedAt: past}, kind: failure.Auth,
			want: []string{"expired at " + past.Add(time.Hour).UTC().Format(time.RFC3339), "sub \"org/" + orgID}, stsCalls: 0, wantHint: "--audience"},
		{name: "unknown signing key", token: oidcissuer.Token{UnknownKey: true}, kind: failure.Auth,
			want: []string{"InvalidIdentityToken", "signature"}, stsCalls: 1},
		{name: "alg none", token: oidcissuer.Token{AlgNone: true}, kind: failure.Usage, want: []string{`unsigned (alg "none")`}, stsCalls: 0},
		{name: "not a JWT", raw: "not-a-jwt", kind: failure.Usage, want: []string{"not a JWT"}, stsCalls: 0},
		{name: "another project", token: oidcissuer.Token{ProjectID: "project-2"}, kind: failure.Auth,
			want: []string{"AccessDenied", "sub \"org/" + orgID + "/project/project-2/", "StringLike", "oidc-provider/"}, stsCalls: 1,
			wantHint: "shipgate aws trust-policy --account-id 123456789012 --org-id " + orgID + " --project-id project-2"},
		{name: "another branch", token: oidcissuer.Token{VCSRef: "refs/heads/feature"}, kind: failure.Auth,
			want: []string{"AccessDenied", "vcs-ref/refs/heads/feature"}, stsCalls: 1, wantHint: "shipgate aws trust-policy"},
		{name: "fork origin", token: oidcissuer.Token{VCSOrigin: "github.com/mallory/app"}, kind: failure.Auth,
			want: []string{"AccessDenied", "vcs-origin/github.com/mallory/app"}, stsCalls: 1},
		{name: "wrong role", edit: func(o *Options) { o.RoleARN = otherRole }, kind: failure.Auth,
			want: []string{"AccessDenied", "role/nobody"}, stsCalls: 1},
		{name: "bad session name", edit: func(o *Options) { o.SessionName = "deploy job/1" }, kind: failure.Usage,
			want: []string{`--session-name "deploy job/1"`}, stsCalls: 0},
		{name: "duration too short", edit: func(o *Options) { o.Duration = 10 * time.Minute }, kind: failure.Usage,
			want: []string{"--duration 10m0s: want between 15m0s and 12h0m0s"}, stsCalls: 0},
		{name: "duration over chaining cap", edit: func(o *Options) { o.Duration = 2 * time.Hour; o.ChainRoleARNs = []string{chainARN} }, kind: failure.Usage,
			want: []string{"role chaining caps sessions at one hour"}, stsCalls: 0},
		{name: "duration over the role's maximum", edit: func(o *Options) { o.Duration = 3 * time.Hour }, kind: failure.Usage,
			want: []string{"ValidationError", "MaxSessionDuration"}, stsCalls: 1},
		{name: "account not allowed", edit: func(o *Options) { o.AllowedAccountIDs = []string{"111111111111"} }, kind: failure.Safety,
			want: []string{"account 123456789012, which is not in --allowed-account-ids (111111111111)"}, stsCalls: 2},
		{name: "chain refused", edit: func(o *Options) {
			o.RoleARN = roleARN
			o.ChainRoleARNs = []string{"arn:aws:iam::123456789012:role/nobody"}
		}, kind: failure.Auth,
			want: []string{"STS AssumeRole from " + roleARN, "AccessDenied"}, stsCalls: 2},
		{name: "bad role ARN", edit: func(o *Options) { o.RoleARN = "deploy" }, kind: failure.Usage, want: []string{`--role-arn "deploy"`}},
		{name: "bad region", edit: func(o *Options) { o.Region = "mars" }, kind: failure.Usage, want: []string{`--region "mars"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(f.sts.Calls())
			raw := tt.raw
			if raw == "" {
				raw = f.token(t, tt.token)
			}
			o := f.options(raw)
			if tt.edit != nil {
				tt.edit(&o)
			}
			_, err := Assume(context.Background(), o)
			if err == nil {
				t.Fatal("no error")
			}
			if got := failure.KindOf(err); got != tt.kind {
				t.Errorf("kind %v, want %v (%v)", got, tt.kind, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if tt.wantHint != "" && !strings.Contains(failure.HintOf(err), tt.wantHint) {
				t.Errorf("hint %q lacks %q", failure.HintOf(err), tt.wantHint)
			}
			if strings.Contains(err.Error()+failure.HintOf(err), raw) {
				t.Error("the error repeats the token")
			}
			if calls := len(f.sts.Calls()) - before; calls != tt.stsCalls && tt.stsCalls >= 0 {
				t.Errorf("%d STS calls, want %d (%+v)", calls, tt.stsCalls, f.sts.Calls()[before:])
			}
		})
	}
}

func TestAssumeRetries(t *testing.T) {
	tests := []struct {
		name    string
		fault   func(f *fixture)
		ok      bool
		calls   int
		kind    failure.Kind
		want    string
		retryAt time.Duration // when set, the first wait must be this Retry-After
	}{
		{name: "throttled twice then succeeds", fault: func(f *fixture) { f.sts.Throttle(2, "") }, ok: true, calls: 4},
		{name: "throttled with Retry-After", fault: func(f *fixture) { f.sts.Throttle(1, "3") }, ok: true, calls: 3, retryAt: 3 * time.Second},
		{name: "IdP unreachable twice then succeeds", fault: func(f *fixture) { f.sts.FailIdP(2) }, ok: true, calls: 4},
		{name: "verification key twice then succeeds", fault: func(f *fixture) { f.sts.FailVerificationKey(2) }, ok: true, calls: 4},
		{name: "JWKS answers 503 once", fault: func(f *fixture) { f.issuer.FailJWKS(1) }, ok: true, calls: 3},
		{name: "internal failure once", fault: func(f *fixture) { f.sts.FailInternal(1) }, ok: true, calls: 3},
		{name: "service unavailable twice", fault: func(f *fixture) { f.sts.FailWith(2, 503, "ServiceUnavailable", "Service unavailable") }, ok: true, calls: 4},
		{name: "claims rejected, not retried", fault: func(f *fixture) { f.sts.FailWith(1, 403, "IDPRejectedClaim", "Claim rejected") }, calls: 1,
			kind: failure.Auth, want: "IDPRejectedClaim: Claim rejected"},
		{name: "access denied, not retried", fault: func(f *fixture) { f.sts.FailWith(1, 403, "AccessDenied", "Not authorized") }, calls: 1,
			kind: failure.Auth, want: "AccessDenied"},
		{name: "validation error, not retried", fault: func(f *fixture) { f.sts.FailWith(1, 400, "ValidationError", "bad") }, calls: 1,
			kind: failure.Usage, want: "ValidationError"},
		{name: "invalid token, not retried", fault: func(f *fixture) { f.sts.FailWith(1, 400, "InvalidIdentityToken", "Incorrect token audience") }, calls: 1,
			kind: failure.Auth, want: "Incorrect token audience"},
		{name: "issuer unreachable", fault: func(f *fixture) { f.issuer.Close() }, calls: 4, kind: failure.Unavailable,
			want: "still failing after 4 attempts: IDPCommunicationError"},
		{name: "throttled beyond the budget", fault: func(f *fixture) { f.sts.Throttle(10, "") }, calls: 4, kind: failure.Unavailable,
			want: "Throttling: Rate exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			o := f.options(f.token(t, oidcissuer.Token{}))
			tt.fault(f)
			_, err := Assume(context.Background(), o)
			if tt.ok != (err == nil) {
				t.Fatalf("err %v", err)
			}
			if !tt.ok && (failure.KindOf(err) != tt.kind || !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("err %v (kind %v), want %v with %q", err, failure.KindOf(err), tt.kind, tt.want)
			}
			if got := len(f.sts.Calls()); got != tt.calls {
				t.Errorf("%d calls, want %d", got, tt.calls)
			}
			retries := tt.calls - 1
			if tt.ok {
				retries = tt.calls - 2 // the last call is GetCallerIdentity
			}
			if len(f.sleeps) != retries {
				t.Errorf("%d waits, want %d", len(f.sleeps), retries)
			}
			if tt.retryAt != 0 && (len(f.sleeps) == 0 || f.sleeps[0] != tt.retryAt) {
				t.Errorf("waits %v, want the first to honour Retry-After %s", f.sleeps, tt.retryAt)
			}
		})
	}
}

func TestAssumeCancelledDuringBackoff(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	o := f.options(f.token(t, oidcissuer.Token{}))
	o.Retry.Sleep = func(ctx context.Context, _ time.Duration) error {
		cancel()
		<-ctx.Done()
		return ctx.Err()
	}
	f.sts.Throttle(10, "")
	_, err := Assume(ctx, o)
	if err == nil || failure.KindOf(err) != failure.Unavailable || !strings.Contains(err.Error(), "cancelled; last answer: Throttling") {
		t.Fatalf("err %v", err)
	}
	if got := len(f.sts.Calls()); got != 1 {
		t.Fatalf("%d calls after cancellation, want 1", got)
	}
}

func TestExpiredTokenMintsOnce(t *testing.T) {
	f := newFixture(t)
	// STS's clock is ahead of ours: the token looks valid locally, STS says it expired.
	f.sts.Now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	o := f.options(f.token(t, oidcissuer.Token{}))
	mint := &countingMint{f: f, t: t}
	o.Mint = mint
	_, err := Assume(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), "ExpiredTokenException") || failure.KindOf(err) != failure.Auth {
		t.Fatalf("err %v", err)
	}
	if mint.calls != 1 || len(f.sts.Calls()) != 2 {
		t.Fatalf("minted %d times, %d STS calls; want 1 and 2", mint.calls, len(f.sts.Calls()))
	}

	// With clocks in step, a locally expired token is replaced before STS sees it.
	f.sts.Now = time.Now
	o = f.options(f.token(t, oidcissuer.Token{IssuedAt: time.Now().Add(-2 * time.Hour)}))
	mint = &countingMint{f: f, t: t}
	o.Mint = mint
	res, err := Assume(context.Background(), o)
	if err != nil || mint.calls != 1 || res.TokenSource != "a minted test token" {
		t.Fatalf("err %v, minted %d", err, mint.calls)
	}
}

func TestExpiredAtSTSThenMintSucceeds(t *testing.T) {
	f := newFixture(t)
	// The first token is already expired for STS but not for the local check (30 s skew).
	raw := f.token(t, oidcissuer.Token{IssuedAt: time.Now().Add(-time.Hour + 40*time.Second)})
	f.sts.Now = func() time.Time { return time.Now().Add(time.Minute) }
	o := f.options(raw)
	mint := &countingMint{f: f, t: t}
	o.Mint = mint
	if _, err := Assume(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if mint.calls != 1 {
		t.Fatalf("minted %d times", mint.calls)
	}
}

func TestChain(t *testing.T) {
	f := newFixture(t)
	o := f.options(f.token(t, oidcissuer.Token{}))
	o.ChainRoleARNs = []string{chainARN}
	o.AllowedAccountIDs = []string{"210987654321"}
	res, err := Assume(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.RoleARN != chainARN || res.Account != "210987654321" || !strings.Contains(res.AssumedRoleARN, "assumed-role/prod-deploy/") {
		t.Fatalf("result %+v", res)
	}
	var actions []string
	for _, c := range f.sts.Calls() {
		actions = append(actions, c.Action)
	}
	if strings.Join(actions, ",") != "AssumeRoleWithWebIdentity,AssumeRole,GetCallerIdentity" {
		t.Fatalf("calls %v", actions)
	}
}

func TestTokenSourceErrorsPassThrough(t *testing.T) {
	o := Options{RoleARN: roleARN, Region: "us-east-1", SessionName: "ab",
		Token: oidctoken.EnvSource{Getenv: func(string) string { return "" }}}
	_, err := Assume(context.Background(), o)
	if err == nil || failure.KindOf(err) != failure.Usage || !strings.Contains(err.Error(), "no OIDC token") {
		t.Fatalf("err %v", err)
	}
}

func TestSTSUnreachable(t *testing.T) {
	f := newFixture(t)
	o := f.options(f.token(t, oidcissuer.Token{}))
	f.sts.Close()
	_, err := Assume(context.Background(), o)
	if err == nil || failure.KindOf(err) != failure.Unavailable || !strings.Contains(err.Error(), "no answer from STS") ||
		!strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("err %v (kind %v)", err, failure.KindOf(err))
	}
	if len(f.sleeps) != o.Retry.Attempts-1 {
		t.Fatalf("%d waits, want %d", len(f.sleeps), o.Retry.Attempts-1)
	}
}

func TestNoWaitBeyondDeadline(t *testing.T) {
	f := newFixture(t)
	o := f.options(f.token(t, oidcissuer.Token{}))
	o.Timeout = time.Minute
	o.Retry.Base, o.Retry.Max = time.Hour, time.Hour
	f.sts.Throttle(1, "")
	_, err := Assume(context.Background(), o)
	if err == nil || failure.KindOf(err) != failure.Unavailable || !strings.Contains(err.Error(), "leaves no time for another retry; last answer: Throttling") {
		t.Fatalf("err %v", err)
	}
	if len(f.sleeps) != 0 || len(f.sts.Calls()) != 1 {
		t.Fatalf("%d waits, %d calls", len(f.sleeps), len(f.sts.Calls()))
	}
}
