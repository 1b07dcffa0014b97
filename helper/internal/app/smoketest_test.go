package app

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/shipgate/shipgate/helper/internal/testpeer/canary"
	"github.com/shipgate/shipgate/helper/internal/testpeer/httpservice"
)

// quick are timing flags that keep a CLI run short against a local service.
var quick = []string{"--interval", "20ms", "--request-timeout", "1s", "--timeout", "3s", "--successes", "1"}

func smokeArgs(args ...string) []string {
	return append(append([]string{"smoke-test"}, quick...), args...)
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestSmokeTestBadUsageBeforeAnyRequest(t *testing.T) {
	t.Parallel()
	svc := httpservice.Start(t, func(_ int, w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "ok") })
	good := svc.URL + "/health"
	file := func(content string) string { return writeFile(t, "smoke.yml", content) }
	cases := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"malformed URL", nil, []string{"--url", good, "--url", "http//app.example.com/health"}, "want an absolute http:// or https:// URL"},
		{"URL with a password", nil, []string{"--url", "http://bob:hunter2@127.0.0.1/"}, "carries a password"},
		{"invalid regular expression", nil, []string{"--url", good, "--body", `"status":\s*("ok"`}, "invalid regular expression"},
		{"bad JSON path", nil, []string{"--url", good, "--json", "build.version=1.2.3"}, "must start with '.'"},
		{"bad JSON index", nil, []string{"--url", good, "--json", ".items[x].name=a"}, "index [x]"},
		{"unknown status class", nil, []string{"--url", good, "--status", "2xx,7xx"}, `unknown status class "7xx"`},
		{"header naming an unset variable", nil, []string{"--url", good, "--header", "Authorization=env:SMOKE_TOKEN"}, "environment variable SMOKE_TOKEN is not set"},
		{"header naming an empty variable", map[string]string{"SMOKE_TOKEN": ""}, []string{"--url", good, "--header", "Authorization=env:SMOKE_TOKEN"}, "SMOKE_TOKEN is not set"},
		{"literal credential", nil, []string{"--url", good, "--header", "Authorization=Bearer abc123"}, "carries a credential"},
		{"header without value", nil, []string{"--url", good, "--header", "Authorization"}, "want NAME=VALUE"},
		{"checks file with a bad path", nil, []string{"--checks", file("checks:\n  - name: a\n    url: " + good + "\n  - name: b\n    url: " + good + "\n    expect: {json: {.a..b: 1}}\n")}, `check "b": JSON path`},
		{"checks file with an unset variable", nil, []string{"--checks", file("checks:\n  - name: a\n    url: " + good + "\n    headers: {X-Api-Key: env:API_KEY}\n")}, "API_KEY is not set"},
		{"checks file with a typo", nil, []string{"--checks", file("checks:\n  - name: a\n    url: " + good + "\n    expect: {bdy: ok}\n")}, "bdy"},
		{"missing checks file", nil, []string{"--checks", filepath.Join(t.TempDir(), "nope.yml")}, "reading checks file"},
		{"expectation flag without --url", nil, []string{"--checks", file("checks: [{name: a, url: '" + good + "'}]"), "--body", "ok"}, "--body describes --url checks"},
		{"nothing to check", nil, []string{}, "nothing to check"},
		{"both version flags", nil, []string{"--url", good, "--expect-version", "1", "--no-expect-version"}, "choose one"},
		{"version: true without a version", nil, []string{"--checks", file("checks: [{name: a, url: '" + good + "', expect: {version: true}}]")}, "needs a version"},
		{"unknown output", nil, []string{"--url", good, "--output", "yaml"}, "--output"},
		{"request timeout too long", nil, []string{"--url", good, "--request-timeout", "2m"}, "at most 30s"},
		{"successes cannot fit", nil, []string{"--url", good, "--successes", "5", "--interval", "1s", "--timeout", "3s"}, "needs more than --timeout"},
		{"zero interval", nil, []string{"--url", good, "--interval", "0s"}, "positive duration"},
		{"zero successes", nil, []string{"--url", good, "--successes", "0"}, "want 1 or more"},
		{"insecure and CA file", nil, []string{"--url", good, "--insecure", "--ca-file", file("x")}, "choose one"},
		{"CA file without certificates", nil, []string{"--url", good, "--ca-file", file("not a certificate")}, "no PEM certificate"},
		{"bad number from the environment", map[string]string{"SHIPGATE_FLAG_MAX_FAILURES": "lots"}, []string{"--url", good}, "SHIPGATE_FLAG_MAX_FAILURES"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := svc.Requests()
			r := runCLI(t, tc.env, smokeArgs(tc.args...)...)
			if r.code != 2 {
				t.Fatalf("exit %d, want 2\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stderr %q does not say %q", r.stderr, tc.want)
			}
			if n := strings.Count(strings.TrimSpace(r.stderr), "\n"); n > 1 {
				t.Errorf("more than one error line (plus hint): %q", r.stderr)
			}
			if got := svc.Requests() - before; got != 0 {
				t.Errorf("the service saw %d request(s) before the usage error", got)
			}
			if strings.Contains(r.stderr+r.stdout, "hunter2") || strings.Contains(r.stderr+r.stdout, "abc123") {
				t.Errorf("a credential from the command line was echoed: %q", r.stderr)
			}
		})
	}
}

func TestSmokeTestHealthyJSON(t *testing.T) {
	t.Parallel()
	svc := httpservice.Start(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"status":"ok","build":{"version":"1.4.0"},"items":[{"name":"widget"}]}`)
	})
	junit := filepath.Join(t.TempDir(), "reports", "smoke.xml")
	r := runCLI(t, map[string]string{"SHIPGATE_VERSION": "1.4.0"}, smokeArgs(
		"--url", svc.URL+"/health", "--status", "200", "--body", `"status":"ok"`,
		"--json", ".build.version=1.4.0", "--json", ".items[0].name=widget",
		"--expect-header", "Content-Type=application/json", "--output", "json", "--junit", junit)...)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var doc struct {
		Healthy bool   `json:"healthy"`
		Verdict string `json:"verdict"`
		Checks  []struct {
			Name            string `json:"name"`
			Outcome         string `json:"outcome"`
			LastStatus      int    `json:"lastStatus"`
			ExpectedVersion string `json:"expectedVersion"`
			VersionFoundIn  string `json:"versionFoundIn"`
		} `json:"checks"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || strings.Count(strings.TrimSpace(r.stdout), "\n") != 0 {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, r.stdout)
	}
	if !doc.Healthy || doc.Verdict != "healthy" || len(doc.Checks) != 1 || doc.Checks[0].Outcome != "passed" ||
		doc.Checks[0].LastStatus != 200 || doc.Checks[0].ExpectedVersion != "1.4.0" || doc.Checks[0].VersionFoundIn != "JSON .build.version" {
		t.Errorf("result %+v", doc)
	}
	if _, err := os.Stat(junit); err != nil {
		t.Errorf("JUnit report: %v", err)
	}
	if !strings.Contains(r.stderr, "pass 1/1") {
		t.Errorf("no progress on stderr: %q", r.stderr)
	}
}

func TestSmokeTestVersionComesFromShipgateVersion(t *testing.T) {
	t.Parallel()
	// The running service reports 1.4.0. The pipeline's own commit (CIRCLE_SHA1) is not the
	// version being checked; SHIPGATE_VERSION (the recorded version of the deployed digest) is.
	svc := httpservice.Start(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Version", "1.4.0")
	})
	cases := []struct {
		name string
		env  map[string]string
		args []string
		code int
	}{
		{"matching SHIPGATE_VERSION", map[string]string{"SHIPGATE_VERSION": "1.4.0", "CIRCLE_SHA1": "2.0.0"}, nil, 0},
		{"CIRCLE_SHA1 is never the expected version", map[string]string{"SHIPGATE_VERSION": "1.5.0", "CIRCLE_SHA1": "1.4.0"}, nil, 6},
		{"--expect-version wins", map[string]string{"SHIPGATE_VERSION": "1.5.0"}, []string{"--expect-version", "1.4.0"}, 0},
		{"SHIPGATE_FLAG_EXPECT_VERSION", map[string]string{"SHIPGATE_FLAG_EXPECT_VERSION": "1.3.9"}, nil, 6},
		{"--no-expect-version", map[string]string{"SHIPGATE_VERSION": "1.5.0"}, []string{"--no-expect-version"}, 0},
		{"no version known", nil, nil, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, tc.env, smokeArgs(append([]string{"--url", svc.URL, "--max-failures", "1"}, tc.args...)...)...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\n%s%s", r.code, tc.code, r.stdout, r.stderr)
			}
			if tc.code == 6 && !strings.Contains(r.stdout, "not found in headers, JSON fields or body; it serves header X-Version: 1.4.0") {
				t.Errorf("verdict does not explain the version mismatch:\n%s", r.stdout)
			}
		})
	}
}

type junitReport struct {
	Suites []struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Cases    []struct {
			Name    string `xml:"name,attr"`
			Failure *struct {
				Message string `xml:"message,attr"`
				Text    string `xml:",chardata"`
			} `xml:"failure"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func TestSmokeTestChecksFileAndJUnit(t *testing.T) {
	t.Parallel()
	svc := httpservice.Start(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/health":
			fmt.Fprint(w, `{"status":"ok","version":"7.1.0"}`)
		case "/login":
			http.Redirect(w, r, "/login/", http.StatusMovedPermanently)
		case "/login/":
			fmt.Fprint(w, "<form>")
		case "/orders":
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, `{"error":"database unavailable"}`)
		}
	})
	checks := writeFile(t, "smoke.yml", fmt.Sprintf(`
checks:
  - name: health
    url: %[1]s/health
    expect: {json: {.status: ok}, version: true}
  - name: login
    url: %[1]s/login
    followRedirects: true
    expect: {body: "<form>", version: false}
  - name: orders
    url: %[1]s/orders
    expect: {status: 200, version: false}
`, svc.URL))
	junit := filepath.Join(t.TempDir(), "smoke.xml")
	r := runCLI(t, map[string]string{"SHIPGATE_VERSION": "7.1.0"}, smokeArgs("--checks", checks, "--junit", junit, "--max-failures", "2")...)
	if r.code != 6 {
		t.Fatalf("exit %d, want 6\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, `unhealthy: check "orders" failed`) || !strings.Contains(r.stdout, "database unavailable") {
		t.Errorf("verdict:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "shipgate: error: smoke-test: unhealthy") {
		t.Errorf("stderr %q", r.stderr)
	}
	data, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var report junitReport
	if err := xml.Unmarshal(data, &report); err != nil {
		t.Fatalf("JUnit report does not parse: %v\n%s", err, data)
	}
	if len(report.Suites) != 1 || report.Suites[0].Tests != 3 || report.Suites[0].Failures != 1 {
		t.Fatalf("report %+v", report)
	}
	var names, failed []string
	for _, c := range report.Suites[0].Cases {
		names = append(names, c.Name)
		if c.Failure != nil {
			failed = append(failed, c.Name)
			if !strings.Contains(c.Failure.Text, "status 500, want 200") || !strings.Contains(c.Failure.Message, "--max-failures 2") {
				t.Errorf("failure %+v", c.Failure)
			}
		}
	}
	sort.Strings(names)
	if strings.Join(names, ",") != "health,login,orders" || strings.Join(failed, ",") != "orders" {
		t.Errorf("test cases %v, failed %v", names, failed)
	}
}

// TestSmokeTestSecretsNeverPrinted passes secrets in headers to a service that echoes every
// request header back (in its body, its headers and a redirect), and checks that no output
// and no report holds them, on passing and failing runs, in text and JSON.
func TestSmokeTestSecretsNeverPrinted(t *testing.T) {
	t.Parallel()
	const (
		tokenPart = canary.SmokeToken       // the credential part of the Authorization value
		traceTag  = "canary-trace-tag-5531" // a value no credential pattern would recognise
	)
	env := map[string]string{"SMOKE_TOKEN": "Bearer " + tokenPart, "TRACE_TAG": traceTag, "SHIPGATE_VERSION": "1.0.0"}
	echo := func(n int, w http.ResponseWriter, r *http.Request) {
		all, _ := json.Marshal(r.Header)
		w.Header().Set("X-Echo-Auth", r.Header.Get("Authorization"))
		w.Header().Set("X-Echo-Trace", r.Header.Get("X-Trace-Tag"))
		if r.URL.Path == "/redirect" {
			w.Header().Set("Location", "/next?seen="+r.Header.Get("X-Trace-Tag"))
			w.WriteHeader(http.StatusFound)
			return
		}
		if r.URL.Path == "/fail" {
			w.WriteHeader(http.StatusBadGateway)
		}
		fmt.Fprintf(w, "%s version 1.0.0 auth=%s trace %s", all, r.Header.Get("Authorization"), r.Header.Get("X-Trace-Tag"))
	}
	svc := httpservice.Start(t, echo)
	headers := []string{"--header", "Authorization=env:SMOKE_TOKEN", "--header", "X-Trace-Tag=env:TRACE_TAG"}
	checksFile := writeFile(t, "smoke.yml", fmt.Sprintf(`
checks:
  - name: file check
    url: %s/fail
    headers: {Authorization: "env:SMOKE_TOKEN", X-Trace-Tag: "env:TRACE_TAG"}
    expect: {body: "never matches", headers: {X-Echo-Trace: other}}
`, svc.URL))
	runs := [][]string{
		{"--url", svc.URL + "/ok"},
		{"--url", svc.URL + "/fail", "--body", "nope", "--json", ".x=1", "--expect-header", "X-Echo-Auth=other", "--max-failures", "2"},
		{"--url", svc.URL + "/redirect", "--max-failures", "1"},
		{"--url", svc.URL + "/ok", "--url", svc.URL + "/fail", "--max-failures", "1", "--expect-version", "9.9.9"},
		{"--checks", checksFile, "--max-failures", "1"},
	}
	failing := 0
	for i, args := range runs {
		for _, output := range []string{"text", "json"} {
			junit := filepath.Join(t.TempDir(), "junit.xml")
			all := append(append(append([]string{}, args...), "--output", output, "--junit", junit), headers...)
			if strings.HasPrefix(args[0], "--checks") {
				all = append(append([]string{}, args...), "--output", output, "--junit", junit)
			}
			r := runCLI(t, env, smokeArgs(all...)...)
			if r.code != 0 && r.code != 6 {
				t.Fatalf("run %d: exit %d\n%s", i, r.code, r.stderr)
			}
			if r.code == 6 {
				failing++
			}
			report, err := os.ReadFile(junit)
			if err != nil {
				t.Fatal(err)
			}
			for where, text := range map[string]string{"stdout": r.stdout, "stderr": r.stderr, "junit": string(report)} {
				for _, secret := range []string{tokenPart, traceTag, "canary"} {
					if strings.Contains(strings.ToLower(text), strings.ToLower(secret)) {
						t.Errorf("run %d (%s): %s shows %q:\n%s", i, output, where, secret, text)
					}
				}
			}
		}
	}
	if failing < 6 {
		t.Errorf("only %d failing runs: the failure paths (excerpts, mismatch messages) were not exercised", failing)
	}
	// The secrets did reach the service, so the checks above looked at output that could hold them.
	seen := 0
	for _, h := range svc.Headers() {
		if h.Get("Authorization") == "Bearer "+tokenPart && h.Get("X-Trace-Tag") == traceTag {
			seen++
		}
	}
	if seen == 0 {
		t.Fatal("the service never received the secret headers")
	}
}
