package registry

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"syscall"
	"unicode"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/shipgate/shipgate/helper/internal/failure"
)

func basicHeader(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

// ProtocolError is a registry's error answer: the HTTP status and the distribution error codes
// of its body (MANIFEST_UNKNOWN, BLOB_UNKNOWN, TAG_INVALID, ...).
type ProtocolError struct {
	Operation string
	Status    int
	Codes     []string
	Message   string
	// Digests are the digests the registry named in its errors' details: distribution names each
	// reference a manifest PUT lacks (MANIFEST_BLOB_UNKNOWN, detail "sha256:…"), which is how a
	// copy learns what the destination is missing (docs/promotion.md "Manifest first").
	Digests []v1.Hash
}

func (e *ProtocolError) Error() string {
	detail := http.StatusText(e.Status)
	if len(e.Codes) > 0 {
		var codes []string
		for i, code := range e.Codes {
			if !slices.Contains(e.Codes[:i], code) {
				codes = append(codes, code)
			}
		}
		detail = strings.Join(codes, ",")
	}
	if e.Message != "" {
		detail += ": " + e.Message
	}
	return fmt.Sprintf("%s: registry answered %d %s", e.Operation, e.Status, detail)
}

// HasCode reports whether the registry named code in its error body.
func (e *ProtocolError) HasCode(code string) bool {
	for _, c := range e.Codes {
		if c == code {
			return true
		}
	}
	return false
}

// maxServerText caps how much of a registry's own error text reaches a message: enough for
// any real error, short enough that a hostile body cannot flood a CI log.
const maxServerText = 300

// responseError reads an error response and classifies it: 401/403 refused (exit 3), 404 not
// found (4), other 4xx a refusal of what was sent (5), 5xx and 429 unavailable (7). The
// registry's words pass through the client's redactor (a registry or proxy may echo the
// Authorization it received) and are cut to maxServerText. It closes the body.
func (c *Client) responseError(operation string, resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	pe := &ProtocolError{Operation: operation, Status: resp.StatusCode}
	var parsed struct {
		Errors []struct {
			Code    string          `json:"code"`
			Message string          `json:"message"`
			Detail  json.RawMessage `json:"detail"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &parsed) == nil {
		var messages []string
		said := map[string]bool{}
		for _, e := range parsed.Errors {
			pe.Codes = append(pe.Codes, c.serverText(e.Code, 64))
			pe.Digests = append(pe.Digests, detailDigests(e.Detail)...)
			// distribution repeats one message per missing reference: say each once.
			if e.Message != "" && !said[e.Message] {
				said[e.Message] = true
				messages = append(messages, e.Message)
			}
		}
		pe.Message = c.serverText(strings.Join(messages, "; "), maxServerText)
	}
	return classify(pe)
}

// detailDigests returns the digests in an error's detail: the detail itself when it is a digest
// string (distribution), or any digest string inside an object or array (other registries wrap
// it, e.g. {"blob": "sha256:…"}). Only well-formed digests are kept, so nothing else a server
// wrote travels on.
func detailDigests(raw json.RawMessage) []v1.Hash {
	if len(raw) == 0 {
		return nil
	}
	var detail any
	if json.Unmarshal(raw, &detail) != nil {
		return nil
	}
	var out []v1.Hash
	var walk func(v any, depth int)
	walk = func(v any, depth int) {
		if depth > 4 || len(out) >= maxDetailDigests {
			return
		}
		switch v := v.(type) {
		case string:
			if h, err := v1.NewHash(v); err == nil {
				out = append(out, h)
			}
		case []any:
			for _, e := range v {
				walk(e, depth+1)
			}
		case map[string]any:
			for _, e := range v {
				walk(e, depth+1)
			}
		}
	}
	walk(detail, 0)
	return out
}

// maxDetailDigests bounds what one error answer can make a copy believe is missing.
const maxDetailDigests = 4096

// serverText is text a server chose, made safe to print: redacted, on one line, without
// control characters, cut to limit bytes.
func (c *Client) serverText(text string, limit int) string {
	text = strings.Join(strings.Fields(c.redact.String(strings.ToValidUTF8(text, "?"))), " ")
	var b strings.Builder
	for i, r := range text {
		if i >= limit {
			b.WriteString("…")
			break
		}
		if unicode.IsControl(r) {
			r = '?'
		}
		b.WriteRune(r)
	}
	return b.String()
}

func classify(pe *ProtocolError) error {
	switch {
	case pe.Status == http.StatusUnauthorized || pe.Status == http.StatusForbidden:
		return failure.WithHint(&failure.Error{Kind: failure.Auth, Err: pe},
			"check the registry credentials (docker config, credential helper, or the assumed role's permissions)")
	case pe.Status == http.StatusNotFound:
		return &failure.Error{Kind: failure.NotFound, Err: pe}
	case pe.Status == http.StatusTooManyRequests || pe.Status >= 500:
		return &failure.Error{Kind: failure.Unavailable, Err: pe}
	default:
		return &failure.Error{Kind: failure.Safety, Err: pe}
	}
}

// unavailable marks a transport failure (connection refused, reset, timeout) as a dependency
// that stayed unavailable after retries: one line naming the registry and what happened,
// without net/http's repetition of the method and URL (issue 18: `HEAD …: Head "…": …`).
func (c *Client) unavailable(req request, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	retried := ""
	if errors.Is(err, errRetryBudget) {
		retried = " (still failing after bounded retries)"
	}
	reason := c.serverText(rootCause(err).Error(), maxServerText)
	if errors.Is(err, syscall.ECONNREFUSED) {
		reason = "connection refused"
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return failure.WithHint(failure.New(failure.Unavailable, "registry %s unreachable: %s%s", req.registry, reason, retried),
			"check that the registry is running and that "+req.registry+" is its address (a restart is waited out for "+c.opts.Retry.Budget.String()+")")
	}
	return failure.New(failure.Unavailable, "registry %s: %s %s failed: %s%s", req.registry, req.method, redactURL(req.url), reason, retried)
}

// rootCause unwraps net/http's *url.Error (which repeats method and URL) and the retry
// budget's join down to the error that says what happened.
func rootCause(err error) error {
	for {
		switch e := err.(type) {
		case *url.Error:
			err = e.Err
		case interface{ Unwrap() []error }:
			var last error
			for _, inner := range e.Unwrap() {
				if inner != errRetryBudget {
					last = inner
				}
			}
			if last == nil {
				return err
			}
			err = last
		default:
			return err
		}
	}
}

// redactURL drops the query of an upload URL: registries put session state (and some put
// signed credentials) there.
func redactURL(raw string) string {
	if i := strings.IndexByte(raw, '?'); i >= 0 {
		return raw[:i]
	}
	return raw
}
