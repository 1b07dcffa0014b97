package smoke

import (
	"net/http"
	"strings"
	"testing"
)

func mustCompile(t *testing.T, spec CheckSpec, env compileEnv) (*Check, *redactor) {
	t.Helper()
	if env.red == nil {
		env.red = &redactor{}
	}
	if env.getenv == nil {
		env.getenv = func(string) string { return "" }
	}
	if spec.URL == "" {
		spec.URL = "http://service.test/health"
	}
	c, err := compile(spec, "test", env)
	if err != nil {
		t.Fatal(err)
	}
	return c, env.red
}

func TestEvaluate(t *testing.T) {
	jsonBody := `{"status":"ok","build":{"version":"1.2.3"},"items":[{"name":"widget"}]}`
	cases := []struct {
		name    string
		expect  ExpectSpec
		follow  bool
		resp    response
		problem string // "" means the attempt passes
	}{
		{"default status 2xx", ExpectSpec{}, false, response{status: 204}, ""},
		{"default status rejects 5xx", ExpectSpec{}, false, response{status: 503}, "status 503, want 2xx"},
		{"redirect not followed", ExpectSpec{}, false,
			response{status: 302, header: http.Header{"Location": {"https://login.example.com/?token=abc"}}},
			"redirect to https://login.example.com/?token=[REDACTED] not followed"},
		{"redirect accepted when expected", ExpectSpec{Status: "301,302"}, false, response{status: 302}, ""},
		{"status list", ExpectSpec{Status: "200,204"}, false, response{status: 201}, "status 201, want 200,204"},
		{"body regexp", ExpectSpec{Body: `"status":\s*"ok"`}, false, response{status: 200, body: []byte(jsonBody)}, ""},
		{"right status, wrong body", ExpectSpec{Body: `"status":"ok"`}, false,
			response{status: 200, body: []byte(`{"status":"starting"}`)}, `body does not match /"status":"ok"/`},
		{"json fields", ExpectSpec{JSON: Pairs{{".build.version", "1.2.3"}, {".items[0].name", "widget"}}}, false,
			response{status: 200, body: []byte(jsonBody)}, ""},
		{"json field differs", ExpectSpec{JSON: Pairs{{".build.version", "1.2.4"}}}, false,
			response{status: 200, body: []byte(jsonBody)}, `JSON .build.version is "1.2.3", want "1.2.4"`},
		{"json field missing", ExpectSpec{JSON: Pairs{{".build.commit", "abc"}}}, false,
			response{status: 200, body: []byte(jsonBody)}, `JSON .build.commit missing`},
		{"json expected, html served", ExpectSpec{JSON: Pairs{{".status", "ok"}}}, false,
			response{status: 200, body: []byte(`<html>`)}, "body is not JSON"},
		{"response header", ExpectSpec{Headers: Pairs{{"x-served-by", "web-2"}}}, false,
			response{status: 200, header: http.Header{"X-Served-By": {"web-1", "web-2"}}}, ""},
		{"response header differs", ExpectSpec{Headers: Pairs{{"X-Served-By", "web-3"}}}, false,
			response{status: 200, header: http.Header{"X-Served-By": {"web-1"}}}, `header X-Served-By is "web-1", want "web-3"`},
		{"response header missing", ExpectSpec{Headers: Pairs{{"X-Served-By", "web"}}}, false,
			response{status: 200, header: http.Header{}}, `header X-Served-By missing`},
		{"version in header", ExpectSpec{Version: VersionSpec{Mode: VersionExplicit, Value: "1.2.3"}}, false,
			response{status: 200, header: http.Header{"X-App-Version": {"app@1.2.3"}}}, ""},
		{"version in json", ExpectSpec{Version: VersionSpec{Mode: VersionExplicit, Value: "1.2.3"}}, false,
			response{status: 200, body: []byte(jsonBody)}, ""},
		{"version in body", ExpectSpec{Version: VersionSpec{Mode: VersionExplicit, Value: "v1.2.3"}}, false,
			response{status: 200, body: []byte("myapp 1.2.3 up")}, ""},
		{"previous version served", ExpectSpec{Version: VersionSpec{Mode: VersionExplicit, Value: "1.2.4"}}, false,
			response{status: 200, body: []byte(`{"version":"1.2.3"}`)}, "version 1.2.4 not found in headers, JSON fields or body; it serves JSON .version: 1.2.3"},
		{"version is a whole token", ExpectSpec{Version: VersionSpec{Mode: VersionExplicit, Value: "1.2.3"}}, false,
			response{status: 200, body: []byte(`{"version":"1.2.30","next":"1.2.3-rc1","x":"11.2.3"}`)}, "not found"},
		{"commit sha, short form served", ExpectSpec{Version: VersionSpec{Mode: VersionExplicit, Value: "3f2a9c1d4e5b6a7980f1e2d3c4b5a69788776655"}}, false,
			response{status: 200, header: http.Header{"X-Commit": {"3f2a9c1"}}}, ""},
		{"commit sha, another short form", ExpectSpec{Version: VersionSpec{Mode: VersionExplicit, Value: "3f2a9c1d4e5b6a7980f1e2d3c4b5a69788776655"}}, false,
			response{status: 200, header: http.Header{"X-Commit": {"3f2a9c2"}}}, "not found"},
		{"all problems reported", ExpectSpec{Body: "ok", JSON: Pairs{{".a", "1"}}}, false,
			response{status: 500, body: []byte("no")}, "status 500"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, red := mustCompile(t, CheckSpec{Expect: tc.expect, FollowRedirects: tc.follow}, compileEnv{})
			if tc.resp.header == nil {
				tc.resp.header = http.Header{}
			}
			problems, _ := evaluate(c, tc.resp, red)
			if tc.problem == "" {
				if len(problems) > 0 {
					t.Fatalf("problems %q, want none", problems)
				}
				return
			}
			if len(problems) == 0 || !strings.Contains(problems[0], tc.problem) {
				t.Fatalf("problems %q, want the first to say %q", problems, tc.problem)
			}
		})
	}
}

func TestEvaluateReportsEveryProblem(t *testing.T) {
	c, red := mustCompile(t, CheckSpec{Expect: ExpectSpec{Body: "ok", JSON: Pairs{{".a", "1"}}, Headers: Pairs{{"X", "y"}}, Version: VersionSpec{Mode: VersionExplicit, Value: "9"}}}, compileEnv{})
	problems, _ := evaluate(c, response{status: 500, header: http.Header{}, body: []byte("no")}, red)
	if len(problems) != 5 {
		t.Errorf("%d problems, want 5: %q", len(problems), problems)
	}
}

func TestVersionFoundIn(t *testing.T) {
	cases := []struct {
		resp response
		want string
	}{
		{response{header: http.Header{"X-Version": {"2.0.0"}}, body: []byte(`{"v":"2.0.0"}`)}, "header X-Version"},
		{response{header: http.Header{}, body: []byte(`{"build":{"tags":["x","2.0.0"]}}`)}, "JSON .build.tags[1]"},
		{response{header: http.Header{}, body: []byte(`{"odd key":"v2.0.0"}`)}, `JSON .["odd key"]`},
		{response{header: http.Header{}, body: []byte(`<p>release 2.0.0</p>`)}, "body"},
		{response{header: http.Header{}, body: []byte(`2.0.0.1`)}, ""},
	}
	for _, tc := range cases {
		if got := findVersion("2.0.0", tc.resp); got != tc.want {
			t.Errorf("%s: found in %q, want %q", tc.resp.body, got, tc.want)
		}
	}
}

func TestCompileUsageErrors(t *testing.T) {
	env := compileEnv{getenv: func(name string) string {
		return map[string]string{"SMOKE_TOKEN": "s3cret-value", "MULTILINE": "a\nb"}[name]
	}}
	cases := []struct {
		spec CheckSpec
		want string
	}{
		{CheckSpec{URL: "htp://x/"}, "want an absolute http"},
		{CheckSpec{URL: "http//x/"}, "want an absolute http"},
		{CheckSpec{URL: "/health"}, "want an absolute http"},
		{CheckSpec{URL: "http://"}, "want an absolute http"},
		{CheckSpec{URL: "http://[::1/"}, "malformed"},
		{CheckSpec{URL: "http://bob:hunter2@x/"}, "carries a password"},
		{CheckSpec{URL: "http://x/", Method: "get"}, "method"},
		{CheckSpec{URL: "http://x/", Expect: ExpectSpec{Body: "(unclosed"}}, "invalid regular expression"},
		{CheckSpec{URL: "http://x/", Expect: ExpectSpec{JSON: Pairs{{"build.version", "1"}}}}, "JSON path"},
		{CheckSpec{URL: "http://x/", Expect: ExpectSpec{Status: "7xx"}}, "unknown status class"},
		{CheckSpec{URL: "http://x/", Headers: Pairs{{"Authorization", "env:UNSET_TOKEN"}}}, "UNSET_TOKEN is not set"},
		{CheckSpec{URL: "http://x/", Headers: Pairs{{"Authorization", "env:"}}}, "not an environment variable name"},
		{CheckSpec{URL: "http://x/", Headers: Pairs{{"Authorization", "Bearer abc"}}}, "carries a credential"},
		{CheckSpec{URL: "http://x/", Headers: Pairs{{"X-Api-Key", "abc"}}}, "carries a credential"},
		{CheckSpec{URL: "http://x/", Headers: Pairs{{"X-Trace", "env:MULTILINE"}}}, "line break"},
		{CheckSpec{URL: "http://x/", Headers: Pairs{{"Bad Name", "x"}}}, "not a valid header name"},
		{CheckSpec{URL: "http://x/", Expect: ExpectSpec{Headers: Pairs{{"Bad:Name", "x"}}}}, "not a valid header name"},
		{CheckSpec{URL: "http://x/", Expect: ExpectSpec{Version: VersionSpec{Mode: VersionRequired}}}, "needs a version"},
	}
	for _, tc := range cases {
		env.red = &redactor{}
		_, err := compile(tc.spec, "check", env)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err %v, want one saying %q", tc.spec, err, tc.want)
			continue
		}
		for _, secret := range []string{"hunter2", "s3cret-value", "Bearer abc"} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q shows a secret", err)
			}
		}
	}
}

func TestCompileHeaders(t *testing.T) {
	env := compileEnv{getenv: func(name string) string { return map[string]string{"SMOKE_TOKEN": "Bearer s3cret-value"}[name] }}
	c, red := mustCompile(t, CheckSpec{Headers: Pairs{{"Authorization", "env:SMOKE_TOKEN"}, {"Accept", "application/json"}, {"Host", "app.example.com"}}}, env)
	if len(c.headers) != 2 || !c.headers[0].secret || c.headers[0].value != "Bearer s3cret-value" || c.headers[1].secret {
		t.Errorf("headers %+v", c.headers)
	}
	if c.host != "app.example.com" {
		t.Errorf("host %q", c.host)
	}
	if got := red.String("echo: Bearer s3cret-value and s3cret-value"); strings.Contains(got, "s3cret") {
		t.Errorf("secret header value not redacted: %q", got)
	}
}

func TestHasVersion(t *testing.T) {
	sha := "3F2A9C1D4E5B6A7980F1E2D3C4B5A69788776655"
	cases := []struct {
		text, want string
		found      bool
	}{
		{"version: 1.2.3", "1.2.3", true},
		{"version: v1.2.3.", "1.2.3", true},
		{"1.2.3", "v1.2.3", true},
		{"1.2.30", "1.2.3", false},
		{"1.2.3-rc1", "1.2.3", false},
		{"11.2.3", "1.2.3", false},
		{"release/1.2 deployed", "release/1.2", true},
		{"release/1.20 deployed", "release/1.2", true}, // written with a slash: plain containment
		{"commit 3f2a9c1", sha, true},
		{"commit 3f2a9c", sha, false},
		{"commit 3f2a9c1d4e5b6a7980f1e2d3c4b5a69788776655", sha, true},
		{"commit 3f2a9c1d4e5b6a7980f1e2d3c4b5a69788776656", sha, false},
		{"", "1", false},
	}
	for _, tc := range cases {
		if got := hasVersion(tc.text, tc.want); got != tc.found {
			t.Errorf("hasVersion(%q, %q) = %v, want %v", tc.text, tc.want, got, tc.found)
		}
	}
}

func FuzzHasVersion(f *testing.F) {
	f.Add("1.2.3", "version ", " ok")
	f.Add("3f2a9c1d4e5b6a7980f1e2d3c4b5a69788776655", `{"commit":"`, `"}`)
	f.Add("v2", "<b>", "</b>")
	f.Fuzz(func(t *testing.T, want, before, after string) {
		if want == "" || versionToken().FindString(want) != want {
			return
		}
		// A version set apart by characters that cannot be part of a version is always found.
		text := before + " " + want + " " + after
		if !hasVersion(text, want) {
			t.Fatalf("%q not found in %q", want, text)
		}
	})
}
