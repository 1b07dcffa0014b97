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

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/shipgate/shipgate/helper/internal/failure"
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
}

// Client is a registry client shared by all of shipgate's registry operations.
type Client struct {
	opts      Options
	http      *http.Client
	mu        sync.Mutex
	registryA map[string]*registryAuth
}

// registryAuth remembers how a registry wants to be authenticated, learnt from its first
// 401 challenge, so later requests authenticate up front.
type registryAuth struct {
	mu sync.Mutex
	// basic is the Authorization header for a registry that asked for Basic auth.
	basic string
	// bearer is go-containerregistry's token transport for a registry that asked for Bearer.
	bearer http.RoundTripper
	scopes []string
}

// New returns a Client.
func New(opts Options) *Client {
	if opts.Keychain == nil {
		opts.Keychain = authn.DefaultKeychain
	}
	if opts.Transport == nil {
		opts.Transport = http.DefaultTransport
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
	return &Client{
		opts:      opts,
		http:      &http.Client{Transport: &retryTransport{next: opts.Transport, policy: opts.Retry}, CheckRedirect: sameOriginRedirects},
		registryA: map[string]*registryAuth{},
	}
}

// sameOriginRedirects follows redirects (registries redirect blob downloads to storage) but
// never forwards credentials to another host: net/http already drops Authorization on a
// cross-host redirect; this also caps the chain.
func sameOriginRedirects(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return errors.New("too many redirects")
	}
	return nil
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

// do sends req, authenticating as the registry's challenge asks, and returns the response for
// any status; callers check statuses. A 401 triggers one authenticated replay.
func (c *Client) do(ctx context.Context, req request) (*http.Response, error) {
	auth := c.authFor(req.registry)
	resp, err := c.send(ctx, req, auth)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusUnauthorized {
		return resp, nil
	}
	challenge := resp.Header.Get("WWW-Authenticate")
	drain(resp)
	if err := c.authenticate(ctx, req, auth, challenge); err != nil {
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
	transport := http.RoundTripper(nil)
	auth.mu.Lock()
	if auth.basic != "" {
		httpReq.Header.Set("Authorization", auth.basic)
	}
	if auth.bearer != nil && !coversScopes(auth.scopes, req.scopes) {
		// A token minted for other repositories would be refused; mint one for the union.
		auth.bearer = nil
	}
	transport = auth.bearer
	auth.mu.Unlock()
	var resp *http.Response
	if transport != nil {
		client := &http.Client{Transport: transport, CheckRedirect: sameOriginRedirects}
		resp, err = client.Do(httpReq)
	} else {
		resp, err = c.http.Do(httpReq)
	}
	if err != nil {
		return nil, unavailable(req, err)
	}
	return resp, nil
}

func coversScopes(have, want []string) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			if h == w {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func (c *Client) authFor(registry string) *registryAuth {
	c.mu.Lock()
	defer c.mu.Unlock()
	a := c.registryA[registry]
	if a == nil {
		a = &registryAuth{}
		c.registryA[registry] = a
	}
	return a
}

// authenticate reacts to a 401 challenge: Basic auth from the keychain, or a bearer token
// through go-containerregistry's token transport for the scopes the request needs.
func (c *Client) authenticate(ctx context.Context, req request, auth *registryAuth, challenge string) error {
	reg, err := name.NewRegistry(req.registry, name.WeakValidation)
	if err != nil {
		return failure.Wrap(failure.Usage, err, "registry %q", req.registry)
	}
	authenticator, err := authn.Resolve(ctx, c.opts.Keychain, reg)
	if err != nil {
		return failure.Wrap(failure.Auth, err, "finding credentials for %s", req.registry)
	}
	if authenticator == authn.Anonymous {
		c.logf("registry %s asked for credentials and none were found (docker config, credential helpers); trying anonymous access", req.registry)
	}
	scheme := strings.ToLower(strings.SplitN(strings.TrimSpace(challenge), " ", 2)[0])
	auth.mu.Lock()
	defer auth.mu.Unlock()
	switch scheme {
	case "basic":
		cfg, err := authn.Authorization(ctx, authenticator)
		if err != nil {
			return failure.Wrap(failure.Auth, err, "reading credentials for %s", req.registry)
		}
		if cfg.Username == "" && cfg.Password == "" {
			return failure.WithHint(failure.New(failure.Auth, "registry %s requires a login and no credentials were found", req.registry),
				"log in with `docker login "+req.registry+"` or configure a credential helper")
		}
		auth.basic = basicHeader(cfg.Username, cfg.Password)
		return nil
	case "bearer":
		scopes := unionScopes(auth.scopes, req.scopes)
		if c.scheme(req.registry) == "http" {
			reg, _ = name.NewRegistry(req.registry, name.Insecure)
		}
		t, err := transport.NewWithContext(ctx, reg, authenticator, c.http.Transport, scopes)
		if err != nil {
			return classifyTransportError(err, "authenticating to "+req.registry)
		}
		auth.bearer = t
		auth.scopes = scopes
		return nil
	default:
		return failure.New(failure.Auth, "registry %s refused the request (401) with an unsupported challenge %q", req.registry, scheme)
	}
}

func unionScopes(a, b []string) []string {
	out := append([]string{}, a...)
	for _, s := range b {
		if !coversScopes(out, []string{s}) {
			out = append(out, s)
		}
	}
	return out
}

func pullScope(repo string) string        { return "repository:" + repo + ":pull" }
func pushScope(repo string) string        { return "repository:" + repo + ":push,pull" }
func scopesFor(scopes ...string) []string { return scopes }

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}
