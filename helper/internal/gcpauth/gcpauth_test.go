package gcpauth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shipgate/shipgate/helper/internal/failure"
)

func TestProjectNumber(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{in: "123456789012", want: "123456789012"},
		{in: " 123456789012\n", want: "123456789012"},
		{in: `"123456789012"`, want: "123456789012"},
		{in: "'123456789012'", want: "123456789012"},
		{in: "123456789012.0", want: "123456789012"},
		{in: "123456789012.000", want: "123456789012"},
		{in: "1.23456789012e+11", want: "123456789012"},
		{in: "1.23456789012E11", want: "123456789012"},
		{in: "1.23456789012e11", want: "123456789012"},
		{in: "12345678901.2e1", want: "123456789012"},
		{in: "1.234567890120e+11", want: "123456789012"},
		{in: "1.2345678901e+11", err: "rounded away"},
		{in: "1.23456789e+11", err: "rounded away"},
		{in: "1.23457e+11", err: "rounded away"},
		{in: "123456789012.5", err: "not a positive whole number"},
		{in: "-123456789012", err: "not a number"},
		{in: "0123456789012", err: "starts with 0"},
		{in: "0", err: "starts with 0"},
		{in: "0x1F", err: "not a number"},
		{in: "123_456", err: "not a number"},
		{in: "my-project", err: "not a number"},
		{in: "", err: "empty"},
		{in: "1.2345678901234567e+16", err: "too large"},
		{in: "12345678901234567890", err: "digits"},
		{in: "1e999999999", err: "not a number"}, // big.Rat would build 10^999999999 (a fuzzing hang)
		{in: "1e-999999999", err: "not a number"},
	}
	for _, tt := range tests {
		got, err := ProjectNumber(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) || failure.KindOf(err) != failure.Usage {
				t.Errorf("ProjectNumber(%q) = %q, %v; want usage error with %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ProjectNumber(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// FuzzProjectNumber: whatever is accepted is plain digits equal to the exact value of the text.
func FuzzProjectNumber(f *testing.F) {
	for _, s := range []string{"123456789012", "1.23456789012e+11", "123456789012.0", "1e3", "1.2345678901e+11", "0", "+5", "9007199254740993"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := ProjectNumber(in)
		if err != nil {
			return
		}
		if !isDigits(got) || got[0] == '0' {
			t.Fatalf("%q -> %q", in, got)
		}
		s := strings.Trim(strings.TrimSpace(in), `"'`)
		r, ok := new(big.Rat).SetString(strings.TrimSpace(s))
		if !ok || r.Num().String() != got || !r.IsInt() {
			t.Fatalf("%q -> %q, not its exact value", in, got)
		}
	})
}

func TestParseProvider(t *testing.T) {
	name := "projects/123456789012/locations/global/workloadIdentityPools/circleci/providers/circleci-oidc"
	for _, in := range []string{name, "//iam.googleapis.com/" + name, "https://iam.googleapis.com/" + name} {
		p, err := ParseProvider(in)
		if err != nil || p.Name() != name || p.Audience() != "//iam.googleapis.com/"+name {
			t.Errorf("%q: %+v %v", in, p, err)
		}
	}
	for in, want := range map[string]string{
		"circleci": "want projects/NUMBER",
		"projects/123456789012/locations/us/workloadIdentityPools/circleci/providers/circleci":      "location global",
		"projects/1.2345678e+11/locations/global/workloadIdentityPools/circleci/providers/circleci": "rounded",
		"projects/123456789012/locations/global/workloadIdentityPools/gcp-pool/providers/circleci":  "pool ID",
		"projects/123456789012/locations/global/workloadIdentityPools/circleci/providers/A":         "provider ID",
	} {
		if _, err := ParseProvider(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
}

func testProvider(t *testing.T) Provider {
	p, err := NewProvider("123456789012", "circleci", "circleci")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCredentialsJSON(t *testing.T) {
	data, err := CredentialsJSON(CredentialsOptions{Provider: testProvider(t), ServiceAccount: "d@p.iam.gserviceaccount.com", Executable: "/usr/local/bin/shipgate", Args: SubjectTokenArgs("", "", SubjectLimit), Lifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	var f map[string]any
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	exe := f["credential_source"].(map[string]any)["executable"].(map[string]any)
	if f["type"] != "external_account" || f["token_url"] != DefaultTokenURL ||
		f["service_account_impersonation_url"] != "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/d@p.iam.gserviceaccount.com:generateAccessToken" ||
		exe["command"] != "/usr/local/bin/shipgate gcp subject-token" || exe["timeout_millis"] != float64(30000) ||
		f["service_account_impersonation"].(map[string]any)["token_lifetime_seconds"] != float64(3600) {
		t.Fatalf("%s", data)
	}
	if got := SubjectTokenArgs("CIRCLE_OIDC_TOKEN_V2", "aud", 0); strings.Join(got, " ") != "--token-env CIRCLE_OIDC_TOKEN_V2 --audience aud --subject-limit 0" {
		t.Errorf("args %q", got)
	}
	bad := []struct {
		o    CredentialsOptions
		want string
	}{
		{CredentialsOptions{Provider: testProvider(t), Executable: "/opt/my tools/shipgate"}, "spaces"},
		{CredentialsOptions{Provider: testProvider(t), Executable: "shipgate"}, "not absolute"},
		{CredentialsOptions{Provider: testProvider(t), Executable: "/bin/shipgate", Args: []string{"--audience", "a b"}}, "spaces"},
		{CredentialsOptions{Provider: testProvider(t), Executable: "/bin/shipgate", TokenURL: "https://evil.example/v1/token"}, "--token-url"},
		{CredentialsOptions{Provider: testProvider(t), Executable: "/bin/shipgate", ServiceAccount: "d@p.iam.gserviceaccount.com", IAMCredentialsURL: "http://10.0.0.1"}, "--iam-credentials-url"},
		{CredentialsOptions{Provider: testProvider(t), Executable: "/bin/shipgate", ServiceAccount: "not-an-email"}, "service account"},
		{CredentialsOptions{Provider: testProvider(t), Executable: "/bin/shipgate", ServiceAccount: "d@p.iam.gserviceaccount.com", Lifetime: time.Minute}, "--lifetime"},
	}
	for _, tt := range bad {
		if _, err := CredentialsJSON(tt.o); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: %v, want %q", tt.o, err, tt.want)
		}
	}
	if _, err := CredentialsJSON(CredentialsOptions{Provider: testProvider(t), Executable: "/bin/shipgate", TokenURL: "http://127.0.0.1:8080/v1/token"}); err != nil {
		t.Errorf("loopback refused: %v", err)
	}
}

func TestWriteCredentials(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "creds.json")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteCredentials(path, []byte("{}\n")); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v %v: an existing wider mode must not survive", fi.Mode(), err)
	}
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.json")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := WriteCredentials(link, []byte("{}")); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Fatalf("symlink: %v", err)
	}
	if data, _ := os.ReadFile(target); string(data) != "keep" {
		t.Fatal("the link's target was written")
	}
}

// fakeSource hands out a fixed token or error.
type fakeSource struct {
	token string
	err   error
	calls *int
}

func (f fakeSource) Token(context.Context) (string, error) {
	if f.calls != nil {
		*f.calls++
	}
	return f.token, f.err
}
func (f fakeSource) Describe() string { return "fake" }

func jwt(claims map[string]any) string {
	seg := func(v any) string { b, _ := json.Marshal(v); return base64.RawURLEncoding.EncodeToString(b) }
	return seg(map[string]string{"alg": "RS256"}) + "." + seg(claims) + ".c2lnbmF0dXJlLWJ5dGVzLXNpZ25hdHVyZQ"
}

const uuid = "5a301f56-eaa7-4cce-9441-37810f7c8452"

func token(now time.Time, v2 bool, ttl time.Duration) string {
	sub := "org/" + uuid + "/project/" + uuid + "/user/" + uuid
	if v2 {
		sub += "/vcs-origin/github.com/acme/app/vcs-ref/refs/heads/main"
	}
	return jwt(map[string]any{"iss": "https://oidc.circleci.com/org/" + uuid, "aud": uuid, "sub": sub, "iat": now.Add(-time.Minute).Unix(), "exp": now.Add(ttl).Unix()})
}

func TestSubjectToken(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	v1, v2, old := token(now, false, time.Hour), token(now, true, time.Hour), token(now, false, 30*time.Second)
	minted := token(now, false, 2*time.Hour)
	tests := []struct {
		name           string
		injected, mint *fakeSource
		want, wantErr  string
		wantNote       bool
		kind           failure.Kind
	}{
		{name: "minted", injected: &fakeSource{token: v1}, mint: &fakeSource{token: minted}, want: minted},
		{name: "no circleci", injected: &fakeSource{token: v1}, want: v1},
		{name: "minted v2 too long: injected v1", injected: &fakeSource{token: v1}, mint: &fakeSource{token: v2}, want: v1, wantNote: true},
		{name: "mint fails: injected", injected: &fakeSource{token: v1}, mint: &fakeSource{err: failure.New(failure.Unavailable, "down")}, want: v1, wantNote: true},
		{name: "injected about to expire", injected: &fakeSource{token: old}, wantErr: "expired", kind: failure.Auth},
		{name: "both fail", injected: &fakeSource{token: old}, mint: &fakeSource{err: failure.New(failure.Unavailable, "agent down")}, wantErr: "agent down", kind: failure.Auth},
		{name: "v2 injected", injected: &fakeSource{token: v2}, wantErr: "over the 127-byte limit", kind: failure.Usage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := SubjectOptions{Injected: *tt.injected, SubjectLimit: SubjectLimit, Now: clock}
			if tt.mint != nil {
				o.Mint = *tt.mint
			}
			s, err := SubjectToken(context.Background(), o)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || failure.KindOf(err) != tt.kind {
					t.Fatalf("err %v (kind %v), want %q kind %v", err, failure.KindOf(err), tt.wantErr, tt.kind)
				}
				for _, tok := range []string{v1, v2, old} {
					if strings.Contains(err.Error(), tok) || strings.Contains(err.Error(), strings.Split(tok, ".")[2]) {
						t.Fatal("error holds a token")
					}
				}
				return
			}
			if err != nil || s.Token != tt.want || (s.Note != "") != tt.wantNote {
				t.Fatalf("got %v, note %q, err %v", s.Token == tt.want, s.Note, err)
			}
			r := s.Response()
			if r.Version != 1 || !r.Success || r.TokenType != TokenTypeIDToken || r.ExpirationTime != s.Claims.Expiry.Unix() {
				t.Fatalf("response %+v", r)
			}
		})
	}
	if _, err := SubjectToken(context.Background(), SubjectOptions{Injected: fakeSource{token: v2}, Now: clock}); err != nil {
		t.Errorf("limit 0 must accept the v2 sub: %v", err)
	}
	r := ErrorResponse(failure.New(failure.Auth, "expired"))
	if r.Success || r.Code != "refused" || r.Message != "expired" || r.Version != 1 {
		t.Errorf("%+v", r)
	}
}

func TestProviderConfig(t *testing.T) {
	p := testProvider(t)
	c, err := NewProviderConfig(ProviderConfigOptions{OrgID: uuid, ProjectIDs: []string{"p1", "p2"}, VCSRef: "refs/heads/it's", Provider: &p, ServiceAccount: "d@p.iam.gserviceaccount.com"})
	if err != nil {
		t.Fatal(err)
	}
	wantCond := "assertion['oidc.circleci.com/org-id'] == '" + uuid + "' && assertion['oidc.circleci.com/project-id'] in ['p1', 'p2'] && assertion['oidc.circleci.com/vcs-ref'] == 'refs/heads/it\\'s'"
	if c.AttributeCondition != wantCond || c.IssuerURI != "https://oidc.circleci.com/org/"+uuid || c.AllowedAudiences[0] != uuid ||
		c.AttributeMapping["google.subject"] != "assertion.sub" || c.AttributeMapping["attribute.project"] != "assertion['oidc.circleci.com/project-id']" {
		t.Fatalf("%+v", c)
	}
	if len(c.Commands) != 3 || !strings.Contains(c.Commands[2], "principalSet://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/circleci/attribute.project/p2") {
		t.Fatalf("commands %q", c.Commands)
	}
	if !strings.HasPrefix(c.mappingFlag(), "google.subject=assertion.sub,attribute.org=") {
		t.Errorf("mapping %q", c.mappingFlag())
	}
	for _, o := range []ProviderConfigOptions{{OrgID: uuid}, {OrgID: "x' || true", ProjectIDs: []string{"p"}}, {OrgID: uuid, ProjectIDs: []string{"p' || true || '"}}} {
		if _, err := NewProviderConfig(o); err == nil || failure.KindOf(err) != failure.Usage {
			t.Errorf("%+v: %v", o, err)
		}
	}
}

func TestClassifyStatus(t *testing.T) {
	tests := []struct {
		status    int
		body      string
		kind      failure.Kind
		want      string
		transient bool
	}{
		{400, `{"error":"invalid_target","error_description":"The target service indicated by the \"audience\" parameters is invalid."}`, failure.NotFound, "does not know the workload identity provider", false},
		{400, `{"error":"invalid_grant","error_description":"The audience in ID Token [x] does not match the expected audience."}`, failure.Auth, "audience", false},
		{400, `{"error":"invalid_grant","error_description":"ID Token issued at 1 is stale to sign-in."}`, failure.Auth, "expired", false},
		{400, `{"error":"invalid_request","error_description":"The size of mapped attribute google.subject exceeds the 127 bytes limit."}`, failure.Usage, "127 bytes", false},
		{400, `{"error":"unauthorized_client","error_description":"The given credential is rejected by the attribute condition."}`, failure.Auth, "attribute condition", false},
		{403, `{"error":{"code":403,"message":"Permission 'iam.serviceAccounts.getAccessToken' denied","status":"PERMISSION_DENIED"}}`, failure.Auth, "impersonate", false},
		{503, `{"error":"temporarily_unavailable"}`, failure.Unavailable, "503", true},
		{429, `quota`, failure.Unavailable, "429", true},
		{404, `{"error":{"code":404,"message":"nope","status":"NOT_FOUND"}}`, failure.NotFound, "nope", false},
	}
	for _, tt := range tests {
		err, transient := classifyStatus(tt.status, tt.body)
		if failure.KindOf(err) != tt.kind || transient != tt.transient || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%d %s: %v (kind %v, transient %v)", tt.status, tt.body, err, failure.KindOf(err), transient)
		}
	}
	err, _ := Classify(context.Background(), errors.New("oauth2/google/externalaccount: executables need to be explicitly allowed (set GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES to '1') to run"), "")
	if failure.KindOf(err) != failure.Usage || failure.HintOf(err) == "" {
		t.Errorf("executables: %v", err)
	}
	if got := redact("bad token " + token(time.Now(), false, time.Hour) + " and ya29.abcdefABCDEF"); strings.Contains(got, "ya29.a") || strings.Count(got, "[redacted]") != 2 {
		t.Errorf("redact: %q", got)
	}
}

func TestIsGoogleRegistry(t *testing.T) {
	for host, want := range map[string]bool{"us-docker.pkg.dev": true, "europe-west1-docker.pkg.dev": true, "gcr.io": true, "eu.gcr.io": true,
		"GCR.IO": true, "docker.io": false, "evilgcr.io": false, "pkg.dev": false, "us-docker.pkg.dev.evil.com": false, "127.0.0.1:5000": false} {
		if IsGoogleRegistry(host) != want {
			t.Errorf("%s: want %v", host, want)
		}
	}
}
