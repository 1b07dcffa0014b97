// Package wifemulator is a local Google workload identity federation on 127.0.0.1: the Security
// Token Service token exchange (POST /v1/token, RFC 8693 form fields, JSON answers) and IAM
// Credentials generateAccessToken (POST /v1/projects/-/serviceAccounts/EMAIL:generateAccessToken).
// It verifies subject tokens for real: discovery and JWKS are fetched over HTTP from the
// token's issuer, RS256 signatures and expiry are checked, the audience is matched against the
// provider's allowed audiences, google.subject (= sub) is held to 127 bytes, and an attribute
// condition on the CircleCI project is enforced. Error answers use Google's shapes and messages.
package wifemulator

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Provider is a workload identity pool provider for an OIDC issuer.
type Provider struct {
	// Audience is the provider's full name: //iam.googleapis.com/projects/N/locations/global/
	// workloadIdentityPools/POOL/providers/ID.
	Audience  string
	IssuerURL string
	// AllowedAudiences; empty means Google's default, https://iam.googleapis.com/ + the name.
	AllowedAudiences []string
	// AllowedProjects is the attribute condition on oidc.circleci.com/project-id (empty: none).
	AllowedProjects []string
	Disabled        bool
}

// ServiceAccount may be impersonated by the federated subjects it lists.
type ServiceAccount struct {
	Email string
	// Subjects are principal identifiers (principal://iam.googleapis.com/POOL/subject/SUB) or
	// principal sets (principalSet://iam.googleapis.com/POOL/attribute.project/P) granted
	// roles/iam.workloadIdentityUser.
	Members []string
}

// Call is one answered request.
type Call struct {
	Endpoint string // "sts" or "iam"
	Status   int
	Error    string
	Subject  string // the token's sub on STS calls
	TokenID  string // a digest of the subject token, to tell tokens apart without keeping them
}

// Emulator is a running STS + IAM Credentials emulator.
type Emulator struct {
	URL string
	Now func() time.Time
	// TTL of issued access tokens (default one hour).
	TTL        time.Duration
	HTTPClient *http.Client

	server   *httptest.Server
	mu       sync.Mutex
	provs    map[string]Provider
	accounts map[string]ServiceAccount
	tokens   map[string]issued
	calls    []Call
	fail     int
}

type issued struct {
	principal string
	project   string
	expiry    time.Time
	pool      string
}

// New starts an emulator. Close it when done.
func New() *Emulator {
	e := &Emulator{Now: time.Now, TTL: time.Hour, HTTPClient: &http.Client{Timeout: 5 * time.Second},
		provs: map[string]Provider{}, accounts: map[string]ServiceAccount{}, tokens: map[string]issued{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/token", e.exchange)
	mux.HandleFunc("POST /v1/projects/-/serviceAccounts/{rest}", e.generate)
	e.server = httptest.NewServer(mux)
	e.URL = e.server.URL
	return e
}

// Close stops the emulator.
func (e *Emulator) Close() { e.server.Close() }

// TokenURL is the STS endpoint.
func (e *Emulator) TokenURL() string { return e.URL + "/v1/token" }

// AddProvider registers a provider.
func (e *Emulator) AddProvider(p Provider) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.provs[p.Audience] = p
}

// AddServiceAccount registers a service account.
func (e *Emulator) AddServiceAccount(a ServiceAccount) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.accounts[a.Email] = a
}

// FailNext makes the next n requests answer 503.
func (e *Emulator) FailNext(n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.fail = n
}

// Calls returns the requests answered so far.
func (e *Emulator) Calls() []Call {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Call(nil), e.calls...)
}

// Issued returns every access token issued (STS and impersonated), for leak checks.
func (e *Emulator) Issued() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]string, 0, len(e.tokens))
	for t := range e.tokens {
		out = append(out, t)
	}
	return out
}

// Valid reports whether token is an unexpired access token this emulator issued.
func (e *Emulator) Valid(token string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	t, ok := e.tokens[token]
	return ok && e.Now().Before(t.expiry)
}

func (e *Emulator) record(c Call) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls = append(e.calls, c)
}

func (e *Emulator) injected() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.fail > 0 {
		e.fail--
		return true
	}
	return false
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func stsError(w http.ResponseWriter, c *Call, status int, code, desc string) {
	c.Status, c.Error = status, code
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

func (e *Emulator) exchange(w http.ResponseWriter, r *http.Request) {
	c := Call{Endpoint: "sts"}
	defer func() { e.record(c) }()
	if e.injected() {
		stsError(w, &c, 503, "temporarily_unavailable", "The service is currently unavailable.")
		return
	}
	if err := r.ParseForm(); err != nil {
		stsError(w, &c, 400, "invalid_request", "malformed form")
		return
	}
	f := r.PostForm
	if f.Get("grant_type") != "urn:ietf:params:oauth:grant-type:token-exchange" {
		stsError(w, &c, 400, "unsupported_grant_type", "Unsupported grant_type.")
		return
	}
	if tt := f.Get("subject_token_type"); tt != "urn:ietf:params:oauth:token-type:jwt" && tt != "urn:ietf:params:oauth:token-type:id_token" {
		stsError(w, &c, 400, "invalid_request", "Invalid subject_token_type.")
		return
	}
	e.mu.Lock()
	p, ok := e.provs[f.Get("audience")]
	e.mu.Unlock()
	if !ok || p.Disabled {
		stsError(w, &c, 400, "invalid_target", `The target service indicated by the "audience" parameters is invalid. This might either be because the pool or provider is disabled or deleted or because it doesn't exist.`)
		return
	}
	raw := f.Get("subject_token")
	c.TokenID = digest(raw)
	claims, err := e.verify(r.Context(), raw, p)
	if err != nil {
		stsError(w, &c, 400, "invalid_grant", err.Error())
		return
	}
	c.Subject = claims.Subject
	if len(claims.Subject) > 127 {
		stsError(w, &c, 400, "invalid_request", "The size of mapped attribute google.subject exceeds the 127 bytes limit. Either modify your attribute mapping or the incoming assertion to produce a mapped attribute that is less than 127 bytes.")
		return
	}
	if len(p.AllowedProjects) > 0 && !slices.Contains(p.AllowedProjects, claims.Project) {
		stsError(w, &c, 400, "unauthorized_client", "The given credential is rejected by the attribute condition.")
		return
	}
	pool := strings.TrimPrefix(p.Audience, "//iam.googleapis.com/")
	pool = pool[:strings.Index(pool, "/providers/")]
	token := e.issue(issued{principal: "principal://iam.googleapis.com/" + pool + "/subject/" + claims.Subject, project: claims.Project, pool: pool})
	c.Status = 200
	writeJSON(w, 200, map[string]any{
		"access_token":      token,
		"issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
		"token_type":        "Bearer",
		"expires_in":        int(e.TTL / time.Second),
	})
}

func (e *Emulator) issue(t issued) string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	token := "ya29.emulated-" + hex.EncodeToString(b)
	e.mu.Lock()
	defer e.mu.Unlock()
	t.expiry = e.Now().Add(e.TTL)
	e.tokens[token] = t
	return token
}

func digest(s string) string {
	if len(s) < 16 {
		return s
	}
	return fmt.Sprintf("%x", s[len(s)-16:])
}

type claims struct {
	jwt.Claims
	Project string `json:"oidc.circleci.com/project-id"`
}

// verify checks the token's signature against the issuer's JWKS, its issuer, audience and
// expiry, with Google's messages.
func (e *Emulator) verify(ctx context.Context, raw string, p Provider) (*claims, error) {
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return nil, fmt.Errorf("Unable to parse the ID Token.")
	}
	var unverified claims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		return nil, fmt.Errorf("Unable to parse the ID Token.")
	}
	if unverified.Issuer != p.IssuerURL {
		return nil, fmt.Errorf("The issuer in ID Token %s does not match the expected ones: %s.", unverified.Issuer, p.IssuerURL)
	}
	keys, err := e.jwks(ctx, p.IssuerURL)
	if err != nil {
		return nil, fmt.Errorf("Unable to retrieve the JWKS from the issuer: %v", err)
	}
	var verified claims
	if err := tok.Claims(keys, &verified); err != nil {
		return nil, fmt.Errorf("Invalid ID Token signature.")
	}
	allowed := p.AllowedAudiences
	if len(allowed) == 0 {
		allowed = []string{"https://iam.googleapis.com/" + strings.TrimPrefix(p.Audience, "//iam.googleapis.com/")}
	}
	match := false
	for _, a := range verified.Audience {
		match = match || slices.Contains(allowed, a)
	}
	if !match {
		return nil, fmt.Errorf("The audience in ID Token [%s] does not match the expected audience.", strings.Join(verified.Audience, ","))
	}
	now := e.Now()
	if verified.Expiry == nil || !now.Before(verified.Expiry.Time()) {
		return nil, fmt.Errorf("ID Token issued at %d is stale to sign-in; the token has expired.", verified.IssuedAt.Time().Unix())
	}
	return &verified, nil
}

func (e *Emulator) jwks(ctx context.Context, issuer string) (*jose.JSONWebKeySet, error) {
	var disc struct {
		JWKSURI string `json:"jwks_uri"`
	}
	if err := e.getJSON(ctx, strings.TrimRight(issuer, "/")+"/.well-known/openid-configuration", &disc); err != nil {
		return nil, err
	}
	var set jose.JSONWebKeySet
	if err := e.getJSON(ctx, disc.JWKSURI, &set); err != nil {
		return nil, err
	}
	return &set, nil
}

func (e *Emulator) getJSON(ctx context.Context, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := e.HTTPClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s answered %d", url, resp.StatusCode)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(v)
}

func apiError(w http.ResponseWriter, c *Call, status int, st, msg string) {
	c.Status, c.Error = status, st
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": status, "message": msg, "status": st}})
}

func (e *Emulator) generate(w http.ResponseWriter, r *http.Request) {
	c := Call{Endpoint: "iam"}
	defer func() { e.record(c) }()
	if e.injected() {
		apiError(w, &c, 503, "UNAVAILABLE", "The service is currently unavailable.")
		return
	}
	email, ok := strings.CutSuffix(r.PathValue("rest"), ":generateAccessToken")
	if !ok {
		apiError(w, &c, 404, "NOT_FOUND", "Unknown method.")
		return
	}
	bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	e.mu.Lock()
	caller, known := e.tokens[bearer]
	account, exists := e.accounts[email]
	e.mu.Unlock()
	if !ok || !known || !e.Now().Before(caller.expiry) {
		apiError(w, &c, 401, "UNAUTHENTICATED", "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.")
		return
	}
	var body struct {
		Scope    []string `json:"scope"`
		Lifetime string   `json:"lifetime"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&body); err != nil || len(body.Scope) == 0 {
		apiError(w, &c, 400, "INVALID_ARGUMENT", "Request contains an invalid argument.")
		return
	}
	allowed := false
	if exists {
		for _, m := range account.Members {
			allowed = allowed || m == caller.principal ||
				m == "principalSet://iam.googleapis.com/"+caller.pool+"/attribute.project/"+caller.project
		}
	}
	if !allowed {
		apiError(w, &c, 403, "PERMISSION_DENIED", "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).")
		return
	}
	token := e.issue(issued{principal: "serviceAccount:" + email})
	e.mu.Lock()
	expiry := e.tokens[token].expiry
	e.mu.Unlock()
	c.Status = 200
	writeJSON(w, 200, map[string]string{"accessToken": token, "expireTime": expiry.UTC().Format(time.RFC3339)})
}
