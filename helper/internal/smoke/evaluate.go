package smoke

import (
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// response is what a probe saw: enough to judge it against a check.
type response struct {
	status int
	header http.Header
	body   []byte
}

// evaluate judges r against c. It returns the unmet expectations (none: the attempt passed)
// and, when c expects a version, where the version was found. Every message is redacted.
func evaluate(c *Check, r response, red *redactor) (problems []string, versionAt string) {
	if !c.status.Match(r.status) {
		msg := fmt.Sprintf("status %d, want %s", r.status, c.status)
		if r.status >= 300 && r.status < 400 && !c.followRedirects {
			if loc := r.header.Get("Location"); loc != "" {
				msg += fmt.Sprintf(" (redirect to %s not followed; the check can follow redirects)", shownLocation(c, loc, red))
			}
		}
		problems = append(problems, msg)
	}
	if c.body != nil && !c.body.Match(r.body) {
		problems = append(problems, fmt.Sprintf("body does not match /%s/", c.body))
	}
	if len(c.json) > 0 {
		problems = append(problems, evaluateJSON(c, r.body, red)...)
	}
	for _, want := range c.respHeaders {
		values := r.header.Values(want.Name)
		if len(values) == 0 {
			problems = append(problems, fmt.Sprintf("header %s missing, want %q", want.Name, want.Value))
			continue
		}
		if !contains(values, want.Value) {
			problems = append(problems, red.String(fmt.Sprintf("header %s is %q, want %q", want.Name, strings.Join(values, ", "), want.Value)))
		}
	}
	if c.version != "" {
		versionAt = findVersion(c.version, r)
		if versionAt == "" {
			msg := fmt.Sprintf("version %s not found in headers, JSON fields or body", c.version)
			if seen := servedVersion(r); seen != "" {
				msg += "; it serves " + seen
			}
			problems = append(problems, red.String(msg))
		}
	}
	return problems, versionAt
}

// shownLocation renders a Location header, resolved against the check's URL.
func shownLocation(c *Check, loc string, red *redactor) string {
	if u, err := c.url.Parse(loc); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
		return red.displayURL(u)
	}
	return red.String(redactURLText(loc))
}

func contains(values []string, want string) bool {
	for _, v := range values {
		if v == want {
			return true
		}
	}
	return false
}

func evaluateJSON(c *Check, body []byte, red *redactor) []string {
	doc, err := decodeJSON(body)
	if err != nil {
		return []string{fmt.Sprintf("body is not JSON (%d JSON expectation(s) unmet)", len(c.json))}
	}
	var problems []string
	for _, j := range c.json {
		value, ok := j.path.Lookup(doc)
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("JSON %s missing, want %q", j.path, j.want))
		case !jsonEqual(value, j.want):
			problems = append(problems, red.String(fmt.Sprintf("JSON %s is %s, want %q", j.path, clip(describeJSON(value), 80), j.want)))
		}
	}
	return problems
}

func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// versionToken matches the runs of characters a version is made of; a version matches a
// whole token, so 1.2.3 is not found in 1.2.30 or 1.2.3-rc1.
var versionToken = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`[A-Za-z0-9._+-]+`) })

// findVersion looks for want in the response: in any header value, then in any JSON string or
// number, then anywhere in the body. It returns where it was found ("header X-Version",
// "JSON .build.version", "body") or "".
func findVersion(want string, r response) string {
	names := make([]string, 0, len(r.header))
	for name := range r.header {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		for _, value := range r.header[name] {
			if hasVersion(value, want) {
				return "header " + name
			}
		}
	}
	if doc, err := decodeJSON(r.body); err == nil {
		if at, ok := findVersionJSON(doc, want, Path{}); ok {
			return "JSON " + at.String()
		}
	}
	if hasVersion(string(r.body), want) {
		return "body"
	}
	return ""
}

func findVersionJSON(doc any, want string, at Path) (Path, bool) {
	switch v := doc.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if p, ok := findVersionJSON(v[k], want, at.child(pathStep{key: k})); ok {
				return p, true
			}
		}
	case []any:
		for i, x := range v {
			if p, ok := findVersionJSON(x, want, at.child(pathStep{index: i, isIndex: true})); ok {
				return p, true
			}
		}
	default:
		if text, ok := scalarString(v); ok && hasVersion(text, want) {
			return at, true
		}
	}
	return Path{}, false
}

func (p Path) child(step pathStep) Path {
	steps := make([]pathStep, len(p.steps), len(p.steps)+1)
	copy(steps, p.steps)
	return Path{steps: append(steps, step)}
}

func scalarString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case fmt.Stringer: // json.Number
		return x.String(), true
	}
	return "", false
}

// hasVersion reports whether text holds want as a whole token. A leading "v" is optional on
// either side (v1.2.3 matches 1.2.3), and a commit SHA also matches its abbreviation of at
// least 7 hex digits, as services often report the short form.
func hasVersion(text, want string) bool {
	if !versionToken().MatchString(want) || versionToken().FindString(want) != want {
		// A version with other characters (release/1.2, "1.2 beta") cannot be a single
		// token: look for it as written.
		return strings.Contains(text, want)
	}
	if !strings.Contains(text, trimV(want)) && !(isHex(want) && len(want) == 40 && strings.Contains(strings.ToLower(text), strings.ToLower(want[:7]))) {
		return false
	}
	for _, token := range versionToken().FindAllString(text, -1) {
		// "1.2.3." at the end of a sentence still names 1.2.3.
		if versionEqual(token, want) || versionEqual(strings.TrimRight(token, ".-+"), want) {
			return true
		}
	}
	return false
}

func versionEqual(token, want string) bool {
	if token == want || trimV(token) == trimV(want) {
		return true
	}
	if isHex(want) && len(want) == 40 && isHex(token) && len(token) >= 7 && strings.HasPrefix(strings.ToLower(want), strings.ToLower(token)) {
		return true
	}
	return false
}

func trimV(s string) string {
	if len(s) > 1 && (s[0] == 'v' || s[0] == 'V') && s[1] >= '0' && s[1] <= '9' {
		return s[1:]
	}
	return s
}

func isHex(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// servedVersion names the version a response seems to report (a header or top-level JSON
// member whose name says version, revision or commit), to explain a version mismatch.
func servedVersion(r response) string {
	isVersionName := func(name string) bool {
		name = strings.ToLower(name)
		return strings.Contains(name, "version") || strings.Contains(name, "revision") || strings.Contains(name, "commit") || name == "sha" || name == "build"
	}
	names := make([]string, 0, len(r.header))
	for name := range r.header {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if isVersionName(name) {
			return fmt.Sprintf("header %s: %s", name, clip(r.header.Get(name), 60))
		}
	}
	doc, err := decodeJSON(r.body)
	if err != nil {
		return ""
	}
	if m, ok := doc.(map[string]any); ok {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if !isVersionName(k) {
				continue
			}
			if text, ok := scalarString(m[k]); ok {
				return fmt.Sprintf("JSON %s: %s", Path{}.child(pathStep{key: k}), clip(text, 60))
			}
		}
	}
	return ""
}
