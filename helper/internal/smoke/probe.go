package smoke

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/shipgate/shipgate/helper/internal/inputfile"
)

// maxBody bounds how much of a response body is read and judged.
const maxBody = 1 << 20

// maxRedirects is how many hops a check that follows redirects takes at most.
const maxRedirects = 10

// probeFunc makes one attempt of check c, bounded by timeout. The runner measures its time
// on the run's clock; tests swap in a fake that advances a fake clock.
type probeFunc func(ctx context.Context, c *Check, timeout time.Duration) outcome

// outcome is the result of one attempt.
type outcome struct {
	status    int      // 0 when no response arrived
	problem   string   // transport failure (no response), redacted
	problems  []string // unmet expectations, redacted
	excerpt   string   // short redacted excerpt of the body
	versionAt string   // where the expected version was found
}

func (o outcome) passed() bool { return o.problem == "" && len(o.problems) == 0 }

// summary is a one-line description of the attempt.
func (o outcome) summary() string {
	switch {
	case o.problem != "":
		return "no response: " + o.problem
	case len(o.problems) == 0:
		s := fmt.Sprintf("status %d", o.status)
		if o.versionAt != "" {
			s += ", version in " + o.versionAt
		}
		return s
	case len(o.problems) == 1:
		return o.problems[0]
	default:
		return fmt.Sprintf("%s (and %d more)", o.problems[0], len(o.problems)-1)
	}
}

// transportOptions are the TLS settings of a run.
type transportOptions struct {
	caFile   string
	insecure bool
}

// newTransport builds the HTTP transport of a run. TLS is verified against the system roots
// plus --ca-file unless --insecure. Keep-alives are off: every attempt opens a new connection,
// so behind a load balancer successive attempts can reach different instances instead of
// the one that answered first.
func newTransport(opts transportOptions) (*http.Transport, error) {
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	switch {
	case opts.insecure && opts.caFile != "":
		return nil, fmt.Errorf("--insecure and --ca-file: choose one (a CA file only matters when certificates are verified)")
	case opts.insecure:
		tlsConfig.InsecureSkipVerify = true
	case opts.caFile != "":
		pem, err := inputfile.Read(opts.caFile, "--ca-file", inputfile.ConfigLimit)
		if err != nil {
			return nil, err
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--ca-file %s: no PEM certificate in it", opts.caFile)
		}
		tlsConfig.RootCAs = pool
	}
	return &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		TLSClientConfig:     tlsConfig,
		DisableKeepAlives:   true,
		ForceAttemptHTTP2:   true,
		TLSHandshakeTimeout: 0, // bounded by the request context instead
	}, nil
}

// httpProber makes real requests.
type httpProber struct {
	transport http.RoundTripper
	userAgent string
	red       *redactor
}

func (p *httpProber) client(c *Check) *http.Client {
	client := &http.Client{Transport: p.transport}
	if !c.followRedirects {
		client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		return client
	}
	secret := map[string]bool{}
	for _, h := range c.headers {
		if h.secret {
			secret[http.CanonicalHeaderKey(h.name)] = true
		}
	}
	client.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= maxRedirects {
			return fmt.Errorf("more than %d redirects", maxRedirects)
		}
		first := via[0].URL
		if first.Scheme == "https" && req.URL.Scheme != "https" {
			return fmt.Errorf("refusing redirect from https to %s", p.red.displayURL(req.URL))
		}
		if !sameOrigin(first, req.URL) {
			for name := range secret {
				req.Header.Del(name)
			}
		}
		return nil
	}
	return client
}

func sameOrigin(a, b *url.URL) bool {
	return a.Scheme == b.Scheme && strings.EqualFold(a.Hostname(), b.Hostname()) && portOf(a) == portOf(b)
}

func portOf(u *url.URL) string {
	if port := u.Port(); port != "" {
		return port
	}
	if u.Scheme == "https" {
		return "443"
	}
	return "80"
}

func (p *httpProber) probe(ctx context.Context, c *Check, timeout time.Duration) outcome {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, c.method, c.url.String(), nil)
	if err != nil {
		return outcome{problem: p.red.String(err.Error())}
	}
	req.Header.Set("User-Agent", p.userAgent)
	// Ask caches and CDNs in front of the service for a fresh answer: a cached page of the
	// previous release must not pass as the new one.
	req.Header.Set("Cache-Control", "no-cache")
	for _, h := range c.headers {
		req.Header.Set(h.name, h.value)
	}
	if c.host != "" {
		req.Host = c.host
	}
	resp, err := p.client(c).Do(req)
	if err != nil {
		return outcome{problem: p.describeError(err, timeout)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return outcome{status: resp.StatusCode, problem: "reading the body: " + p.describeError(err, timeout)}
	}
	problems, versionAt := evaluate(c, response{status: resp.StatusCode, header: resp.Header, body: body}, p.red)
	return outcome{status: resp.StatusCode, problems: problems, excerpt: p.red.excerpt(body), versionAt: versionAt}
}

// describeError turns a transport error into a short redacted line without the request URL
// (url.Error repeats it, query string included).
func (p *httpProber) describeError(err error, timeout time.Duration) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var netErr net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr) && netErr.Timeout():
		return fmt.Sprintf("no answer within %s (--request-timeout)", timeout)
	case errors.Is(err, context.Canceled):
		return "interrupted"
	}
	var unknownAuthority x509.UnknownAuthorityError
	if errors.As(err, &unknownAuthority) {
		return "TLS: certificate signed by an unknown authority (pass the CA with --ca-file)"
	}
	return p.red.String(err.Error())
}
