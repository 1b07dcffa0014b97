// Package faultproxy is a fault-injecting HTTP reverse proxy for tests: placed in front of a
// registry or the STS emulator, it answers a configurable share of requests (chosen by a seeded
// generator) with a fault instead of the upstream's answer: 500/502/503, 429 with Retry-After,
// a connection reset before or after the response headers (on fresh and on reused
// connections), a bounded stall, or a truncated or tampered body. It counts every fault it
// injects, so a test can say how many faults of each kind an operation met.
package faultproxy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Fault is one kind of misbehaviour.
type Fault string

// The faults the proxy injects.
const (
	// Status500, Status502 and Status503 answer with that status; the upstream never sees the
	// request.
	Status500 Fault = "500"
	Status502 Fault = "502"
	Status503 Fault = "503"
	// Throttle answers 429 Too Many Requests with a Retry-After header.
	Throttle Fault = "429+retry-after"
	// ResetBeforeHeaders closes the connection with a TCP reset before any response byte; the
	// upstream never sees the request.
	ResetBeforeHeaders Fault = "reset-before-headers"
	// ResetAfterHeaders forwards the request (the upstream acts on it), sends the status line,
	// the headers and half the body, then resets the connection.
	ResetAfterHeaders Fault = "reset-after-headers"
	// StallHeaders holds the request for Options.Stall (or until the client gives up) before
	// forwarding it.
	StallHeaders Fault = "stall-before-headers"
	// StallBody sends the headers and half the body, then holds the rest for Options.Stall (or
	// until the client gives up).
	StallBody Fault = "stall-mid-body"
	// Truncate sends the upstream's headers (Content-Length included) and half the body, then
	// ends the response: the client reads an unexpected EOF.
	Truncate Fault = "truncated-body"
	// Tamper flips one byte of the upstream's body, keeping its length and headers.
	Tamper Fault = "tampered-body"
)

// All is every fault, in a stable order.
var All = []Fault{Status500, Status502, Status503, Throttle, ResetBeforeHeaders, ResetAfterHeaders,
	StallHeaders, StallBody, Truncate, Tamper}

// needsBody reports whether a fault acts on a non-empty response body.
func (f Fault) needsBody() bool {
	switch f {
	case ResetAfterHeaders, StallBody, Truncate, Tamper:
		return true
	}
	return false
}

// Options configure a proxy.
type Options struct {
	// Target is the upstream's base URL (http://host:port).
	Target string
	// Rate is the share of eligible requests that meet a fault, from 0 to 1.
	Rate float64
	// Seed makes the sequence of decisions reproducible (for a given order of requests).
	Seed uint64
	// Faults are the kinds drawn from (uniformly); empty means All.
	Faults []Fault
	// Eligible selects the requests that may meet a fault; nil means every request.
	Eligible func(*http.Request) bool
	// BodyFaultEligible selects the requests whose response body may be truncated, tampered
	// with, stalled or cut by a reset; nil means the same as Eligible. When a body fault is
	// drawn for a request outside it (or for an empty body), another fault is drawn.
	BodyFaultEligible func(*http.Request) bool
	// TamperEligible narrows Tamper further (nil: BodyFaultEligible). A client can detect
	// tampering only in content-addressed bodies (blobs, manifests by digest); elsewhere TLS is
	// what protects a body, so a soak may keep tampering to those.
	TamperEligible func(*http.Request) bool
	// Stall bounds a stall: after it the proxy carries on normally. The default is 2s.
	Stall time.Duration
	// RetryAfter is the Retry-After value sent with 429, in seconds. The default is 1.
	RetryAfter int
	// Limit stops injecting after this many faults (0: no limit), e.g. 1 for "the first
	// eligible request fails once".
	Limit int64
}

// Proxy is a running fault-injecting proxy.
type Proxy struct {
	// Host is the proxy's host:port on 127.0.0.1; URL is http://Host.
	Host string
	URL  string

	opts     Options
	target   *url.URL
	upstream *http.Transport
	server   *http.Server

	mu       sync.Mutex
	rng      *rand.Rand
	rate     float64
	requests int64
	drawn    int64
	counts   map[Key]int64
	closing  chan struct{}
	closed   sync.Once
}

// Key names a counter: a fault, and whether the connection it hit was fresh (its first request)
// or reused (kept alive from an earlier request).
type Key struct {
	Fault  Fault
	Reused bool
}

func (k Key) String() string {
	if k.Reused {
		return string(k.Fault) + " (reused conn)"
	}
	return string(k.Fault) + " (fresh conn)"
}

type connKey struct{}

// connState counts the requests served on one connection.
type connState struct {
	mu     sync.Mutex
	served int
}

// Start starts a proxy on a free 127.0.0.1 port.
func Start(opts Options) (*Proxy, error) {
	target, err := url.Parse(opts.Target)
	if err != nil || target.Host == "" {
		return nil, fmt.Errorf("faultproxy: target %q is not a URL", opts.Target)
	}
	if len(opts.Faults) == 0 {
		opts.Faults = All
	}
	if opts.Stall <= 0 {
		opts.Stall = 2 * time.Second
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = 1
	}
	if opts.Eligible == nil {
		opts.Eligible = func(*http.Request) bool { return true }
	}
	if opts.BodyFaultEligible == nil {
		opts.BodyFaultEligible = opts.Eligible
	}
	if opts.TamperEligible == nil {
		opts.TamperEligible = opts.BodyFaultEligible
	}
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{
		Host:     listener.Addr().String(),
		opts:     opts,
		target:   target,
		upstream: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 16, DisableCompression: true},
		rng:      rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)),
		rate:     opts.Rate,
		counts:   map[Key]int64{},
		closing:  make(chan struct{}),
	}
	p.URL = "http://" + p.Host
	p.server = &http.Server{
		Handler:           http.HandlerFunc(p.serve),
		ReadHeaderTimeout: 10 * time.Second,
		ConnContext: func(ctx context.Context, _ net.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, &connState{})
		},
	}
	go func() { _ = p.server.Serve(listener) }()
	return p, nil
}

// StartT starts a proxy for a test and stops it when the test ends.
func StartT(t testing.TB, opts Options) *Proxy {
	t.Helper()
	p, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// Close stops the proxy, ending any stall at once.
func (p *Proxy) Close() {
	p.closed.Do(func() { close(p.closing) })
	_ = p.server.Close()
	p.upstream.CloseIdleConnections()
}

// SetRate changes the share of eligible requests that meet a fault.
func (p *Proxy) SetRate(rate float64) {
	p.mu.Lock()
	p.rate = rate
	p.mu.Unlock()
}

// Counts returns how many faults of each kind were injected, per connection kind.
func (p *Proxy) Counts() map[Key]int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[Key]int64, len(p.counts))
	for k, v := range p.counts {
		out[k] = v
	}
	return out
}

// ByFault returns how many faults of each kind were injected, fresh and reused connections
// together.
func (p *Proxy) ByFault() map[Fault]int64 {
	out := map[Fault]int64{}
	for k, v := range p.Counts() {
		out[k.Fault] += v
	}
	return out
}

// Injected is the total number of faults injected.
func (p *Proxy) Injected() int64 {
	var n int64
	for _, v := range p.Counts() {
		n += v
	}
	return n
}

// Requests is the number of requests the proxy received.
func (p *Proxy) Requests() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.requests
}

// Summary renders the counters, e.g. "503 (fresh conn) 2, truncated-body (reused conn) 1".
func (p *Proxy) Summary() string {
	counts := p.Counts()
	keys := make([]Key, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, counts[k]))
	}
	return strings.Join(parts, ", ")
}

// draw decides the fault for a request: "" for none. bodyOK says whether body faults may be
// drawn (they are re-drawn against the response once it is known to have a body).
func (p *Proxy) draw(r *http.Request) Fault {
	eligible := p.opts.Eligible(r)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requests++
	if !eligible || p.rng.Float64() >= p.rate {
		return ""
	}
	if p.opts.Limit > 0 && p.drawn >= p.opts.Limit {
		return ""
	}
	p.drawn++
	faults := p.opts.Faults
	if !p.opts.BodyFaultEligible(r) || r.Method == http.MethodHead {
		faults = without(faults, Fault.needsBody)
	} else if !p.opts.TamperEligible(r) {
		faults = without(faults, func(f Fault) bool { return f == Tamper })
	}
	if len(faults) == 0 {
		return ""
	}
	return faults[p.rng.IntN(len(faults))]
}

func without(faults []Fault, drop func(Fault) bool) []Fault {
	var out []Fault
	for _, f := range faults {
		if !drop(f) {
			out = append(out, f)
		}
	}
	return out
}

func (p *Proxy) count(r *http.Request, f Fault) {
	reused := false
	if cs, ok := r.Context().Value(connKey{}).(*connState); ok {
		cs.mu.Lock()
		reused = cs.served > 1
		cs.mu.Unlock()
	}
	p.mu.Lock()
	p.counts[Key{Fault: f, Reused: reused}]++
	p.mu.Unlock()
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	if cs, ok := r.Context().Value(connKey{}).(*connState); ok {
		cs.mu.Lock()
		cs.served++
		cs.mu.Unlock()
	}
	fault := p.draw(r)
	switch fault {
	case Status500, Status502, Status503:
		p.count(r, fault)
		code, _ := strconv.Atoi(string(fault))
		drainRequest(r)
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(code)
		fmt.Fprintf(w, "faultproxy: injected %d\n", code)
		return
	case Throttle:
		p.count(r, fault)
		drainRequest(r)
		w.Header().Set("Retry-After", strconv.Itoa(p.opts.RetryAfter))
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprintln(w, "faultproxy: injected 429")
		return
	case ResetBeforeHeaders:
		p.count(r, fault)
		reset(w)
		return
	case StallHeaders:
		p.count(r, fault)
		if !p.stall(r) {
			return
		}
	}
	resp, err := p.forward(r)
	if err != nil {
		http.Error(w, "faultproxy: upstream: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		http.Error(w, "faultproxy: reading upstream: "+err.Error(), http.StatusBadGateway)
		return
	}
	if fault.needsBody() && len(body) == 0 {
		// Nothing to cut or corrupt: an empty body passes untouched, uncounted.
		fault = ""
		p.mu.Lock()
		p.drawn--
		p.mu.Unlock()
	}
	header := w.Header()
	for k, v := range resp.Header {
		header[k] = p.rewrite(v)
	}
	if r.Method != http.MethodHead {
		header.Set("Content-Length", strconv.Itoa(len(body)))
	}
	half := len(body) / 2
	switch fault {
	case ResetAfterHeaders:
		p.count(r, fault)
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(body[:half])
		flush(w)
		reset(w)
	case StallBody:
		p.count(r, fault)
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(body[:half])
		flush(w)
		if p.stall(r) {
			_, _ = w.Write(body[half:])
		}
	case Truncate:
		p.count(r, fault)
		w.WriteHeader(resp.StatusCode)
		// Fewer bytes than Content-Length: net/http closes the connection after the handler.
		_, _ = w.Write(body[:half])
	case Tamper:
		p.count(r, fault)
		tampered := append([]byte(nil), body...)
		tampered[half] ^= 0x20
		if tampered[half] == body[half] {
			tampered[half] ^= 0x01
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(tampered)
	default:
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(body)
	}
}

// stall waits for the configured time; it returns false when the client went away or the proxy
// is closing, in which case there is nobody to answer.
func (p *Proxy) stall(r *http.Request) bool {
	t := time.NewTimer(p.opts.Stall)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	case <-p.closing:
		return false
	}
}

// forward sends r to the upstream. Registries build Location and Link headers from the Host
// they were asked for, so the proxy keeps the client's Host: follow-up requests come back
// through the proxy.
func (p *Proxy) forward(r *http.Request) (*http.Response, error) {
	out := r.Clone(r.Context())
	out.RequestURI = ""
	out.URL.Scheme = p.target.Scheme
	out.URL.Host = p.target.Host
	out.Host = r.Host
	for _, h := range []string{"Connection", "Proxy-Connection", "Keep-Alive", "Te", "Trailer", "Transfer-Encoding", "Upgrade"} {
		out.Header.Del(h)
	}
	if r.ContentLength == 0 {
		out.Body = nil
	}
	return p.upstream.RoundTrip(out)
}

func (p *Proxy) rewrite(values []string) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = strings.ReplaceAll(v, p.target.Host, p.Host)
	}
	return out
}

func drainRequest(r *http.Request) {
	_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 64<<20))
}

func flush(w http.ResponseWriter) {
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}

// reset hijacks the connection and closes it with SO_LINGER 0, so the client sees a TCP reset
// (ECONNRESET), not an orderly close.
func reset(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("faultproxy: connection cannot be hijacked")
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		return
	}
	flushBuffered(buf)
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = conn.Close()
}

func flushBuffered(buf *bufio.ReadWriter) {
	if buf != nil {
		_ = buf.Flush()
	}
}
