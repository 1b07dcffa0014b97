package registry

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/shipgate/shipgate/helper/internal/failure"
)

// registryAuth remembers how a registry wants to be authenticated, learnt from its first 401
// challenge, so later requests authenticate up front.
type registryAuth struct {
	mu sync.Mutex
	// basic is the Authorization header for a registry that asked for Basic auth.
	basic string
	// challenge is a Bearer challenge's realm and service; nil until the registry sent one.
	challenge *bearerChallenge
	// token is the current bearer token and the scopes it was minted for.
	token  string
	scopes []string
	// declared are the scopes the command said up front it will need: the first token
	// covers them all, so one command costs one token request per registry.
	declared []string
	// creds are the registry's credentials, resolved once; resolved tells nil from unknown.
	creds    *authn.AuthConfig
	resolved bool
}

type bearerChallenge struct {
	realm   string
	service string
}

// PullScope is the token scope for reading repository path.
func PullScope(path string) string { return "repository:" + path + ":pull" }

// PushScope is the token scope for writing repository path (push implies reading it back).
func PushScope(path string) string { return "repository:" + path + ":push,pull" }

func pullScope(repo string) string { return PullScope(repo) }

// deleteScope is the token scope a DELETE needs: distribution's token authorisation asks for the
// delete action on DELETE requests.
func deleteScope(repo string) string      { return "repository:" + repo + ":delete,pull" }
func pushScope(repo string) string        { return PushScope(repo) }
func scopesFor(scopes ...string) []string { return scopes }

// DeclareScopes tells the client, before any request, which token scopes a command will need
// on registry (pull on a source, push on a destination, pull on a mount's `from`), so that a
// bearer-token registry is asked for one token that covers them all instead of one per new
// repository (issue 15: six token requests for one promote).
func (c *Client) DeclareScopes(registry string, scopes ...string) {
	auth := c.authFor(registry)
	auth.mu.Lock()
	auth.declared = unionScopes(auth.declared, scopes)
	auth.mu.Unlock()
}

func (c *Client) authFor(registry string) *registryAuth {
	c.mu.Lock()
	defer c.mu.Unlock()
	a := c.registryA[registry]
	if a == nil {
		a = &registryAuth{}
		c.registryA[registry] = a
	}
	return a
}

// header is the Authorization value for a request needing scopes, "" when there is none yet.
func (a *registryAuth) header(scopes []string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case a.basic != "":
		return a.basic
	case a.token != "" && coversScopes(a.scopes, scopes):
		return "Bearer " + a.token
	}
	return ""
}

// prepareAuth mints a wider token before a request whose scopes the current one lacks, on a
// registry known to want bearer tokens: the request then goes out once instead of meeting a
// 401 first.
func (c *Client) prepareAuth(ctx context.Context, req request, auth *registryAuth) error {
	auth.mu.Lock()
	defer auth.mu.Unlock()
	if auth.challenge == nil || auth.token == "" || coversScopes(auth.scopes, req.scopes) {
		return nil
	}
	return c.mintToken(ctx, req, auth)
}

// authenticate reacts to a 401 challenge: Basic auth from the keychain, or a bearer token for
// every scope known so far. sent is the Authorization the refused request carried: when
// another request has meanwhile obtained a newer one (parallel transfers meeting their first
// 401 together), that one is used instead of asking again.
func (c *Client) authenticate(ctx context.Context, req request, auth *registryAuth, challenge, sent string) error {
	scheme, params := parseChallenge(challenge)
	if current := auth.header(req.scopes); current != "" && current != sent {
		return nil
	}
	auth.mu.Lock()
	defer auth.mu.Unlock()
	creds, err := c.credentials(ctx, req.registry, auth)
	if err != nil {
		return err
	}
	switch scheme {
	case "basic":
		if creds.Username == "" && creds.Password == "" {
			return failure.WithHint(failure.New(failure.Auth, "registry %s requires a login and no credentials were found", req.registry),
				"log in with `docker login "+req.registry+"` or configure a credential helper")
		}
		auth.basic = basicHeader(creds.Username, creds.Password)
		c.redact.Add(auth.basic)
		return nil
	case "bearer":
		if params["realm"] == "" {
			return failure.New(failure.Auth, "registry %s asked for a bearer token without naming where to get one (no realm)", req.registry)
		}
		auth.challenge = &bearerChallenge{realm: params["realm"], service: params["service"]}
		return c.mintToken(ctx, req, auth)
	default:
		return failure.New(failure.Auth, "registry %s refused the request (401) with an unsupported challenge %q", req.registry, scheme)
	}
}

// credentials resolves the registry's credentials once per client, and says once when there
// are none (the notice was printed once per token before: six times in one promote).
func (c *Client) credentials(ctx context.Context, registry string, auth *registryAuth) (*authn.AuthConfig, error) {
	if auth.resolved {
		return auth.creds, nil
	}
	reg, err := name.NewRegistry(registry, name.WeakValidation)
	if err != nil {
		return nil, failure.Wrap(failure.Usage, err, "registry %q", registry)
	}
	authenticator, err := authn.Resolve(ctx, c.opts.Keychain, reg)
	if err != nil {
		return nil, failure.Wrap(failure.Auth, err, "finding credentials for %s", registry)
	}
	if authenticator == authn.Anonymous {
		c.logf("registry %s asked for credentials and none were found (docker config, credential helpers); trying anonymous access", registry)
	}
	cfg, err := authn.Authorization(ctx, authenticator)
	if err != nil {
		return nil, failure.Wrap(failure.Auth, err, "reading credentials for %s", registry)
	}
	for _, secret := range []string{cfg.Password, cfg.IdentityToken, cfg.RegistryToken, cfg.Auth} {
		c.redact.Add(secret)
	}
	if cfg.Username != "" && cfg.Password != "" {
		c.redact.Add(cfg.Username + ":" + cfg.Password)
	}
	auth.creds, auth.resolved = cfg, true
	return cfg, nil
}

// mintToken asks the challenge's realm for a token covering the declared scopes, the scopes
// of the current token and those of req (the Docker token protocol, distribution's
// docs/spec/auth/token.md; an identity token goes through the OAuth2 refresh grant of
// docs/spec/auth/oauth.md, as go-containerregistry's bearer transport does). There is no
// /v2/ ping: the challenge came with the 401 of a real request. auth.mu is held.
func (c *Client) mintToken(ctx context.Context, req request, auth *registryAuth) error {
	creds, err := c.credentials(ctx, req.registry, auth)
	if err != nil {
		return err
	}
	if creds.RegistryToken != "" {
		auth.token, auth.scopes = creds.RegistryToken, unionScopes(auth.declared, req.scopes)
		return nil
	}
	scopes := unionScopes(unionScopes(auth.declared, auth.scopes), req.scopes)
	sort.Strings(scopes)
	realm, err := c.tokenRealm(req.registry, auth.challenge.realm)
	if err != nil {
		return err
	}
	httpReq, err := c.tokenRequest(ctx, realm, auth.challenge.service, creds, scopes)
	if err != nil {
		return failure.Wrap(failure.Auth, err, "building the token request for %s", req.registry)
	}
	token, err := c.fetchToken(httpReq, req.registry, realm)
	if err != nil {
		return err
	}
	c.redact.Add(token)
	auth.token, auth.scopes = token, scopes
	return nil
}

// tokenRealm parses the realm a registry's challenge named and refuses one the login must not
// go to: never in clear text for a registry reached over HTTPS, and never to a link-local
// address (a cloud metadata service), as go-containerregistry's validateRealmURL also refuses.
func (c *Client) tokenRealm(registry, raw string) (*url.URL, error) {
	realm, err := url.Parse(raw)
	if err != nil || (realm.Scheme != "https" && realm.Scheme != "http") {
		return nil, failure.New(failure.Auth, "registry %s named an unusable token realm %q", registry, c.redact.String(raw))
	}
	if realm.Scheme == "http" && c.scheme(registry) == "https" {
		return nil, failure.New(failure.Auth, "registry %s (HTTPS) named a plain-HTTP token realm %s; refusing to send credentials there", registry, realm.Host)
	}
	if ip := net.ParseIP(realm.Hostname()); ip != nil && (ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast()) {
		return nil, failure.New(failure.Auth, "registry %s named a token realm at a link-local address (%s); refusing to send credentials there", registry, realm.Host)
	}
	return realm, nil
}

// tokenRequest builds the request for a token covering scopes: the OAuth2 refresh grant (a POST)
// with an identity token, otherwise a GET carrying the login, if any, as Basic auth. realm's
// query is rewritten with the scopes.
func (c *Client) tokenRequest(ctx context.Context, realm *url.URL, service string, creds *authn.AuthConfig, scopes []string) (*http.Request, error) {
	query := realm.Query()
	if service != "" {
		query.Set("service", service)
	}
	if creds.IdentityToken != "" {
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {creds.IdentityToken},
			"client_id": {c.opts.UserAgent}, "scope": {strings.Join(scopes, " ")}}
		if service != "" {
			form.Set("service", service)
		}
		httpReq, err := http.NewRequestWithContext(ctx, http.MethodPost, realm.String(), strings.NewReader(form.Encode()))
		if err != nil {
			return nil, err
		}
		httpReq.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return httpReq, nil
	}
	for _, s := range scopes {
		query.Add("scope", s)
	}
	realm.RawQuery = query.Encode()
	httpReq, err := http.NewRequestWithContext(ctx, http.MethodGet, realm.String(), nil)
	if err != nil {
		return nil, err
	}
	if creds.Username != "" || creds.Password != "" {
		// The registry named the realm in its challenge: the login goes there, as every
		// Docker client does (Docker Hub's realm is auth.docker.io).
		httpReq.SetBasicAuth(creds.Username, creds.Password)
	}
	return httpReq, nil
}

// fetchToken sends the token request and returns the token of its answer (`token`, or the
// OAuth2 `access_token`).
func (c *Client) fetchToken(httpReq *http.Request, registry string, realm *url.URL) (string, error) {
	httpReq.Header.Set("User-Agent", c.opts.UserAgent)
	resp, err := c.http.Do(httpReq)
	if err != nil {
		return "", c.unavailable(request{method: httpReq.Method, registry: realm.Host, url: realm.String()}, err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", c.responseError("getting a token for "+registry+" from "+realm.Host, resp)
	}
	defer resp.Body.Close()
	var answer struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&answer); err != nil {
		return "", failure.Wrap(failure.Unavailable, err, "reading the token for %s from %s", registry, realm.Host)
	}
	token := answer.Token
	if token == "" {
		token = answer.AccessToken
	}
	if token == "" {
		return "", failure.New(failure.Auth, "the token server %s answered without a token for %s", realm.Host, registry)
	}
	return token, nil
}

// parseChallenge splits a WWW-Authenticate value into its lower-case scheme and parameters
// (RFC 7235: `Bearer realm="…",service="…",scope="…"`).
func parseChallenge(value string) (string, map[string]string) {
	value = strings.TrimSpace(value)
	scheme, rest, _ := strings.Cut(value, " ")
	params := map[string]string{}
	for rest = strings.TrimSpace(rest); rest != ""; {
		key, after, ok := strings.Cut(rest, "=")
		if !ok {
			break
		}
		key = strings.ToLower(strings.TrimSpace(key))
		after = strings.TrimSpace(after)
		var val string
		if strings.HasPrefix(after, `"`) {
			end := 1
			for end < len(after) && after[end] != '"' {
				if after[end] == '\\' {
					end++
				}
				end++
			}
			val = strings.ReplaceAll(after[1:min(end, len(after))], `\"`, `"`)
			after = after[min(end+1, len(after)):]
		} else {
			val, after, _ = strings.Cut(after, ",")
			after = "," + after
		}
		params[key] = strings.TrimSpace(val)
		_, rest, _ = strings.Cut(after, ",")
		rest = strings.TrimSpace(rest)
	}
	return strings.ToLower(scheme), params
}

func coversScopes(have, want []string) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			if h == w || (strings.HasSuffix(h, ":push,pull") && strings.TrimSuffix(h, ":push,pull")+":pull" == w) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func unionScopes(a, b []string) []string {
	out := append([]string{}, a...)
	for _, s := range b {
		if !coversScopes(out, []string{s}) {
			out = append(out, s)
		}
	}
	return out
}
