package registry

import (
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestParseChallenge(t *testing.T) {
	cases := []struct {
		in, scheme, realm, service, scope string
	}{
		{`Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"`,
			"bearer", "https://auth.docker.io/token", "registry.docker.io", "repository:library/alpine:pull"},
		{`Basic realm="Registry Realm"`, "basic", "Registry Realm", "", ""},
		{`bearer realm=https://ghcr.io/token, service=ghcr.io`, "bearer", "https://ghcr.io/token", "ghcr.io", ""},
		{`Bearer realm="a\"b",service="x,y"`, "bearer", `a"b`, "x,y", ""},
		{`Bearer`, "bearer", "", "", ""},
		{`Bearer realm="unterminated`, "bearer", "unterminated", "", ""},
	}
	for _, c := range cases {
		scheme, params := parseChallenge(c.in)
		if scheme != c.scheme || params["realm"] != c.realm || params["service"] != c.service || params["scope"] != c.scope {
			t.Errorf("%q: %q %v", c.in, scheme, params)
		}
	}
}

func TestCoversScopes(t *testing.T) {
	have := []string{"repository:a:push,pull", "repository:b:pull"}
	for want, ok := range map[string]bool{"repository:a:pull": true, "repository:a:push,pull": true, "repository:b:pull": true,
		"repository:b:push,pull": false, "repository:c:pull": false} {
		if coversScopes(have, []string{want}) != ok {
			t.Errorf("%s: want %v", want, ok)
		}
	}
}

// FuzzParseChallenge: any WWW-Authenticate value parses without panicking into a lower-case
// scheme and parameters with lower-case names.
func FuzzParseChallenge(f *testing.F) {
	f.Add(`Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:a:pull"`)
	f.Add(`Basic realm="x"`)
	f.Add(`Bearer realm="a\"b",service=`)
	f.Fuzz(func(t *testing.T, value string) {
		scheme, params := parseChallenge(value)
		if scheme != strings.ToLower(scheme) {
			t.Errorf("scheme %q not lower case", scheme)
		}
		for k := range params {
			if k != strings.ToLower(k) {
				t.Errorf("parameter %q not lower case", k)
			}
		}
	})
}

// FuzzServerTextNeverShowsACredential (issue 14 class 1): whatever a registry puts around a
// credential the client holds, the text shown has none of its forms, no control characters,
// and is bounded.
func FuzzServerTextNeverShowsACredential(f *testing.F) {
	f.Add("denied: you sent ", " as your password", "s3cr3t-Pa55word")
	f.Add("\x1b[31m", "\n", "Zx8Qm2Lp9Rt4Vw7Y")
	f.Fuzz(func(t *testing.T, before, after, secret string) {
		if len(secret) < 8 || strings.ContainsAny(secret, " \t\r\n") || !utf8.ValidString(secret) {
			return
		}
		c := New(Options{})
		c.redact.Add(secret)
		c.redact.Add(basicHeader("user", secret))
		for _, form := range []string{secret, base64.StdEncoding.EncodeToString([]byte("user:" + secret)), url.QueryEscape(secret)} {
			got := c.serverText(before+form+after, maxServerText)
			if strings.Contains(got, secret) {
				t.Fatalf("%q shown: %q", secret, got)
			}
			for _, r := range got {
				if unicode.IsControl(r) {
					t.Fatalf("control character in %q", got)
				}
			}
			if len(got) > maxServerText+len("…")+4 {
				t.Fatalf("%d bytes shown", len(got))
			}
		}
	})
}
