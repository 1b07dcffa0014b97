package registry

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

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
}

func (e *ProtocolError) Error() string {
	detail := http.StatusText(e.Status)
	if len(e.Codes) > 0 {
		detail = strings.Join(e.Codes, ",")
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

// responseError reads an error response and classifies it: 401/403 refused (exit 3), 404 not
// found (4), other 4xx a refusal of what was sent (5), 5xx and 429 unavailable (7). It closes
// the body.
func responseError(operation string, resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	pe := &ProtocolError{Operation: operation, Status: resp.StatusCode}
	var parsed struct {
		Errors []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &parsed) == nil {
		var messages []string
		for _, e := range parsed.Errors {
			pe.Codes = append(pe.Codes, e.Code)
			if e.Message != "" {
				messages = append(messages, e.Message)
			}
		}
		pe.Message = strings.Join(messages, "; ")
	}
	return classify(pe)
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
// that stayed unavailable after retries.
func unavailable(req request, err error) error {
	if ue, ok := err.(*url.Error); ok && strings.Contains(ue.URL, "?") {
		// net/http names the whole URL; an upload URL's query carries session state.
		redacted := *ue
		redacted.URL = redactURL(ue.URL)
		err = &redacted
	}
	if errors.Is(err, errRetryBudget) {
		return failure.Wrap(failure.Unavailable, err, "%s %s", req.method, redactURL(req.url))
	}
	return failure.Wrap(failure.Unavailable, err, "registry %s unreachable", req.registry)
}

func classifyTransportError(err error, operation string) error {
	var te *transport.Error
	if errors.As(err, &te) {
		pe := &ProtocolError{Operation: operation, Status: te.StatusCode}
		for _, d := range te.Errors {
			pe.Codes = append(pe.Codes, string(d.Code))
			if d.Message != "" {
				pe.Message = d.Message
			}
		}
		return classify(pe)
	}
	return failure.Wrap(failure.Unavailable, err, "%s", operation)
}

// redactURL drops the query of an upload URL: registries put session state (and some put
// signed credentials) there.
func redactURL(raw string) string {
	if i := strings.IndexByte(raw, '?'); i >= 0 {
		return raw[:i]
	}
	return raw
}
