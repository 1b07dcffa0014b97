// Package redact removes credentials from text that is about to be shown: the secrets a
// command holds (in their plain, base64, URL- and JSON-escaped forms) and anything shaped like
// a credential. smoke-test uses it for response bodies, the registry client for registry error
// bodies (issue 14: one redaction for every error text that came from a server).
package redact

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Marker replaces every secret a Redactor removes.
const Marker = "[REDACTED]"

const redacted = Marker

// minSecretLength is the shortest header value replaced verbatim: shorter values would blank
// out ordinary words (CircleCI masks project variables from 4 characters for the same reason).
const minSecretLength = 4

// Redactor removes known secrets and credential-shaped text. The zero value is ready to use and
// safe for concurrent use.
type Redactor struct {
	mu      sync.RWMutex
	secrets []string
}

// Add makes r remove secret, and the forms a server may echo it in.
func (r *Redactor) Add(secret string) {
	if len(secret) < minSecretLength {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, known := range r.secrets {
		if known == secret {
			return
		}
	}
	r.secrets = append(r.secrets, secret)
	// A service may echo the value escaped: in a URL (a Location header) or a JSON string, or
	// encoded, as the Basic scheme sends it (base64 of "user:password").
	quoted, _ := json.Marshal(secret)
	forms := []string{url.QueryEscape(secret), url.PathEscape(secret), string(quoted[1 : len(quoted)-1]),
		base64.StdEncoding.EncodeToString([]byte(secret)), base64.RawStdEncoding.EncodeToString([]byte(secret)),
		base64.URLEncoding.EncodeToString([]byte(secret))}
	if user, password, ok := strings.Cut(secret, ":"); ok && len(password) >= minSecretLength && !strings.Contains(user, " ") {
		forms = append(forms, password)
	}
	for _, form := range forms {
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

// The patterns are compiled on first use, not at package initialisation: every shipgate
// command (--version included) links this package, and compiling them costs start-up time a
// command that never redacts does not need to pay (issue 15, start-up).
type credentialPattern struct {
	re   *regexp.Regexp
	repl string
}

var credentialPatterns = sync.OnceValue(func() []credentialPattern {
	return []credentialPattern{
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
})

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
func (r *Redactor) String(s string) string {
	r.mu.RLock()
	for _, secret := range r.secrets {
		s = strings.ReplaceAll(s, secret, redacted)
	}
	r.mu.RUnlock()
	for _, p := range credentialPatterns() {
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

// ExcerptLength is how many characters of a response body an excerpt shows.
const ExcerptLength = 160

const excerptLength = ExcerptLength

// excerptSource is how much of a body is redacted to make an excerpt: far more than is shown,
// so a credential is recognised whole before the excerpt is cut.
const excerptSource = 4096

// Excerpt returns a short, single-line, redacted excerpt of body.
func (r *Redactor) Excerpt(body []byte) string {
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

// URL renders u for output: the password of any user info and the values of query parameters
// that look secret are replaced, and the redactor runs over the rest.
func (r *Redactor) URL(u *url.URL) string {
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
