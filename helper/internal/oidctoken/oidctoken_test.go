package oidctoken

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shipgate/shipgate/helper/internal/failure"
)

func segment(v any) string {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(data)
}

func jwt(header, claims any) string {
	return segment(header) + "." + segment(claims) + ".c2lnbmF0dXJlLWJ5dGVz"
}

var rs256 = map[string]any{"alg": "RS256", "kid": "k1", "typ": "JWT"}

func validClaims() map[string]any {
	return map[string]any{
		"iss":                           "https://oidc.circleci.com/org/0rg",
		"aud":                           "0rg",
		"sub":                           "org/0rg/project/pr0j/user/us3r/vcs-origin/github.com/acme/app/vcs-ref/refs/heads/main",
		"exp":                           1800003600,
		"iat":                           1800000000,
		"oidc.circleci.com/project-id":  "pr0j",
		"oidc.circleci.com/org-id":      "0rg",
		"oidc.circleci.com/context-ids": []string{"c1", "c2"},
		"oidc.circleci.com/ssh-rerun":   true,
		"oidc.circleci.com/vcs-origin":  "github.com/acme/app",
		"oidc.circleci.com/vcs-ref":     "refs/heads/main",
	}
}

func with(key string, value any) map[string]any {
	c := validClaims()
	if value == nil {
		delete(c, key)
	} else {
		c[key] = value
	}
	return c
}

func TestDecode(t *testing.T) {
	c, err := Decode(jwt(rs256, validClaims()))
	if err != nil {
		t.Fatal(err)
	}
	if c.Issuer != "https://oidc.circleci.com/org/0rg" || len(c.Audience) != 1 || c.Audience[0] != "0rg" ||
		c.ProjectID != "pr0j" || c.OrgID != "0rg" || !c.SSHRerun || len(c.ContextIDs) != 2 ||
		c.VCSRef != "refs/heads/main" || c.SubjectVersion() != 2 || c.KeyID != "k1" || c.Algorithm != "RS256" {
		t.Fatalf("claims %+v", c)
	}
	if !c.Expiry.Equal(time.Unix(1800003600, 0)) || !c.IssuedAt.Equal(time.Unix(1800000000, 0)) {
		t.Fatalf("times %v %v", c.Expiry, c.IssuedAt)
	}
	arr, err := Decode(jwt(rs256, with("aud", []string{"a", "b"})))
	if err != nil || len(arr.Audience) != 2 || arr.Audience[1] != "b" {
		t.Fatalf("array aud: %v %+v", err, arr)
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name, token, want string
	}{
		{"empty", "  ", "OIDC token is empty"},
		{"one part", "abcdef", "not a JWT: 1 dot-separated parts"},
		{"four parts", "a.b.c.d", "not a JWT: 4 dot-separated parts"},
		{"header not base64", "!!!." + segment(validClaims()) + ".sig", "header: not base64url"},
		{"header not json", base64.RawURLEncoding.EncodeToString([]byte("nope")) + "." + segment(validClaims()) + ".sig", "header: not a JSON object"},
		{"claims not json", segment(rs256) + "." + base64.RawURLEncoding.EncodeToString([]byte("[1]")) + ".sig", "claims: not a JSON object"},
		{"alg none", jwt(map[string]any{"alg": "none"}, validClaims()), `unsigned (alg "none")`},
		{"no alg", jwt(map[string]any{"typ": "JWT"}, validClaims()), `unsigned (alg "")`},
		{"empty signature", segment(rs256) + "." + segment(validClaims()) + ".", "signature is empty"},
		{"aud number", jwt(rs256, with("aud", 5)), `claim "aud" is neither a string nor an array`},
		{"iss number", jwt(rs256, with("iss", 5)), `claim "iss" is not a string`},
		{"exp string", jwt(rs256, with("exp", "tomorrow")), `claim "exp" is not a number`},
		{"exp negative", jwt(rs256, with("exp", -5)), `claim "exp" is out of range`},
		{"ssh-rerun string", jwt(rs256, with("oidc.circleci.com/ssh-rerun", "yes")), "not a boolean"},
		{"missing sub", jwt(rs256, with("sub", nil)), "missing sub"},
		{"missing iss and aud", jwt(rs256, func() map[string]any { c := with("iss", nil); delete(c, "aud"); return c }()), "missing iss, aud"},
		{"missing exp", jwt(rs256, with("exp", nil)), "missing exp"},
		{"huge", strings.Repeat("a", maxTokenLength+1), "bytes long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(tt.token)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to contain %q", err, tt.want)
			}
			if failure.KindOf(err) != failure.Usage {
				t.Errorf("kind %v, want usage", failure.KindOf(err))
			}
			if len(tt.token) > 10 && strings.Contains(err.Error(), tt.token) {
				t.Errorf("error repeats the token")
			}
		})
	}
}

func TestCheckExpiry(t *testing.T) {
	c, err := Decode(jwt(rs256, validClaims()))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CheckExpiry(c.Expiry.Add(-time.Hour), 30*time.Second); err != nil {
		t.Fatalf("fresh token refused: %v", err)
	}
	err = c.CheckExpiry(c.Expiry.Add(90*time.Second), 0)
	if err == nil || failure.KindOf(err) != failure.Auth {
		t.Fatalf("expired token: %v", err)
	}
	for _, want := range []string{"expired at 2027-01-15T09:00:00Z", "1m30s ago", `iss "https://oidc.circleci.com/org/0rg"`, `aud "0rg"`, `sub "org/0rg/project/pr0j`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
	if err := c.CheckExpiry(c.Expiry.Add(-10*time.Second), 30*time.Second); err == nil {
		t.Error("token expiring within the skew accepted")
	}
}

func TestEnvSource(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		varName  string
		want     string
		wantErr  string
		describe string
	}{
		{"v2 preferred", map[string]string{EnvV2: "two", EnvV1: "one"}, "", "two", "", "$CIRCLE_OIDC_TOKEN_V2"},
		{"v1 fallback", map[string]string{EnvV2: " ", EnvV1: "one\n"}, "", "one", "", "$CIRCLE_OIDC_TOKEN"},
		{"none", nil, "", "", "both empty or unset", "$CIRCLE_OIDC_TOKEN_V2 / $CIRCLE_OIDC_TOKEN"},
		{"named", map[string]string{"MY_TOKEN": "mine", EnvV2: "two"}, "MY_TOKEN", "mine", "", "$MY_TOKEN"},
		{"named empty", map[string]string{EnvV2: "two"}, "MY_TOKEN", "", "$MY_TOKEN is empty or unset", "$MY_TOKEN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := EnvSource{Getenv: func(k string) string { return tt.env[k] }, Name: tt.varName}
			got, err := src.Token(context.Background())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || failure.KindOf(err) != failure.Usage {
					t.Fatalf("err %v, want usage error with %q", err, tt.wantErr)
				}
			} else if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
			if d := src.Describe(); d != tt.describe {
				t.Errorf("describe %q, want %q", d, tt.describe)
			}
		})
	}
}

func TestFileSource(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "token")
	if err := os.WriteFile(good, []byte("  abc.def.ghi\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := (FileSource{Path: good}).Token(context.Background()); err != nil || got != "abc.def.ghi" {
		t.Fatalf("got %q %v", got, err)
	}
	for path, want := range map[string]string{empty: "is empty", filepath.Join(dir, "missing"): "reading OIDC token file"} {
		_, err := (FileSource{Path: path}).Token(context.Background())
		if err == nil || !strings.Contains(err.Error(), want) || failure.KindOf(err) != failure.Usage {
			t.Errorf("%s: %v, want usage error with %q", path, err, want)
		}
	}
}

func TestMintSource(t *testing.T) {
	var gotName string
	var gotArgs []string
	run := func(_ context.Context, name string, args ...string) ([]byte, []byte, error) {
		gotName, gotArgs = name, args
		return []byte("minted.token.value\n"), nil, nil
	}
	tok, err := MintSource{Audience: `aud "quoted"`, Run: run}.Token(context.Background())
	if err != nil || tok != "minted.token.value" {
		t.Fatalf("got %q %v", tok, err)
	}
	want := []string{"run", "oidc", "get", "--claims", `{"aud":"aud \"quoted\""}`}
	if gotName != "circleci" || strings.Join(gotArgs, "|") != strings.Join(want, "|") {
		t.Fatalf("ran %s %q, want circleci %q", gotName, gotArgs, want)
	}

	leaky := "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4eHh4eHh4In0.c2lnbmF0dXJl"
	failing := func(context.Context, string, ...string) ([]byte, []byte, error) {
		return []byte(leaky), []byte("error: token " + leaky + " rejected\nmore"), errors.New("exit status 1")
	}
	_, err = MintSource{Audience: "a", Run: failing}.Token(context.Background())
	if err == nil || strings.Contains(err.Error(), leaky) || !strings.Contains(err.Error(), "[redacted] rejected") ||
		failure.KindOf(err) != failure.Unavailable {
		t.Fatalf("failing CLI: %v", err)
	}

	_, err = MintSource{Audience: "a", Program: filepath.Join(t.TempDir(), "no-such-circleci")}.Token(context.Background())
	if err == nil || failure.KindOf(err) != failure.Usage {
		t.Fatalf("missing CLI: %v (kind %v)", err, failure.KindOf(err))
	}

	empty := func(context.Context, string, ...string) ([]byte, []byte, error) { return []byte("\n"), nil, nil }
	if _, err := (MintSource{Audience: "a", Run: empty}).Token(context.Background()); err == nil {
		t.Fatal("empty output accepted")
	}
	if _, err := (MintSource{Run: run}).Token(context.Background()); err == nil {
		t.Fatal("no audience accepted")
	}
}

// FuzzDecode checks that decoding never panics, that errors never repeat the token, and that a
// successful decode has every claim a relying party needs.
func FuzzDecode(f *testing.F) {
	f.Add(jwt(rs256, validClaims()))
	f.Add(jwt(rs256, with("aud", []string{"a", "b"})))
	f.Add(jwt(map[string]any{"alg": "none"}, validClaims()))
	f.Add(jwt(rs256, with("exp", 1e300)))
	f.Add(jwt(rs256, with("exp", "x")))
	f.Add("a.b.c")
	f.Add("..")
	f.Add("")
	f.Fuzz(func(t *testing.T, token string) {
		c, err := Decode(token)
		if err != nil {
			if len(strings.TrimSpace(token)) >= 16 && strings.Contains(err.Error(), strings.TrimSpace(token)) {
				t.Fatalf("error repeats the token: %v", err)
			}
			return
		}
		if c.Issuer == "" || c.Subject == "" || len(c.Audience) == 0 || c.Expiry.IsZero() {
			t.Fatalf("decoded without required claims: %+v", c)
		}
		if strings.EqualFold(c.Algorithm, "none") || c.Algorithm == "" {
			t.Fatalf("accepted alg %q", c.Algorithm)
		}
	})
}
