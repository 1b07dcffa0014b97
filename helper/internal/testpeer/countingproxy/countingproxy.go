// Package countingproxy is a reverse proxy for tests and benchmarks that counts the requests
// and bytes passing between a client and a registry, and can make the registry misbehave in
// the ways real ones do (ignoring `last` when paging tags).
package countingproxy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Proxy forwards to a target and counts.
type Proxy struct {
	// Host is the proxy's host:port on 127.0.0.1.
	Host string
	// IgnoreLast makes tags/list ignore the `last` parameter (some registries do).
	IgnoreLast atomic.Bool
	// ReverseTags makes each tags/list page come in reverse order (registries that page in
	// their own order rather than lexically).
	ReverseTags atomic.Bool

	server   *http.Server
	mu       sync.Mutex
	requests []Request
}

// Request is one request seen by the proxy.
type Request struct {
	Method string
	Kind   string // ping, manifest, blob, upload, tags, referrers, other
	Path   string
	Status int
	// BytesUp and BytesDown count body bytes sent to and received from the registry.
	BytesUp, BytesDown int64
}

// Start starts a proxy in front of targetURL (http://host:port).
func Start(targetURL string) (*Proxy, error) {
	target, err := url.Parse(targetURL)
	if err != nil {
		return nil, err
	}
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{Host: listener.Addr().String()}
	reverse := httputil.NewSingleHostReverseProxy(target)
	reverse.ModifyResponse = func(resp *http.Response) error {
		// Registries build Location and Link headers from their own address; point them back
		// through the proxy so follow-up requests are counted too.
		for _, h := range []string{"Location", "Link"} {
			if v := resp.Header.Get(h); v != "" {
				resp.Header.Set(h, strings.ReplaceAll(v, target.Host, p.Host))
			}
		}
		if p.ReverseTags.Load() && strings.HasSuffix(resp.Request.URL.Path, "/tags/list") && resp.StatusCode == http.StatusOK {
			var body struct {
				Name string   `json:"name"`
				Tags []string `json:"tags"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				return err
			}
			resp.Body.Close()
			for i, j := 0, len(body.Tags)-1; i < j; i, j = i+1, j-1 {
				body.Tags[i], body.Tags[j] = body.Tags[j], body.Tags[i]
			}
			data, _ := json.Marshal(body)
			resp.Body = io.NopCloser(bytes.NewReader(data))
			resp.ContentLength = int64(len(data))
			resp.Header.Set("Content-Length", strconv.Itoa(len(data)))
		}
		if link := resp.Header.Get("Link"); link != "" && p.IgnoreLast.Load() {
			resp.Header.Set("Link", strings.Replace(link, ">;", "&linkpage=1>;", 1))
		}
		return nil
	}
	p.server = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.IgnoreLast.Load() && strings.HasSuffix(r.URL.Path, "/tags/list") {
			// Like ECR: the client's `last` is ignored, but the registry's own Link pages work
			// (they carry a marker the registry put there).
			q := r.URL.Query()
			if q.Get("linkpage") == "" {
				q.Del("last")
			}
			q.Del("linkpage")
			r.URL.RawQuery = q.Encode()
		}
		up := &countingReader{r: r.Body}
		r.Body = io.NopCloser(up)
		cw := &countingWriter{ResponseWriter: w, status: http.StatusOK}
		r.Host = target.Host
		reverse.ServeHTTP(cw, r)
		p.mu.Lock()
		p.requests = append(p.requests, Request{
			Method: r.Method, Kind: kindOf(r.URL.Path), Path: r.URL.RequestURI(), Status: cw.status,
			BytesUp: up.n, BytesDown: cw.n,
		})
		p.mu.Unlock()
	})}
	go func() { _ = p.server.Serve(listener) }()
	return p, nil
}

var kinds = []struct {
	re   *regexp.Regexp
	kind string
}{
	{regexp.MustCompile(`^/v2/?$`), "ping"},
	{regexp.MustCompile(`/manifests/`), "manifest"},
	{regexp.MustCompile(`/blobs/uploads/`), "upload"},
	{regexp.MustCompile(`/blobs/`), "blob"},
	{regexp.MustCompile(`/tags/list$`), "tags"},
	{regexp.MustCompile(`/referrers/`), "referrers"},
}

func kindOf(path string) string {
	for _, k := range kinds {
		if k.re.MatchString(path) {
			return k.kind
		}
	}
	return "other"
}

// Close stops the proxy.
func (p *Proxy) Close() { _ = p.server.Close() }

// Reset forgets the requests seen so far.
func (p *Proxy) Reset() {
	p.mu.Lock()
	p.requests = nil
	p.mu.Unlock()
}

// Requests returns the requests seen since the last Reset.
func (p *Proxy) Requests() []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Request(nil), p.requests...)
}

// Count returns how many requests were seen since the last Reset.
func (p *Proxy) Count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.requests)
}

// BlobBytes returns the blob bytes that crossed the proxy (uploads plus blob downloads).
func (p *Proxy) BlobBytes() int64 {
	var n int64
	for _, r := range p.Requests() {
		switch r.Kind {
		case "upload":
			n += r.BytesUp
		case "blob":
			if r.Method == http.MethodGet {
				n += r.BytesDown
			}
		}
	}
	return n
}

// Summary renders counts per method and kind, e.g. "GET manifest 1, POST upload 9".
func (p *Proxy) Summary() string {
	counts := map[string]int{}
	for _, r := range p.Requests() {
		counts[r.Method+" "+r.Kind]++
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, counts[k]))
	}
	return strings.Join(parts, ", ")
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.r == nil {
		return 0, io.EOF
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

type countingWriter struct {
	http.ResponseWriter
	status int
	n      int64
}

func (c *countingWriter) WriteHeader(code int) {
	c.status = code
	c.ResponseWriter.WriteHeader(code)
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.ResponseWriter.Write(p)
	c.n += int64(n)
	return n, err
}
