package smoke

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"regexp/syntax"
	"strings"
	"sync"
)

// CheckSpec is one check as a user writes it, on the command line (--url and its expectation
// flags) or in a checks file. Compile validates it; nothing in a spec is trusted before that.
type CheckSpec struct {
	// Name identifies the check in progress lines, the verdict and the JUnit test case.
	// Checks from --url are named after their (redacted) URL.
	Name string `yaml:"name"`
	// URL is the absolute http or https URL to request.
	URL string `yaml:"url"`
	// Method is the request method; the default is GET.
	Method string `yaml:"method"`
	// Headers are request headers. A value "env:NAME" is read from the environment variable
	// NAME and treated as a secret; a literal value is allowed only for headers whose name does
	// not suggest a credential (Authorization, Cookie, *token*, *key*, ... must use env:).
	Headers Pairs `yaml:"headers"`
	// Expect holds what a passing response looks like.
	Expect ExpectSpec `yaml:"expect"`
	// FollowRedirects makes the check follow up to 10 redirects and judge the final response.
	// The default is not to follow: a 3xx is judged as it is (see Check).
	FollowRedirects bool `yaml:"followRedirects"`
}

// ExpectSpec is what a passing response looks like. Every expectation given must hold.
type ExpectSpec struct {
	// Status is the accepted status: "200", "200,204", "2xx" (the default) or a list.
	Status StatusText `yaml:"status"`
	// Body is a regular expression (Go RE2 syntax) the body must match somewhere.
	Body string `yaml:"body"`
	// JSON maps paths (.build.version, .items[0].name) to the value each must equal.
	JSON Pairs `yaml:"json"`
	// Headers maps response header names to the exact value one of their values must have.
	Headers Pairs `yaml:"headers"`
	// Version is the version the response must report (in a header, a JSON field or the
	// body): by default the run's version (--expect-version or SHIPGATE_VERSION).
	Version VersionSpec `yaml:"version"`
}

// StatusText is a status expectation as written; in a checks file it may be a number, a string
// or a list of them.
type StatusText string

// Pair is one name/value entry; Pairs keep the order they were written in.
type Pair struct {
	Name  string
	Value string
}

// Pairs is an ordered list of name/value entries (a YAML mapping in a checks file, repeated
// NAME=VALUE flags on the command line).
type Pairs []Pair

// VersionMode says where a check's expected version comes from.
type VersionMode int

const (
	// VersionDefault uses the run's version (--expect-version, else SHIPGATE_VERSION); no
	// version check when the run has none.
	VersionDefault VersionMode = iota
	// VersionOff checks no version for this check.
	VersionOff
	// VersionRequired uses the run's version and is bad usage when the run has none.
	VersionRequired
	// VersionExplicit checks Value.
	VersionExplicit
)

// VersionSpec is a check's version expectation: in a checks file `version: false` (none),
// `version: true` (the run's version, which must be known) or `version: "1.2.3"`.
type VersionSpec struct {
	Mode  VersionMode
	Value string
}

// Check is a validated check, ready to run.
//
// Redirects: a check does not follow redirects unless it asks to. A health endpoint that
// redirects (to a login page, to another host) is usually not healthy, and a 302 judged by
// the default 2xx expectation fails with a message naming the Location. A check that follows
// redirects goes at most 10 hops, never from https to http, and drops every header taken from
// the environment when a hop leaves the original scheme, host and port.
type Check struct {
	Name            string
	url             *url.URL
	shownURL        string
	method          string
	headers         []requestHeader
	host            string
	status          StatusSpec
	body            *regexp.Regexp
	json            []jsonExpectation
	respHeaders     []Pair
	version         string
	followRedirects bool
}

type requestHeader struct {
	name   string
	value  string
	secret bool
}

type jsonExpectation struct {
	path Path
	want string
}

// compileEnv is what compiling a check needs from the run.
type compileEnv struct {
	getenv  func(string) string
	version string
	red     *redactor
}

var (
	envVarName      = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`) })
	headerName      = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$") })
	methodName      = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Z]+$`) })
	credentialNames = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?i)^(authorization|proxy-authorization|cookie)$|token|key|secret|auth|session|password|passwd|credential|signature`)
	})
)

// envPrefix marks a header value read from the named environment variable.
const envPrefix = "env:"

// compile validates spec and resolves its environment references. where names the check in
// error messages. Every error is bad usage.
func compile(spec CheckSpec, where string, env compileEnv) (*Check, error) {
	fail := func(format string, args ...any) (*Check, error) {
		return nil, fmt.Errorf("%s: %s", where, fmt.Sprintf(format, args...))
	}
	c := &Check{Name: spec.Name, method: "GET", followRedirects: spec.FollowRedirects}

	u, err := ParseURL(spec.URL)
	if err != nil {
		return fail("%v", err)
	}
	c.url = u
	c.shownURL = env.red.displayURL(u)
	if c.Name == "" {
		c.Name = c.shownURL
	}

	if spec.Method != "" {
		if !methodName().MatchString(spec.Method) {
			return fail("method %q: want an upper-case HTTP method such as GET or HEAD", spec.Method)
		}
		c.method = spec.Method
	}

	for _, h := range spec.Headers {
		header, err := resolveHeader(h, env)
		if err != nil {
			return fail("%v", err)
		}
		if header.secret {
			env.red.add(header.value)
		}
		if http.CanonicalHeaderKey(header.name) == "Host" {
			c.host = header.value
			continue
		}
		c.headers = append(c.headers, header)
	}

	status := string(spec.Expect.Status)
	if status == "" {
		status = DefaultStatus
	}
	if c.status, err = ParseStatus(status); err != nil {
		return fail("%v", err)
	}

	if spec.Expect.Body != "" {
		if c.body, err = regexp.Compile(spec.Expect.Body); err != nil {
			return fail("body expectation: invalid regular expression %q: %v", spec.Expect.Body, unwrapRegexpError(err))
		}
	}

	for _, j := range spec.Expect.JSON {
		path, err := ParsePath(j.Name)
		if err != nil {
			return fail("%v", err)
		}
		c.json = append(c.json, jsonExpectation{path: path, want: j.Value})
	}

	for _, h := range spec.Expect.Headers {
		if !headerName().MatchString(h.Name) {
			return fail("expected response header %q: not a valid header name", h.Name)
		}
		c.respHeaders = append(c.respHeaders, Pair{Name: http.CanonicalHeaderKey(h.Name), Value: h.Value})
	}

	switch spec.Expect.Version.Mode {
	case VersionDefault:
		c.version = env.version
	case VersionRequired:
		if env.version == "" {
			return fail("version: true needs a version: pass --expect-version or set SHIPGATE_VERSION")
		}
		c.version = env.version
	case VersionExplicit:
		if strings.TrimSpace(spec.Expect.Version.Value) == "" {
			return fail("version: empty; write version: false to check none")
		}
		c.version = strings.TrimSpace(spec.Expect.Version.Value)
	}
	return c, nil
}

// ParseURL accepts an absolute http or https URL with a host and no password in it (a
// credential belongs in a header taken from the environment).
func ParseURL(text string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(text))
	if err != nil {
		return nil, fmt.Errorf("URL %q is malformed: %v", redactURLText(text), unwrapURLError(err))
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || u.Opaque != "" {
		return nil, fmt.Errorf("URL %q: want an absolute http:// or https:// URL with a host", redactURLText(text))
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("URL %q: no host name", redactURLText(text))
	}
	if _, hasPassword := u.User.Password(); hasPassword {
		return nil, fmt.Errorf("URL %q carries a password: pass credentials as --header 'Authorization=env:VARIABLE'", redactURLText(text))
	}
	return u, nil
}

// redactURLText hides the user info of a URL that may not parse.
func redactURLText(text string) string {
	if i := strings.Index(text, "://"); i >= 0 {
		rest := text[i+3:]
		if at := strings.LastIndex(rest, "@"); at >= 0 && !strings.ContainsAny(rest[:at], "/?#") {
			return text[:i+3] + redacted + rest[at:]
		}
	}
	return text
}

func unwrapURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

func unwrapRegexpError(err error) string {
	var se *syntax.Error
	if errors.As(err, &se) {
		return fmt.Sprintf("%s in %q", se.Code, se.Expr)
	}
	return err.Error()
}

// resolveHeader validates one request header and reads its value from the environment when
// it is written as env:NAME.
func resolveHeader(h Pair, env compileEnv) (requestHeader, error) {
	if !headerName().MatchString(h.Name) {
		return requestHeader{}, fmt.Errorf("header %q: not a valid header name", h.Name)
	}
	if variable, ok := strings.CutPrefix(h.Value, envPrefix); ok {
		if !envVarName().MatchString(variable) {
			return requestHeader{}, fmt.Errorf("header %s: %q is not an environment variable name", h.Name, variable)
		}
		value := env.getenv(variable)
		if value == "" {
			return requestHeader{}, fmt.Errorf("header %s: environment variable %s is not set (or empty)", h.Name, variable)
		}
		if strings.ContainsAny(value, "\r\n\x00") {
			return requestHeader{}, fmt.Errorf("header %s: environment variable %s holds a line break or NUL, which no header value may contain", h.Name, variable)
		}
		return requestHeader{name: h.Name, value: value, secret: true}, nil
	}
	if credentialNames().MatchString(h.Name) {
		return requestHeader{}, fmt.Errorf("header %s carries a credential: write %s=env:VARIABLE and put the value in that environment variable, never on the command line or in a file", h.Name, h.Name)
	}
	if strings.ContainsAny(h.Value, "\r\n\x00") {
		return requestHeader{}, fmt.Errorf("header %s: value contains a line break or NUL", h.Name)
	}
	return requestHeader{name: h.Name, value: h.Value}, nil
}

// ParsePair splits a NAME=VALUE flag value at the first '='.
func ParsePair(flag, text string) (Pair, error) {
	name, value, ok := strings.Cut(text, "=")
	if !ok || strings.TrimSpace(name) == "" {
		return Pair{}, fmt.Errorf("%s %q: want NAME=VALUE", flag, text)
	}
	return Pair{Name: strings.TrimSpace(name), Value: value}, nil
}

// ParseJSONPair splits a PATH=VALUE flag value at the first '=' that ends a valid path, so a
// quoted member name may itself contain '='.
func ParseJSONPair(text string) (Pair, error) {
	var firstErr error
	for i := 0; i < len(text); i++ {
		if text[i] != '=' {
			continue
		}
		if _, err := ParsePath(text[:i]); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		return Pair{Name: text[:i], Value: text[i+1:]}, nil
	}
	if firstErr != nil {
		return Pair{}, firstErr
	}
	return Pair{}, fmt.Errorf("--json %q: want PATH=VALUE, for example .build.version=1.2.3", text)
}
