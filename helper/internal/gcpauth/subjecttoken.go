package gcpauth

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/oidctoken"
)

// TokenTypeIDToken is the subject token type of an OIDC ID token in Google's executable
// response.
const TokenTypeIDToken = "urn:ietf:params:oauth:token-type:id_token"

// ExecutableResponse is Google's executable-sourced credential response (version 1): on
// success the token, its type and its expiry; on failure a code and a message. Google's
// libraries refuse a token whose expiration_time has passed.
type ExecutableResponse struct {
	Version        int    `json:"version"`
	Success        bool   `json:"success"`
	TokenType      string `json:"token_type,omitempty"`
	IDToken        string `json:"id_token,omitempty"`
	ExpirationTime int64  `json:"expiration_time,omitempty"`
	Code           string `json:"code,omitempty"`
	Message        string `json:"message,omitempty"`
}

// JSON encodes the response as one line.
func (r ExecutableResponse) JSON() []byte {
	data, _ := json.Marshal(r)
	return append(data, '\n')
}

// ErrorResponse is the executable response for err: a code naming the error class (the same
// classes as shipgate's exit codes) and the one-line message, which never holds a token.
func ErrorResponse(err error) ExecutableResponse {
	return ExecutableResponse{Version: 1, Success: false, Code: errorCode(failure.KindOf(err)), Message: err.Error()}
}

func errorCode(k failure.Kind) string {
	switch k {
	case failure.Usage:
		return "invalid_input"
	case failure.Auth:
		return "refused"
	case failure.NotFound:
		return "not_found"
	case failure.Unavailable:
		return "unavailable"
	}
	return "internal"
}

// SubjectOptions say where the subject token comes from.
type SubjectOptions struct {
	// Injected is the token CircleCI put in the job's environment ($CIRCLE_OIDC_TOKEN by
	// default: its v1 sub fits google.subject).
	Injected oidctoken.Source
	// Mint, when set, mints a fresh token (circleci run oidc get). Nil outside a CircleCI job.
	Mint oidctoken.Source
	// SubjectLimit refuses tokens whose sub is longer (bytes); 0 turns the check off, for
	// providers that map google.subject from something shorter than sub.
	SubjectLimit int
	// MinValidity is how long a token must still be valid to be handed out: the exchange
	// happens right after, and a token about to expire fails there. Default 60s.
	MinValidity time.Duration
	// Now is the clock (time.Now by default).
	Now func() time.Time
}

// Subject is a token chosen for the exchange, with its claims.
type Subject struct {
	Token  string
	Claims *oidctoken.Claims
	// Source describes where the token came from (never the token).
	Source string
	// Note says why a fresher token was not used, when that happened ("" otherwise).
	Note string
}

// Response is the executable response for the subject.
func (s Subject) Response() ExecutableResponse {
	return ExecutableResponse{Version: 1, Success: true, TokenType: TokenTypeIDToken, IDToken: s.Token, ExpirationTime: s.Claims.Expiry.Unix()}
}

// SubjectToken returns the token to present to Google's STS: a freshly minted one when minting
// is possible and its sub fits the limit, else the injected one while it is still valid.
// Errors say which limit or expiry refused the token and never include it.
func SubjectToken(ctx context.Context, o SubjectOptions) (Subject, error) {
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	minValidity := o.MinValidity
	if minValidity == 0 {
		minValidity = 60 * time.Second
	}
	var note string
	if o.Mint != nil {
		s, err := checkedToken(ctx, o.Mint, o.SubjectLimit, now(), minValidity)
		if err == nil {
			return s, nil
		}
		if ctx.Err() != nil {
			return Subject{}, err
		}
		note = "not minted: " + err.Error()
	}
	if o.Injected == nil {
		return Subject{}, failure.New(failure.Usage, "no OIDC token source")
	}
	s, err := checkedToken(ctx, o.Injected, o.SubjectLimit, now(), minValidity)
	if err != nil {
		if note != "" {
			return Subject{}, failure.Wrap(failure.KindOf(err), errors.New(note), "%s", err.Error())
		}
		return Subject{}, err
	}
	s.Note = note
	return s, nil
}

func checkedToken(ctx context.Context, src oidctoken.Source, limit int, now time.Time, minValidity time.Duration) (Subject, error) {
	token, err := src.Token(ctx)
	if err != nil {
		return Subject{}, err
	}
	claims, err := oidctoken.Decode(token)
	if err != nil {
		return Subject{}, failure.Wrap(failure.KindOf(err), err, "OIDC token from %s", src.Describe())
	}
	if err := CheckSubject(claims, limit); err != nil {
		return Subject{}, failure.Wrap(failure.Usage, err, "OIDC token from %s", src.Describe())
	}
	if err := claims.CheckExpiry(now, minValidity); err != nil {
		return Subject{}, failure.WithHint(failure.Wrap(failure.Auth, err, "OIDC token from %s", src.Describe()),
			"CircleCI's injected tokens expire an hour after the job starts; inside a job with the circleci CLI, shipgate mints fresh ones")
	}
	return Subject{Token: token, Claims: claims, Source: src.Describe()}, nil
}

// CheckSubject refuses a token whose sub is longer than limit bytes (0: no limit), saying so
// plainly: Google's STS would refuse it with "The size of mapped attribute google.subject
// exceeds the 127 bytes limit" when the provider maps google.subject=assertion.sub.
func CheckSubject(c *oidctoken.Claims, limit int) error {
	if limit <= 0 || len(c.Subject) <= limit {
		return nil
	}
	form := "its"
	if c.SubjectVersion() == 2 {
		form = "its v2 (with vcs-origin and vcs-ref)"
	}
	return failure.WithHint(failure.New(failure.Usage,
		"sub is %d bytes, over the %d-byte limit of google.subject: %s sub %q would not fit a provider mapping google.subject=assertion.sub",
		len(c.Subject), limit, form, c.Subject),
		"use the v1 token ($CIRCLE_OIDC_TOKEN, the default) or map google.subject to something shorter and pass --subject-limit 0")
}
