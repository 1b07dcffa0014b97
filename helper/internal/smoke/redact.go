package smoke

import (
	"net/url"

	"github.com/shipgate/shipgate/helper/internal/redact"
)

// redacted replaces every secret a redactor removes.
const redacted = redact.Marker

// redactor removes secrets from everything smoke-test prints or writes: the values of headers
// taken from environment variables, and anything in a response that looks like a credential.
// The rules live in package redact, shared with the registry client's error texts.
type redactor struct{ redact.Redactor }

func (r *redactor) add(secret string)            { r.Add(secret) }
func (r *redactor) excerpt(body []byte) string   { return r.Excerpt(body) }
func (r *redactor) displayURL(u *url.URL) string { return r.URL(u) }
