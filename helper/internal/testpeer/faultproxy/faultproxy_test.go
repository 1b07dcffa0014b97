package faultproxy_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/shipgate/shipgate/helper/internal/testpeer/faultproxy"
)

// upstream is a real HTTP server on 127.0.0.1 that answers every request with a fixed body
// and a Location header naming itself, and counts the requests it saw.
type upstream struct {
	server *httptest.Server
	body   []byte
	seen   atomic.Int64
}

func newUpstream(t *testing.T) *upstream {
	t.Helper()
	u := &upstream{body: bytes.Repeat([]byte("shipgate-layer-bytes:"), 200)}
	u.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.seen.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Location", "http://"+r.Host+"/v2/next")
		w.Header().Set("Content-Length", strconv.Itoa(len(u.body)))
		if r.Method == http.MethodHead {
			return
		}
		_, _ = w.Write(u.body)
	}))
	t.Cleanup(u.server.Close)
	return u
}

func start(t *testing.T, u *upstream, faults ...faultproxy.Fault) *faultproxy.Proxy {
	t.Helper()
	return faultproxy.StartT(t, faultproxy.Options{Target: u.server.URL, Rate: 1, Seed: 7, Faults: faults, Stall: 5 * time.Second})
}

// fetch does one GET with a fresh connection and reads the whole body.
func fetch(ctx context.Context, url string) (*http.Response, []byte, error) {
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

func TestStatusFaultsNeverReachTheUpstream(t *testing.T) {
	for _, tc := range []struct {
		fault  faultproxy.Fault
		status int
	}{
		{faultproxy.Status500, 500},
		{faultproxy.Status502, 502},
		{faultproxy.Status503, 503},
		{faultproxy.Throttle, 429},
	} {
		t.Run(string(tc.fault), func(t *testing.T) {
			u := newUpstream(t)
			p := start(t, u, tc.fault)
			resp, _, err := fetch(context.Background(), p.URL+"/v2/")
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.fault == faultproxy.Throttle && resp.Header.Get("Retry-After") != "1" {
				t.Errorf("Retry-After %q, want the default 1", resp.Header.Get("Retry-After"))
			}
			if u.seen.Load() != 0 {
				t.Errorf("upstream saw %d requests, want 0", u.seen.Load())
			}
			if got := p.ByFault()[tc.fault]; got != 1 {
				t.Errorf("counted %d %s faults, want 1 (%s)", got, tc.fault, p.Summary())
			}
		})
	}
}

func TestBodyFaults(t *testing.T) {
	u := newUpstream(t)
	t.Run("truncated", func(t *testing.T) {
		p := start(t, u, faultproxy.Truncate)
		resp, body, err := fetch(context.Background(), p.URL+"/v2/app/blobs/x")
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("error %v, want an unexpected EOF", err)
		}
		if resp.ContentLength != int64(len(u.body)) || len(body) >= len(u.body) {
			t.Errorf("declared %d, read %d of %d bytes: want the full length declared and fewer bytes sent", resp.ContentLength, len(body), len(u.body))
		}
	})
	t.Run("tampered", func(t *testing.T) {
		p := start(t, u, faultproxy.Tamper)
		_, body, err := fetch(context.Background(), p.URL+"/v2/app/blobs/x")
		if err != nil {
			t.Fatal(err)
		}
		if len(body) != len(u.body) || bytes.Equal(body, u.body) {
			t.Errorf("read %d bytes (equal to upstream: %v): want the same length and different bytes", len(body), bytes.Equal(body, u.body))
		}
	})
	t.Run("reset after headers", func(t *testing.T) {
		p := start(t, u, faultproxy.ResetAfterHeaders)
		before := u.seen.Load()
		resp, _, err := fetch(context.Background(), p.URL+"/v2/app/blobs/x")
		if err == nil || resp == nil || resp.StatusCode != 200 {
			t.Fatalf("got headers %v and error %v: want a 200 whose body is cut", resp, err)
		}
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("error %v, want a connection reset", err)
		}
		if u.seen.Load() != before+1 {
			t.Error("the upstream did not see the request: a reset after headers must follow the upstream's action")
		}
	})
	t.Run("HEAD keeps its Content-Length and is never given a body fault", func(t *testing.T) {
		p := start(t, u, faultproxy.Truncate, faultproxy.Tamper, faultproxy.StallBody, faultproxy.ResetAfterHeaders)
		resp, err := http.Head(p.URL + "/v2/app/manifests/x")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.ContentLength != int64(len(u.body)) {
			t.Errorf("HEAD: %d with Content-Length %d, want 200 with %d", resp.StatusCode, resp.ContentLength, len(u.body))
		}
		if p.Injected() != 0 {
			t.Errorf("injected %s into a HEAD", p.Summary())
		}
	})
}

func TestResetBeforeHeadersOnFreshAndReusedConnections(t *testing.T) {
	u := newUpstream(t)
	p := faultproxy.StartT(t, faultproxy.Options{Target: u.server.URL, Rate: 0, Faults: []faultproxy.Fault{faultproxy.ResetBeforeHeaders}})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	defer client.CloseIdleConnections()
	// A first, clean request leaves a kept-alive connection behind.
	resp, err := client.Get(p.URL + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	p.SetRate(1)
	// POST is not replayed by net/http on a reused connection, so the reset surfaces.
	_, err = client.Post(p.URL+"/v2/app/blobs/uploads/", "text/plain", strings.NewReader(""))
	if err == nil {
		t.Fatal("POST through a reset connection succeeded")
	}
	_, err = (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Get(p.URL + "/v2/")
	var opErr *net.OpError
	if err == nil || !(errors.As(err, &opErr) || errors.Is(err, io.EOF)) {
		t.Fatalf("fresh connection: error %v, want a reset or EOF", err)
	}
	counts := p.Counts()
	fresh := counts[faultproxy.Key{Fault: faultproxy.ResetBeforeHeaders}]
	reused := counts[faultproxy.Key{Fault: faultproxy.ResetBeforeHeaders, Reused: true}]
	if fresh < 1 || reused != 1 {
		t.Errorf("resets counted: fresh %d, reused %d; want at least 1 and exactly 1 (%s)", fresh, reused, p.Summary())
	}
	if u.seen.Load() != 1 {
		t.Errorf("upstream saw %d requests, want only the clean one", u.seen.Load())
	}
}

func TestStallsAreBounded(t *testing.T) {
	u := newUpstream(t)
	for _, fault := range []faultproxy.Fault{faultproxy.StallHeaders, faultproxy.StallBody} {
		t.Run(string(fault)+" ends when the client gives up", func(t *testing.T) {
			p := faultproxy.StartT(t, faultproxy.Options{Target: u.server.URL, Rate: 1, Faults: []faultproxy.Fault{fault}, Stall: time.Hour})
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			_, _, err := fetch(ctx, p.URL+"/v2/app/blobs/x")
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("error %v, want the client's deadline", err)
			}
		})
		t.Run(string(fault)+" carries on after the stall", func(t *testing.T) {
			p := faultproxy.StartT(t, faultproxy.Options{Target: u.server.URL, Rate: 1, Faults: []faultproxy.Fault{fault}, Stall: time.Millisecond})
			_, body, err := fetch(context.Background(), p.URL+"/v2/app/blobs/x")
			if err != nil || !bytes.Equal(body, u.body) {
				t.Errorf("after a bounded stall: error %v, %d bytes; want the upstream's body", err, len(body))
			}
		})
	}
}

func TestHeadersNamingTheUpstreamPointBackThroughTheProxy(t *testing.T) {
	u := newUpstream(t)
	p := faultproxy.StartT(t, faultproxy.Options{Target: u.server.URL})
	resp, _, err := fetch(context.Background(), p.URL+"/v2/")
	if err != nil {
		t.Fatal(err)
	}
	if want := p.URL + "/v2/next"; resp.Header.Get("Location") != want {
		t.Errorf("Location %q, want %q", resp.Header.Get("Location"), want)
	}
}

// TestRateAndSeed checks that the same seed gives the same faults for the same sequence of
// requests, that a different seed gives another sequence, and that every fault counted is one
// the client saw.
func TestRateAndSeed(t *testing.T) {
	u := newUpstream(t)
	run := func(seed uint64) (string, int64, int) {
		p := faultproxy.StartT(t, faultproxy.Options{Target: u.server.URL, Rate: 0.2, Seed: seed,
			Faults: []faultproxy.Fault{faultproxy.Status500, faultproxy.Status503, faultproxy.Throttle}})
		var trace strings.Builder
		failed := 0
		for i := 0; i < 200; i++ {
			resp, _, err := fetch(context.Background(), p.URL+"/v2/")
			if err != nil {
				t.Fatal(err)
			}
			trace.WriteString(strconv.Itoa(resp.StatusCode) + " ")
			if resp.StatusCode != 200 {
				failed++
			}
		}
		return trace.String(), p.Injected(), failed
	}
	a, injectedA, failedA := run(1)
	b, _, _ := run(1)
	c, _, _ := run(2)
	if a != b {
		t.Error("the same seed gave different fault sequences")
	}
	if a == c {
		t.Error("different seeds gave the same fault sequence")
	}
	if injectedA != int64(failedA) || failedA == 0 || failedA == 200 {
		t.Errorf("injected %d, client saw %d failures of 200: want them equal and strictly between 0 and 200", injectedA, failedA)
	}
}

func TestEligibleLimitsFaultsToSelectedRequests(t *testing.T) {
	u := newUpstream(t)
	p := faultproxy.StartT(t, faultproxy.Options{Target: u.server.URL, Rate: 1,
		Eligible: func(r *http.Request) bool { return strings.Contains(r.URL.Path, "/blobs/") }})
	resp, _, err := fetch(context.Background(), p.URL+"/v2/app/manifests/x")
	if err != nil || resp.StatusCode != 200 || p.Injected() != 0 {
		t.Errorf("ineligible request: %v %v, %d faults; want a clean 200", resp, err, p.Injected())
	}
}
