// Package registry is shipgate's OCI distribution client: one protocol request per call
// (manifests, blobs, mounts, uploads, a page of tags, the referrers API) with authentication,
// retries and error classes in one place. Operations composed of many requests (promotion,
// referrer discovery, describing an image) live in package promotion, as go-containerregistry
// keeps transport apart from remote. It uses go-containerregistry for references, manifest types, credentials
// (docker config and credential helpers) and bearer-token authentication, and issues the
// protocol requests itself so that a promotion costs the protocol minimum (docs/promotion.md
// names every request above it).
package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/redact"
)

// Options configure a Client. The zero value uses the Docker config keychain, HTTPS for every
// registry except loopback ones, the default retry policy, and discards progress.
type Options struct {
	// Keychain finds credentials per registry; nil means the Docker config keychain
	// (~/.docker/config.json and its credential helpers).
	Keychain authn.Keychain
	// Insecure allows plain HTTP for non-loopback registries. Loopback registries
	// (127.0.0.0/8, ::1, localhost) always use plain HTTP.
	Insecure bool
	// Transport is the underlying HTTP transport; nil means http.DefaultTransport.
	Transport http.RoundTripper
	// Retry bounds retries of transient failures; the zero value means DefaultRetry.
	Retry RetryPolicy
	// Log receives progress and diagnostics (never credentials); nil discards them.
	Log io.Writer
	// UserAgent is sent with every request.
	UserAgent string
	// Heartbeat is how often a request still waiting for its answer says so on Log (a silent
	// registry otherwise looks like a hung job); zero means DefaultHeartbeat, negative never.
	Heartbeat time.Duration
}

// DefaultHeartbeat is the wait after which, and the period at which, a request that has no
// answer yet is reported.
const DefaultHeartbeat = 30 * time.Second

// Client is a registry client shared by all of shipgate's registry operations.
type Client struct {
	opts Options
	http *http.Client
	// downNoted holds the registries already reported as refusing connections: one line per
	// registry, however many requests retry.
	downNoted sync.Map
	mu        sync.Mutex
	registryA map[string]*registryAuth
	// redact removes every credential the client holds from text that came from a server.
	redact *redact.Redactor
}

// New returns a Client.
func New(opts Options) *Client {
	if opts.Keychain == nil {
		opts.Keychain = authn.DefaultKeychain
	}
	if opts.Transport == nil {
		opts.Transport = defaultTransport()
	}
	if opts.Retry == (RetryPolicy{}) {
		opts.Retry = DefaultRetry
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "shipgate"
	}
	if opts.Heartbeat == 0 {
		opts.Heartbeat = DefaultHeartbeat
	}
	c := &Client{
		opts:      opts,
		registryA: map[string]*registryAuth{},
		redact:    &redact.Redactor{},
	}
	retry := &retryTransport{next: opts.Transport, policy: opts.Retry, refused: c.noteRefused}
	c.http = &http.Client{Transport: retry, CheckRedirect: sameOriginRedirects}
	return c
}

// noteRefused says once per registry that it refuses connections and for how long shipgate
// keeps trying.
func (c *Client) noteRefused(req *http.Request, budget time.Duration) {
	if _, seen := c.downNoted.LoadOrStore(req.URL.Host, true); seen {
		return
	}
	c.logf("registry %s refused the connection (down or restarting?); retrying for up to %s", req.URL.Host, budget.Round(time.Second))
}

// defaultTransport is http.DefaultTransport with an idle pool as large as the parallel
// transfers: net/http keeps 2 idle connections per host by default, so with more blobs in
// flight every further request would open (and close) a connection of its own.
func defaultTransport() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 32
	t.MaxIdleConns = 128
	// Blobs stream through in large writes: net/http's 4 KiB buffers cost a system call per
	// 4 KiB of a layer.
	t.WriteBufferSize = 256 << 10
	t.ReadBufferSize = 256 << 10
	return t
}

// sameOriginRedirects follows redirects (registries redirect blob downloads to storage) but
// never forwards credentials to another origin. net/http keeps Authorization on a redirect to
// the same host name on another port, and to a subdomain (issue 14): the origin here is
// scheme, host and port, compared exactly. It also caps the chain.
func sameOriginRedirects(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return errors.New("too many redirects")
	}
	if origin(req.URL) != origin(via[0].URL) {
		req.Header.Del("Authorization")
	}
	return nil
}

// origin is a URL's scheme://host:port with the default port made explicit.
func origin(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[strings.ToLower(u.Scheme)]
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Hostname()) + ":" + port
}

// IsLoopback reports whether a registry host (host or host:port) is a loopback address.
func IsLoopback(host string) bool {
	h := host
	if hostOnly, _, err := net.SplitHostPort(host); err == nil {
		h = hostOnly
	}
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(h, "[]"))
	return ip != nil && ip.IsLoopback()
}

func (c *Client) scheme(registry string) string {
	if c.opts.Insecure || IsLoopback(registry) {
		return "http"
	}
	return "https"
}

func (c *Client) logf(format string, args ...any) {
	fmt.Fprintf(c.opts.Log, "shipgate: "+format+"\n", args...)
}

// endpoint builds the URL of path (starting with /v2/) on registry.
func (c *Client) endpoint(registry, path string, query url.Values) string {
	u := url.URL{Scheme: c.scheme(registry), Host: registry, Path: path}
	if len(query) > 0 {
		u.RawQuery = query.Encode()
	}
	return u.String()
}

// request describes one protocol request.
type request struct {
	method   string
	registry string
	url      string
	header   http.Header
	body     func() (io.ReadCloser, error)
	length   int64
	// stream marks a body that can be read only once (a blob streamed from another registry):
	// such a request is never replayed by the retry transport; its caller starts over.
	stream bool
	// scopes are the repository scopes a bearer token needs for this request.
	scopes []string
}

// do sends req, authenticating as the registry asks, and returns the response for any status;
// callers check statuses. A 401 triggers one authenticated replay.
func (c *Client) do(ctx context.Context, req request) (*http.Response, error) {
	auth := c.authFor(req.registry)
	if err := c.prepareAuth(ctx, req, auth); err != nil {
		return nil, err
	}
	sent := auth.header(req.scopes)
	resp, err := c.send(ctx, req, auth)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusUnauthorized {
		return resp, nil
	}
	challenge := resp.Header.Get("WWW-Authenticate")
	drain(resp)
	if err := c.authenticate(ctx, req, auth, challenge, sent); err != nil {
		return nil, err
	}
	return c.send(ctx, req, auth)
}

func (c *Client) send(ctx context.Context, req request, auth *registryAuth) (*http.Response, error) {
	var body io.ReadCloser
	if req.body != nil {
		b, err := req.body()
		if err != nil {
			return nil, err
		}
		body = b
	}
	httpReq, err := http.NewRequestWithContext(ctx, req.method, req.url, body)
	if err != nil {
		if body != nil {
			body.Close()
		}
		return nil, failure.Wrap(failure.Usage, err, "building request")
	}
	if req.body != nil {
		if !req.stream {
			httpReq.GetBody = req.body
		}
		httpReq.ContentLength = req.length
	}
	for k, v := range req.header {
		httpReq.Header[k] = v
	}
	httpReq.Header.Set("User-Agent", c.opts.UserAgent)
	// Credentials go only to the registry's own origin: an upload Location or a redirect
	// elsewhere (object storage) gets none.
	if origin(httpReq.URL) == c.origin(req.registry) {
		if h := auth.header(req.scopes); h != "" {
			httpReq.Header.Set("Authorization", h)
		}
	}
	stop := c.heartbeat(req)
	resp, err := c.http.Do(httpReq)
	stop()
	if err != nil {
		return nil, c.unavailable(req, err)
	}
	return resp, nil
}

// heartbeat reports, every Heartbeat, a request that has no answer yet, naming what it waits
// for; the returned function ends the reports.
func (c *Client) heartbeat(req request) (stop func()) {
	if c.opts.Heartbeat < 0 {
		return func() {}
	}
	began := time.Now()
	var mu sync.Mutex
	var timer *time.Timer
	stopped := false
	var report func()
	report = func() {
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			return
		}
		c.logf("waiting for %s to answer %s %s (%s so far)", req.registry, req.method, redactURL(pathOf(req.url)), time.Since(began).Round(time.Second))
		timer = time.AfterFunc(c.opts.Heartbeat, report)
	}
	mu.Lock()
	timer = time.AfterFunc(c.opts.Heartbeat, report)
	mu.Unlock()
	return func() {
		mu.Lock()
		stopped = true
		timer.Stop()
		mu.Unlock()
	}
}

// pathOf is a URL's path and query, for messages that already name the registry.
func pathOf(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.RequestURI()
	}
	return raw
}

// origin is the scheme://host:port the client speaks to registry at.
func (c *Client) origin(registry string) string {
	return origin(&url.URL{Scheme: c.scheme(registry), Host: registry})
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}
