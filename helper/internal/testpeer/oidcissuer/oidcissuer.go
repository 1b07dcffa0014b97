// Package oidcissuer is a local OpenID Connect issuer on 127.0.0.1 shaped like CircleCI's
// (https://oidc.circleci.com/org/<org-id>): OIDC discovery, a JWKS, and RS256 ID tokens with
// CircleCI's v1 and v2 claims (FACTS.md §1). Knobs mint deliberately bad tokens (wrong
// audience or issuer, expired, signed by a key not in the JWKS, alg none) and make the JWKS
// fail, so relying parties (the STS emulator) can be tested against every failure.
package oidcissuer

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Issuer is a running local OIDC issuer for one CircleCI organisation.
type Issuer struct {
	// URL is the issuer identifier, the `iss` of its tokens: http://127.0.0.1:PORT/org/ORG.
	URL string
	// OrgID is the organisation ID: the default audience and part of every sub.
	OrgID string
	// Now is the issuer's clock (time.Now by default).
	Now func() time.Time

	server   *httptest.Server
	key      *rsa.PrivateKey
	keyID    string
	stray    *rsa.PrivateKey
	mu       sync.Mutex
	jwksFail int
	fetches  int
}

// New starts an issuer for orgID. Close it when done.
func New(orgID string) (*Issuer, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	stray, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	i := &Issuer{OrgID: orgID, Now: time.Now, key: key, stray: stray, keyID: "shipgate-test-key-1"}
	mux := http.NewServeMux()
	prefix := "/org/" + orgID
	mux.HandleFunc("GET "+prefix+"/.well-known/openid-configuration", i.discovery)
	mux.HandleFunc("GET "+prefix+"/.well-known/jwks-pub.json", i.jwks)
	i.server = httptest.NewServer(mux)
	i.URL = i.server.URL + prefix
	return i, nil
}

// Close stops the issuer: later JWKS fetches are refused (connection refused), as when the
// identity provider is unreachable.
func (i *Issuer) Close() { i.server.Close() }

// FailJWKS makes the next n JWKS fetches answer 503.
func (i *Issuer) FailJWKS(n int) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.jwksFail = n
}

// JWKSFetches reports how many times the JWKS was requested.
func (i *Issuer) JWKSFetches() int {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.fetches
}

// ProviderHost is the issuer without its scheme, the way AWS names an OIDC provider and
// prefixes trust-policy condition keys (oidc.circleci.com/org/ORG:aud).
func (i *Issuer) ProviderHost() string {
	return strings.TrimPrefix(strings.TrimPrefix(i.URL, "https://"), "http://")
}

func (i *Issuer) discovery(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, map[string]any{
		"issuer":                                i.URL,
		"jwks_uri":                              i.URL + "/.well-known/jwks-pub.json",
		"response_types_supported":              []string{"id_token"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"claims_supported":                      []string{"aud", "iat", "iss", "sub", "exp"},
	})
}

func (i *Issuer) jwks(w http.ResponseWriter, _ *http.Request) {
	i.mu.Lock()
	i.fetches++
	fail := i.jwksFail > 0
	if fail {
		i.jwksFail--
	}
	i.mu.Unlock()
	if fail {
		http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
		return
	}
	writeJSON(w, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
		Key: &i.key.PublicKey, KeyID: i.keyID, Algorithm: string(jose.RS256), Use: "sig",
	}}})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// Token describes a token to mint. The zero value mints a valid v2 token for project
// "project-1", user "user-1", github.com/acme/app at refs/heads/main, valid for an hour.
type Token struct {
	// Version 1 leaves the VCS origin and ref out of sub (CIRCLE_OIDC_TOKEN); 0 or 2 is v2.
	Version   int
	ProjectID string
	UserID    string
	VCSOrigin string
	VCSRef    string
	// Audience replaces the default audience (the org ID); a []string gives an array.
	Audience any
	// Issuer replaces iss (a wrong issuer).
	Issuer string
	// IssuedAt defaults to the issuer's clock; TTL to one hour (CircleCI's lifetime).
	IssuedAt time.Time
	TTL      time.Duration
	// UnknownKey signs with a key that is not in the JWKS.
	UnknownKey bool
	// AlgNone produces an unsigned token (alg none, empty signature).
	AlgNone bool
	// Extra claims are merged last.
	Extra map[string]any
}

// Claims returns the claim set Mint would sign for t.
func (i *Issuer) Claims(t Token) map[string]any {
	project := or(t.ProjectID, "project-1")
	user := or(t.UserID, "user-1")
	origin := or(t.VCSOrigin, "github.com/acme/app")
	ref := or(t.VCSRef, "refs/heads/main")
	iat := t.IssuedAt
	if iat.IsZero() {
		iat = i.Now()
	}
	ttl := t.TTL
	if ttl == 0 {
		ttl = time.Hour
	}
	sub := fmt.Sprintf("org/%s/project/%s/user/%s", i.OrgID, project, user)
	if t.Version != 1 {
		sub += fmt.Sprintf("/vcs-origin/%s/vcs-ref/%s", origin, ref)
	}
	var aud any = i.OrgID
	if t.Audience != nil {
		aud = t.Audience
	}
	claims := map[string]any{
		"iss":                           or(t.Issuer, i.URL),
		"sub":                           sub,
		"aud":                           aud,
		"iat":                           iat.Unix(),
		"exp":                           iat.Add(ttl).Unix(),
		"oidc.circleci.com/org-id":      i.OrgID,
		"oidc.circleci.com/project-id":  project,
		"oidc.circleci.com/context-ids": []string{"context-1"},
		"oidc.circleci.com/job-id":      "job-1",
		"oidc.circleci.com/pipeline-id": "pipeline-1",
		"oidc.circleci.com/pipeline-definition-id": "definition-1",
		"oidc.circleci.com/workflow-id":            "workflow-1",
		"oidc.circleci.com/ssh-rerun":              false,
		"oidc.circleci.com/vcs-origin":             origin,
		"oidc.circleci.com/vcs-ref":                ref,
	}
	for k, v := range t.Extra {
		claims[k] = v
	}
	return claims
}

// Mint signs a token described by t.
func (i *Issuer) Mint(t Token) (string, error) {
	claims := i.Claims(t)
	if t.AlgNone {
		header, _ := json.Marshal(map[string]string{"alg": "none", "typ": "JWT"})
		body, err := json.Marshal(claims)
		if err != nil {
			return "", err
		}
		return base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(body) + ".", nil
	}
	key, kid := i.key, i.keyID
	if t.UnknownKey {
		key, kid = i.stray, "shipgate-unknown-key"
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		return "", err
	}
	return jwt.Signed(signer).Claims(claims).Serialize()
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
