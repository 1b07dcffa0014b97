package smoke

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const exampleChecksFile = `
checks:
  - name: health
    url: https://app.example.com/healthz
    headers:
      Authorization: env:SMOKE_TOKEN
      Accept: application/json
    expect:
      status: 200
      body: '"status":\s*"ok"'
      json:
        .build.version: "1.2.3"
        .items[0].name: widget
        .count: 3
        .ready: true
        .gone: ~
      headers:
        X-Served-By: web
      version: true
  - name: login page
    url: https://app.example.com/login
    method: HEAD
    followRedirects: true
    expect: {status: [2xx, 304], version: false}
  - name: pinned
    url: http://127.0.0.1:8080/version
    expect:
      version: 1.10
`

func TestParseChecksFile(t *testing.T) {
	specs, err := ParseChecksFile([]byte(exampleChecksFile))
	if err != nil {
		t.Fatal(err)
	}
	want := []CheckSpec{
		{
			Name: "health", URL: "https://app.example.com/healthz",
			Headers: Pairs{{"Authorization", "env:SMOKE_TOKEN"}, {"Accept", "application/json"}},
			Expect: ExpectSpec{
				Status: "200", Body: `"status":\s*"ok"`,
				JSON:    Pairs{{".build.version", "1.2.3"}, {".items[0].name", "widget"}, {".count", "3"}, {".ready", "true"}, {".gone", "null"}},
				Headers: Pairs{{"X-Served-By", "web"}},
				Version: VersionSpec{Mode: VersionRequired},
			},
		},
		{
			Name: "login page", URL: "https://app.example.com/login", Method: "HEAD", FollowRedirects: true,
			Expect: ExpectSpec{Status: "2xx,304", Version: VersionSpec{Mode: VersionOff}},
		},
		{
			Name: "pinned", URL: "http://127.0.0.1:8080/version",
			// A version is read as written: 1.10 stays 1.10, not the number 1.1.
			Expect: ExpectSpec{Version: VersionSpec{Mode: VersionExplicit, Value: "1.10"}},
		},
	}
	if !reflect.DeepEqual(specs, want) {
		t.Errorf("got  %+v\nwant %+v", specs, want)
	}
}

func TestParseChecksFileRejects(t *testing.T) {
	cases := map[string]string{
		"":                            "empty",
		"checks: []":                  "no checks",
		"checks:\n  - url: http://x/": "no name",
		"checks:\n  - name: a":        "no url",
		"checks:\n  - {name: a, url: http://x/}\n  - {name: a, url: http://y/}": "used twice",
		"checks:\n  - {name: a, url: http://x/, expct: {}}":                     "expct",
		"checks:\n  - {name: a, url: http://x/, expect: {stauts: 200}}":         "stauts",
		"checks:\n  - {name: a, url: http://x/, expect: {json: [.a]}}":          "mapping",
		"checks:\n  - {name: a, url: http://x/, expect: {json: {.a: [1]}}}":     "single value",
		"checks:\n  - {name: a, url: http://x/, headers: {A: 1, A: 2}}":         "", // YAML itself refuses duplicate keys
		"checks:\n  - {name: a, url: http://x/, expect: {version: [1]}}":        "version",
		"checks:\n  - {name: a, url: http://x/, expect: {status: {a: 1}}}":      "status",
		"checks:\n  - {name: a, url: http://x/}\n---\nchecks: []":               "more than one",
		"urls: [http://x/]": "urls",
		"- name: a":         "",
	}
	for text, want := range cases {
		if _, err := ParseChecksFile([]byte(text)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err %v, want one saying %q", text, err, want)
		}
	}
}

func TestLoadChecksFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "smoke.yml")
	if err := os.WriteFile(path, []byte(exampleChecksFile), 0o644); err != nil {
		t.Fatal(err)
	}
	specs, err := LoadChecksFile(path)
	if err != nil || len(specs) != 3 {
		t.Fatalf("%d checks, %v", len(specs), err)
	}
	if _, err := LoadChecksFile(filepath.Join(dir, "missing.yml")); err == nil {
		t.Error("missing file accepted")
	}
	big := filepath.Join(dir, "big.yml")
	if err := os.WriteFile(big, []byte("# "+strings.Repeat("x", maxChecksFileSize)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadChecksFile(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversized file: %v", err)
	}
}

func FuzzParseChecksFile(f *testing.F) {
	f.Add([]byte(exampleChecksFile))
	for _, seed := range []string{
		"checks:\n  - {name: a, url: http://x/}",
		"checks:\n  - {name: a, url: http://x/, expect: {status: [200, 2xx], json: {.a: 1}, version: false}}",
		"checks: [{name: a, url: 'http://x/', headers: {X: env:Y}, expect: {headers: {A: b}, version: true}}]",
		"checks:\n  - name: &a x\n    url: *a",
		"checks: !!map {}",
		"",
		"---\n...",
	} {
		f.Add([]byte(seed))
	}
	env := compileEnv{getenv: func(string) string { return "value" }, version: "1.2.3"}
	f.Fuzz(func(t *testing.T, data []byte) {
		specs, err := ParseChecksFile(data)
		if err != nil {
			return
		}
		if len(specs) == 0 {
			t.Fatal("no checks and no error")
		}
		names := map[string]bool{}
		for _, s := range specs {
			if s.Name == "" || s.URL == "" || names[s.Name] {
				t.Fatalf("accepted check %+v", s)
			}
			names[s.Name] = true
			// Compiling must never panic, whatever the file held.
			env.red = &redactor{}
			_, _ = compile(s, "fuzz", env)
		}
	})
}
