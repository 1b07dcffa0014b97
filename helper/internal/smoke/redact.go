package smoke

import (
	"encoding/json"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// redacted replaces every secret a redactor removes.
const redacted = "[REDACTED]"

// minSecretLength is the shortest header value replaced verbatim: shorter values would blank
// out ordinary words (CircleCI masks project variables from 4 characters for the same reason).
const minSecretLength = 4

// redactor removes secrets from everything smoke-test prints or writes: the values of headers
// taken from environment variables, and anything in a response that looks like a credential.
type redactor struct {
	secrets []string
}

func (r *redactor) add(secret string) {
	if len(secret) < minSecretLength {
		return
	}
	r.secrets = append(r.secrets, secret)
	// A service may echo the value escaped: in a URL (a Location header) or a JSON string.
	quoted, _ := json.Marshal(secret)
	for _, form := range []string{url.QueryEscape(secret), url.PathEscape(secret), string(quoted[1 : len(quoted)-1])} {
		if form != secret {
			r.secrets = append(r.secrets, form)
		}
	}
	// A value such as "Bearer abc..." may come back in parts: redact the long parts too.
	if parts := strings.Fields(secret); len(parts) > 1 {
		for _, part := range parts {
			if len(part) >= 8 {
				r.secrets = append(r.secrets, part)
			}
		}
	}
	// Longest first, so a secret that contains another is replaced whole.
	sort.Slice(r.secrets, func(i, j int) bool { return len(r.secrets[i]) > len(r.secrets[j]) })
}

var credentialPatterns = []struct {
	re   *regexp.Regexp
	repl string
}{
	// PEM private keys, whole block (or to the end when cut off).
	{regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----(?s:.*?)(?:-----END [A-Z ]*PRIVATE KEY-----|$)`), redacted},
	// JSON Web Tokens (header.payload.signature, base64url).
	{regexp.MustCompile(`eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*`), redacted},
	// Authorization schemes followed by a credential.
	{regexp.MustCompile(`(?i)\b(bearer|basic|token|digest)(\s+)[A-Za-z0-9._~+/=-]{6,}`), "${1}${2}" + redacted},
	// Well-known token shapes: AWS access key IDs, GitHub, Slack, Google API keys.
	{regexp.MustCompile(`\b(?:AKIA|ASIA)[A-Z0-9]{16}\b`), redacted},
	{regexp.MustCompile(`\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})`), redacted},
	{regexp.MustCompile(`\bxox[abposr]-[A-Za-z0-9-]{10,}`), redacted},
	{regexp.MustCompile(`\bAIza[0-9A-Za-z_-]{30,}`), redacted},
}

// secretPair matches name=value or "name": "value" pairs whose name says secret.
var secretPair = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)("?[a-z0-9_.-]*(?:password|passwd|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|credential|authorization|session|cookie|signature)[a-z0-9_.-]*"?\s*[:=]\s*"?)([^"\s,&;}]+)`)
})

// authScheme is a value that names an authorization scheme; the credential after it is
// handled by the scheme pattern.
var authScheme = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?i)^(bearer|basic|token|digest)$`) })

// longToken finds long runs of token characters; highEntropy decides which of them to remove.
var longToken = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`[A-Za-z0-9+/_-]{32,}={0,2}`) })

// highEntropy reports whether a long token mixes upper case, lower case and digits, as
// generated secrets do. Commit SHAs and digests (lower-case hex) and UUIDs stay readable: they
// are what a smoke test reports.
func highEntropy(token string) bool {
	var upper, lower, digit bool
	for _, r := range token {
		switch {
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsLower(r):
			lower = true
		case unicode.IsDigit(r):
			digit = true
		}
	}
	return upper && lower && digit
}

// String returns s with known secrets and credential-like text replaced.
func (r *redactor) String(s string) string {
	for _, secret := range r.secrets {
		s = strings.ReplaceAll(s, secret, redacted)
	}
	for _, p := range credentialPatterns {
		s = p.re.ReplaceAllString(s, p.repl)
	}
	s = secretPair().ReplaceAllStringFunc(s, func(pair string) string {
		m := secretPair().FindStringSubmatch(pair)
		if authScheme().MatchString(m[2]) || m[2] == redacted {
			return pair
		}
		return m[1] + redacted
	})
	return longToken().ReplaceAllStringFunc(s, func(token string) string {
		if highEntropy(token) {
			return redacted
		}
		return token
	})
}

// excerptLength is how many characters of a response body a verdict shows.
const excerptLength = 160

// excerptSource is how much of a body is redacted to make an excerpt: far more than is shown,
// so a credential is recognised whole before the excerpt is cut.
const excerptSource = 4096

// excerpt returns a short, single-line, redacted excerpt of body.
func (r *redactor) excerpt(body []byte) string {
	// Redact the whole (bounded) body first, so cutting it cannot split a secret past a pattern.
	if len(body) > excerptSource {
		body = body[:excerptSource]
	}
	text := strings.ToValidUTF8(string(body), "?")
	text = strings.Join(strings.Fields(r.String(text)), " ")
	if utf8.RuneCountInString(text) <= excerptLength {
		return text
	}
	runes := []rune(text)
	cut := string(runes[:excerptLength])
	// Never end on a partial "[REDACTED]" marker that would look like data.
	if i := strings.LastIndex(cut, "["); i >= 0 && strings.HasPrefix(redacted, cut[i:]) && cut[i:] != redacted {
		cut = cut[:i]
	}
	return cut + "…"
}

// secretQueryName matches query parameter names whose values are shown as [REDACTED].
var secretQueryName = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)password|passwd|secret|token|key|sig|signature|credential|auth|session|code`)
})

// displayURL renders u for output: the password of any user info and the values of query
// parameters that look secret are replaced, and the redactor runs over the rest.
func (r *redactor) displayURL(u *url.URL) string {
	shown := *u
	if shown.User != nil {
		shown.User = url.User(shown.User.Username())
	}
	if shown.RawQuery != "" {
		query := shown.Query()
		changed := false
		for name, values := range query {
			if secretQueryName().MatchString(name) {
				for i := range values {
					values[i] = "REDACTED"
				}
				changed = true
			}
		}
		if changed {
			shown.RawQuery = query.Encode()
		}
	}
	return r.String(shown.String())
}
