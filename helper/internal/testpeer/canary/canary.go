// Package canary holds the credential values tests plant (static keys in a job's environment,
// registry passwords, bearer tokens, the STS emulator's session secrets) and finds them again in
// any text, plain or encoded. The secret scan (.ci/secret-scan) runs the whole test suite and the
// demo and fails when any of them, or anything shaped like a signed JWT, appears in the output.
package canary

import (
	"encoding/base64"
	"net/url"
	"regexp"
	"sort"
	"strings"
)

// Planted credentials. Each is unique enough that finding it anywhere is a leak, never a
// coincidence.
const (
	// StaticAccessKeyID and StaticSecretKey are long-term AWS keys a CircleCI context might
	// inject into a job; shipgate must never print or forward them.
	StaticAccessKeyID = "AKIACANARYSTATICKEY1"
	StaticSecretKey   = "canary/static/secret/key/0123456789abcdef"
	// RegistryPassword is the password of the tests' authenticated registries.
	RegistryPassword = "canary-registry-password-5f1c9e"
	// SmokeToken is a bearer token smoke checks send.
	SmokeToken = "cAnAry7Tok3nVal"
	// SessionSecretPrefix starts every secret access key the STS emulator issues, and
	// SessionTokenPrefix every session token, so issued credentials are recognisable too.
	SessionSecretPrefix = "cnrySTSsecret"
	SessionTokenPrefix  = "FwoGZXIvYXdzEcnrySTStoken"
)

// All returns every planted value with its name.
func All() map[string]string {
	return map[string]string{
		"StaticAccessKeyID":   StaticAccessKeyID,
		"StaticSecretKey":     StaticSecretKey,
		"RegistryPassword":    RegistryPassword,
		"SmokeToken":          SmokeToken,
		"SessionSecretPrefix": SessionSecretPrefix,
		"SessionTokenPrefix":  SessionTokenPrefix,
	}
}

// Forms returns the ways s can appear in text: plain, URL-encoded (query and path escaping),
// and base64 (standard and URL alphabets) at each of the three byte alignments it can have
// inside a longer encoded value (the stable middle of the encoding, so a canary embedded in a
// larger encoded blob is found too).
func Forms(s string) []string {
	set := map[string]bool{s: true, url.QueryEscape(s): true, url.PathEscape(s): true}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawURLEncoding} {
		for offset := 0; offset < 3; offset++ {
			encoded := enc.EncodeToString([]byte(strings.Repeat("\x00", offset) + s))
			encoded = strings.TrimRight(encoded, "=")
			start := 0
			if offset > 0 {
				start = 4 // the group holding the padding bytes
			}
			end := len(encoded) - 4 // the last group also depends on what follows s
			if end-start >= 8 {
				set[encoded[start:end]] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for f := range set {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// jwtPattern matches a signed JWT (header.payload.signature, each base64url): any such token in
// output is a leak whoever minted it.
var jwtPattern = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}`)

// Finding is one leak: which canary, in which form, on which line.
type Finding struct {
	Line int
	Name string
	Form string // "plain", "encoded" or "jwt"
}

// Scan returns every line of text that holds a canary (in any of its forms) or a signed JWT.
func Scan(text string) []Finding {
	type needle struct{ name, form, value string }
	var needles []needle
	for name, value := range All() {
		for _, f := range Forms(value) {
			form := "encoded"
			if f == value {
				form = "plain"
			}
			needles = append(needles, needle{name, form, f})
		}
	}
	var findings []Finding
	for i, line := range strings.Split(text, "\n") {
		for _, n := range needles {
			if strings.Contains(line, n.value) {
				findings = append(findings, Finding{Line: i + 1, Name: n.name, Form: n.form})
			}
		}
		if jwtPattern.MatchString(line) {
			findings = append(findings, Finding{Line: i + 1, Name: "signed JWT", Form: "jwt"})
		}
	}
	return findings
}
