package smoke

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shipgate/shipgate/helper/internal/testpeer/httpservice"
)

// Real-server tests: real HTTP(S) servers on 127.0.0.1, the real clock, short intervals.
// Durations are only checked against generous bounds.

// fast are timing options that keep a real-server test short.
func fast(opts Options) Options {
	if opts.Timeout == 0 {
		opts.Timeout = 5 * time.Second
	}
	if opts.Interval == 0 {
		opts.Interval = 40 * time.Millisecond
	}
	if opts.RequestTimeout == 0 {
		opts.RequestTimeout = time.Second
	}
	if opts.Successes == 0 {
		opts.Successes = 2
	}
	return opts
}

type realRun struct {
	res      *Result
	progress string
	elapsed  time.Duration
}

func runReal(t *testing.T, opts Options) realRun {
	t.Helper()
	var progress bytes.Buffer
	opts = fast(opts)
	opts.Progress = &progress
	start := time.Now()
	res, err := Run(context.Background(), opts)
	elapsed := time.Since(start)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, progress.String())
	}
	return realRun{res: res, progress: progress.String(), elapsed: elapsed}
}

func ok(body string) httpservice.Handler {
	return func(_ int, w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, body) }
}

func TestServiceComesUpLate(t *testing.T) {
	svc := httpservice.StartLate(t, 300*time.Millisecond, ok(`{"status":"ok","version":"2.0.0"}`))
	r := runReal(t, Options{Checks: []CheckSpec{{URL: svc.URL + "/health"}}, Version: "2.0.0"})
	if !r.res.Healthy {
		t.Fatalf("unhealthy: %s\n%s", r.res.Reason, r.progress)
	}
	c := r.res.Checks[0]
	if c.Failures == 0 || !strings.Contains(r.progress, "connection refused") {
		t.Errorf("no refused attempt before the service came up (%d failures)\n%s", c.Failures, r.progress)
	}
	if c.VersionFoundIn != "JSON .version" || svc.Requests() != 2 {
		t.Errorf("version found in %q after %d requests", c.VersionFoundIn, svc.Requests())
	}
}

func TestFlappingServiceIsUnhealthy(t *testing.T) {
	svc := httpservice.Start(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n%2 == 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		fmt.Fprint(w, "ok")
	})
	r := runReal(t, Options{Checks: []CheckSpec{{URL: svc.URL}}, Successes: 2, MaxFailures: 4})
	if r.res.Healthy {
		t.Fatalf("flapping service judged healthy\n%s", r.progress)
	}
	if got := svc.Requests(); got != 8 {
		t.Errorf("%d requests, want 8 (4 passes between 4 failures)", got)
	}
	if !strings.Contains(r.res.Reason, "--max-failures 4") {
		t.Errorf("reason %q", r.res.Reason)
	}
}

func TestSlowService(t *testing.T) {
	slow := func(delayed int) httpservice.Handler {
		return func(n int, w http.ResponseWriter, req *http.Request) {
			if n <= delayed {
				select {
				case <-time.After(3 * time.Second):
				case <-req.Context().Done():
					return
				}
			}
			fmt.Fprint(w, "ok")
		}
	}
	t.Run("recovers", func(t *testing.T) {
		svc := httpservice.Start(t, slow(2))
		r := runReal(t, Options{Checks: []CheckSpec{{URL: svc.URL}}, RequestTimeout: 200 * time.Millisecond})
		if !r.res.Healthy {
			t.Fatalf("unhealthy: %s\n%s", r.res.Reason, r.progress)
		}
		if r.res.Checks[0].Failures != 2 || !strings.Contains(r.progress, "no answer within 200ms") {
			t.Errorf("%d failures\n%s", r.res.Checks[0].Failures, r.progress)
		}
	})
	t.Run("stays slow", func(t *testing.T) {
		svc := httpservice.Start(t, slow(1000))
		r := runReal(t, Options{Checks: []CheckSpec{{URL: svc.URL}}, RequestTimeout: 150 * time.Millisecond, Timeout: time.Second})
		if r.res.Healthy {
			t.Fatal("healthy")
		}
		// Generous bound: deadline + one request timeout + slack for a loaded machine.
		if limit := time.Second + 150*time.Millisecond + 3*time.Second; r.elapsed > limit {
			t.Errorf("took %s", r.elapsed)
		}
	})
}

func TestServiceNeverAnswers(t *testing.T) {
	url := httpservice.Silent(t)
	r := runReal(t, Options{Checks: []CheckSpec{{URL: url}}, Timeout: 800 * time.Millisecond, RequestTimeout: 300 * time.Millisecond})
	if r.res.Healthy {
		t.Fatal("healthy")
	}
	c := r.res.Checks[0]
	if c.LastStatus != 0 || !strings.Contains(c.LastResult, "no answer within 300ms") {
		t.Errorf("last %d %q", c.LastStatus, c.LastResult)
	}
	if limit := 800*time.Millisecond + 300*time.Millisecond + 3*time.Second; r.elapsed > limit {
		t.Errorf("took %s, want well under %s", r.elapsed, limit)
	}
}

func TestRedirects(t *testing.T) {
	env := func(name string) string { return map[string]string{"SMOKE_TOKEN": "tok-7f3e9a"}[name] }
	var other *httpservice.Service
	other = httpservice.Start(t, ok("elsewhere ok"))
	svc := httpservice.Start(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/old":
			http.Redirect(w, r, "/new", http.StatusFound)
		case "/away":
			http.Redirect(w, r, other.URL+"/landing", http.StatusFound)
		default:
			fmt.Fprint(w, "new ok")
		}
	})
	headers := Pairs{{"X-Smoke-Token", "env:SMOKE_TOKEN"}, {"Accept", "text/plain"}}

	t.Run("not followed by default", func(t *testing.T) {
		r := runReal(t, Options{Checks: []CheckSpec{{URL: svc.URL + "/old"}}, MaxFailures: 1, Getenv: env})
		if r.res.Healthy {
			t.Fatal("a redirect passed as healthy")
		}
		if p := r.res.Checks[0].Problems; len(p) != 1 || !strings.Contains(p[0], "status 302, want 2xx (redirect to "+svc.URL+"/new not followed") {
			t.Errorf("problems %q", p)
		}
	})
	t.Run("expected as such", func(t *testing.T) {
		r := runReal(t, Options{Checks: []CheckSpec{{URL: svc.URL + "/old", Expect: ExpectSpec{Status: "302", Headers: Pairs{{"Location", "/new"}}}}}})
		if !r.res.Healthy {
			t.Fatalf("unhealthy: %s", r.res.Reason)
		}
	})
	t.Run("followed", func(t *testing.T) {
		r := runReal(t, Options{Checks: []CheckSpec{{URL: svc.URL + "/old", FollowRedirects: true, Expect: ExpectSpec{Body: "^new ok$"}}}})
		if !r.res.Healthy {
			t.Fatalf("unhealthy: %s", r.res.Reason)
		}
	})
	t.Run("secret headers stay on their origin", func(t *testing.T) {
		before := len(other.Headers())
		r := runReal(t, Options{Checks: []CheckSpec{{URL: svc.URL + "/away", FollowRedirects: true, Headers: headers, Expect: ExpectSpec{Body: "elsewhere"}}}, Getenv: env})
		if !r.res.Healthy {
			t.Fatalf("unhealthy: %s", r.res.Reason)
		}
		seen := other.Headers()[before:]
		if len(seen) == 0 {
			t.Fatal("the other origin saw no request")
		}
		for _, h := range seen {
			if h.Get("X-Smoke-Token") != "" {
				t.Errorf("secret header sent to another origin")
			}
			if h.Get("Accept") != "text/plain" {
				t.Errorf("ordinary header dropped: %v", h)
			}
		}
	})
}

func TestRefusesHTTPSDowngrade(t *testing.T) {
	ca := httpservice.NewCA(t)
	plain := httpservice.Start(t, ok("plain"))
	secure := httpservice.StartTLS(t, ca, func(_ int, w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, plain.URL+"/", http.StatusFound)
	})
	r := runReal(t, Options{Checks: []CheckSpec{{URL: secure.URL, FollowRedirects: true}}, CAFile: ca.PEMFile, MaxFailures: 1})
	if r.res.Healthy || !strings.Contains(r.res.Checks[0].LastResult, "refusing redirect from https") {
		t.Fatalf("healthy %v, last %q", r.res.Healthy, r.res.Checks[0].LastResult)
	}
	if plain.Requests() != 0 {
		t.Errorf("plain http saw %d requests", plain.Requests())
	}
}

func TestPreviousVersionBeforeNew(t *testing.T) {
	const oldVersion, newVersion = "3f2a9c1d4e5b6a7980f1e2d3c4b5a69788776655", "9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c"
	serve := func(n int, w http.ResponseWriter, how string) {
		version := oldVersion
		if n > 3 {
			version = newVersion
		}
		switch how {
		case "header":
			w.Header().Set("X-Revision", version[:7])
			fmt.Fprint(w, "ok")
		case "json":
			fmt.Fprintf(w, `{"status":"ok","build":{"commit":%q}}`, version)
		case "body":
			fmt.Fprintf(w, "<html><footer>build %s</footer></html>", version)
		}
	}
	for how, foundIn := range map[string]string{"header": "header X-Revision", "json": "JSON .build.commit", "body": "body"} {
		t.Run(how, func(t *testing.T) {
			svc := httpservice.Start(t, func(n int, w http.ResponseWriter, _ *http.Request) { serve(n, w, how) })
			r := runReal(t, Options{Checks: []CheckSpec{{URL: svc.URL}}, Version: newVersion, Successes: 2})
			if !r.res.Healthy {
				t.Fatalf("unhealthy: %s\n%s", r.res.Reason, r.progress)
			}
			c := r.res.Checks[0]
			if c.Failures != 3 || svc.Requests() != 5 || c.VersionFoundIn != foundIn {
				t.Errorf("%d failures, %d requests, version found in %q", c.Failures, svc.Requests(), c.VersionFoundIn)
			}
			if !strings.Contains(r.progress, "version "+newVersion+" not found") {
				t.Errorf("progress does not say the old version was served:\n%s", r.progress)
			}
		})
	}
}

func TestRightStatusWrongBody(t *testing.T) {
	svc := httpservice.Start(t, ok(`{"status":"starting","detail":"warming caches"}`))
	cases := []ExpectSpec{
		{Body: `"status":"ok"`},
		{JSON: Pairs{{".status", "ok"}}},
	}
	for _, expect := range cases {
		r := runReal(t, Options{Checks: []CheckSpec{{Name: "health", URL: svc.URL, Expect: expect}}, Timeout: 600 * time.Millisecond, Interval: 100 * time.Millisecond})
		if r.res.Healthy {
			t.Fatal("healthy")
		}
		c := r.res.Checks[0]
		if c.LastStatus != 200 || !strings.Contains(c.BodyExcerpt, `"status":"starting"`) {
			t.Errorf("last status %d, excerpt %q", c.LastStatus, c.BodyExcerpt)
		}
		text := r.res.Text()
		if !strings.Contains(text, "unhealthy") || !strings.Contains(text, "warming caches") {
			t.Errorf("verdict lacks the evidence:\n%s", text)
		}
	}
}

func TestHTTPSWithGeneratedCA(t *testing.T) {
	ca := httpservice.NewCA(t)
	svc := httpservice.StartTLS(t, ca, ok("secure ok"))
	t.Run("verified with --ca-file", func(t *testing.T) {
		r := runReal(t, Options{Checks: []CheckSpec{{URL: svc.URL}}, CAFile: ca.PEMFile})
		if !r.res.Healthy {
			t.Fatalf("unhealthy: %s", r.res.Reason)
		}
	})
	t.Run("unknown CA fails", func(t *testing.T) {
		before := svc.Requests()
		r := runReal(t, Options{Checks: []CheckSpec{{URL: svc.URL}}, MaxFailures: 2})
		if r.res.Healthy {
			t.Fatal("an unverified certificate passed")
		}
		if !strings.Contains(r.res.Checks[0].LastResult, "unknown authority") {
			t.Errorf("last %q", r.res.Checks[0].LastResult)
		}
		if svc.Requests() != before {
			t.Error("a request went through an unverified connection")
		}
	})
	t.Run("--insecure is explicit", func(t *testing.T) {
		r := runReal(t, Options{Checks: []CheckSpec{{URL: svc.URL}}, Insecure: true})
		if !r.res.Healthy {
			t.Fatalf("unhealthy: %s", r.res.Reason)
		}
	})
	t.Run("bad CA file is bad usage", func(t *testing.T) {
		_, err := Run(context.Background(), fast(Options{Checks: []CheckSpec{{URL: svc.URL}}, CAFile: svc.URL}))
		if _, ok := err.(*UsageError); !ok {
			t.Errorf("err %v", err)
		}
	})
}

func TestRequestShape(t *testing.T) {
	var mu sync.Mutex
	var methods, remotes, hosts []string
	svc := httpservice.Start(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		methods = append(methods, r.Method)
		hosts = append(hosts, r.Host)
		remotes = append(remotes, r.RemoteAddr)
		mu.Unlock()
		w.Header().Set("X-Version", "5.0.0")
	})
	env := func(name string) string { return map[string]string{"SMOKE_TOKEN": "Bearer tok-51a2"}[name] }
	r := runReal(t, Options{
		Checks:  []CheckSpec{{URL: svc.URL, Method: "HEAD", Headers: Pairs{{"Authorization", "env:SMOKE_TOKEN"}, {"Host", "app.example.com"}}}},
		Version: "5.0.0", Successes: 3, Getenv: env, UserAgent: "shipgate/test",
	})
	if !r.res.Healthy {
		t.Fatalf("unhealthy: %s", r.res.Reason)
	}
	distinct := map[string]bool{}
	for i, h := range svc.Headers() {
		if methods[i] != "HEAD" || hosts[i] != "app.example.com" || h.Get("Authorization") != "Bearer tok-51a2" || h.Get("Cache-Control") != "no-cache" || h.Get("User-Agent") != "shipgate/test" {
			t.Errorf("request %d: %s %v", i+1, methods[i], h)
		}
		distinct[remotes[i]] = true
	}
	// Keep-alives are off: every attempt is a new connection (a new source port).
	if len(distinct) != 3 {
		t.Errorf("%d connections for 3 attempts", len(distinct))
	}
}
