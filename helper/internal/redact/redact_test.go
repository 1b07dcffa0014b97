package redact

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

func TestRedactor(t *testing.T) {
	red := &Redactor{}
	red.Add("canary-0123")
	red.Add("abc") // too short to replace verbatim
	cases := []struct{ in, gone, kept string }{
		{"token is canary-0123!", "canary-0123", "token is"},
		{`{"password":"hunter2","user":"bob"}`, "hunter2", `"user":"bob"`},
		{`{"access_token": "x1y2z3", "expires_in": 3600}`, "x1y2z3", "3600"},
		{"api_key=k-98765&page=2", "k-98765", "page=2"},
		{"Authorization: Bearer abcdef123456", "abcdef123456", "Bearer"},
		{"jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJl end", "eyJzdWIiOiIxMjM0In0", "end"},
		{"key AKIAIOSFODNN7EXAMPLE here", "AKIAIOSFODNN7EXAMPLE", "here"},
		{"gh ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789", "ghp_aBcDeF", "gh "},
		{"slack xoxb-1234567890-abcdefghij", "xoxb-1234567890", "slack"},
		{"random Zx8Qm2Lp9Rt4Vw7Yb3Nc6Kd1Hf5Gj0As in text", "Zx8Qm2Lp9Rt4Vw7Yb3Nc6Kd1Hf5Gj0As", "in text"},
		{"-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY----- after", "MIIEow", "after"},
		// Versions, commit SHAs and digests stay readable.
		{"commit 3f2a9c1d4e5b6a7980f1e2d3c4b5a69788776655 version 1.2.3", "", "3f2a9c1d4e5b6a7980f1e2d3c4b5a69788776655 version 1.2.3"},
		{"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "", "sha256:0123456789abcdef"},
		{"abc stays", "", "abc stays"},
	}
	for _, tc := range cases {
		got := red.String(tc.in)
		if tc.gone != "" && strings.Contains(got, tc.gone) {
			t.Errorf("%q -> %q still holds %q", tc.in, got, tc.gone)
		}
		if !strings.Contains(got, tc.kept) {
			t.Errorf("%q -> %q lost %q", tc.in, got, tc.kept)
		}
	}
}

func TestRedactorEscapedSecrets(t *testing.T) {
	red := &Redactor{}
	secret := "a+b/c d<e>&\"f"
	red.Add(secret)
	quoted, _ := json.Marshal(secret)
	for _, echoed := range []string{secret, url.QueryEscape(secret), url.PathEscape(secret), string(quoted)} {
		if got := red.String("x " + echoed + " y"); strings.Contains(got, "c") && strings.Contains(got, "d") {
			t.Errorf("%q -> %q", echoed, got)
		}
	}
}

func TestExcerpt(t *testing.T) {
	red := &Redactor{}
	red.Add("canary-0123")
	body := "line one\n\n  line two   " + strings.Repeat("x ", 200) + "canary-0123"
	got := red.Excerpt([]byte(body))
	if strings.Contains(got, "\n") || strings.Contains(got, "  ") {
		t.Errorf("excerpt not folded to one line: %q", got)
	}
	if n := len([]rune(got)); n > excerptLength+1 {
		t.Errorf("excerpt of %d characters", n)
	}
	if !strings.HasPrefix(got, "line one line two x x") || !strings.HasSuffix(got, "…") {
		t.Errorf("excerpt %q", got)
	}
	// A secret right at the cut is redacted before cutting, so no prefix of it shows.
	for cut := excerptLength - 12; cut <= excerptLength; cut++ {
		body := strings.Repeat("y", cut) + "canary-0123" + strings.Repeat("z", 50)
		if got := red.Excerpt([]byte(body)); strings.Contains(got, "canary") || strings.Contains(got, "-0123") {
			t.Errorf("cut at %d shows part of the secret: %q", cut, got)
		}
	}
	if got := red.Excerpt([]byte{0xff, 'o', 'k'}); got != "?ok" {
		t.Errorf("invalid UTF-8: %q", got)
	}
}

func TestDisplayURL(t *testing.T) {
	red := &Redactor{}
	u, _ := url.Parse("https://bob@app.example.com/health?access_token=t0ps3cret&page=2")
	got := red.URL(u)
	if strings.Contains(got, "t0ps3cret") || !strings.Contains(got, "page=2") || !strings.Contains(got, "app.example.com/health") {
		t.Errorf("%q", got)
	}
}

// A Basic credential echoed by a registry (issue 14): the header value, its base64 alone, the
// decoded user:password and the password alone are all removed.
func TestRedactorBasicCredentialForms(t *testing.T) {
	red := &Redactor{}
	red.Add("ci-user:s3cr3t-Pa55")
	red.Add("Basic Y2ktdXNlcjpzM2NyM3QtUGE1NQ==")
	for _, echoed := range []string{
		"Authorization: Basic Y2ktdXNlcjpzM2NyM3QtUGE1NQ==",
		"got Y2ktdXNlcjpzM2NyM3QtUGE1NQ== from you",
		"user ci-user:s3cr3t-Pa55 denied",
		`{"password":"s3cr3t-Pa55"}`,
		"password s3cr3t-Pa55 wrong",
		"escaped s3cr3t%2DPa55? no: " + "s3cr3t-Pa55",
	} {
		got := red.String(echoed)
		if strings.Contains(got, "s3cr3t-Pa55") || strings.Contains(got, "Y2ktdXNlcjpzM2NyM3QtUGE1NQ") {
			t.Errorf("%q -> %q", echoed, got)
		}
	}
}
