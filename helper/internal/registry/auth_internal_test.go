package registry

import "testing"

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
