// Package stsemulator is a local AWS STS speaking the query protocol (form-encoded POST, XML
// answers) for AssumeRoleWithWebIdentity, AssumeRole and GetCallerIdentity, with the error codes
// and HTTP statuses real STS uses (FACTS.md §2). It verifies web identity tokens for real:
// discovery and JWKS are fetched over HTTP from the token's issuer, RS256 signatures are checked,
// then the role's trust policy is enforced on aud and sub (StringLike). Signed calls
// (AssumeRole, GetCallerIdentity) are checked with SigV4 against the session keys it issued.
// Fault knobs make it throttle, lose its identity provider, or fail to fetch verification
// keys a given number of times.
package stsemulator

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/shipgate/shipgate/helper/internal/awsrole/iamcond"
	"github.com/shipgate/shipgate/helper/internal/testpeer/canary"
)

// Namespace is the STS XML namespace.
const Namespace = "https://sts.amazonaws.com/doc/2011-06-15/"

// Provider is an IAM OIDC identity provider registered in the emulated account.
type Provider struct {
	// IssuerURL is the issuer exactly as in the token's iss.
	IssuerURL string
	// ClientIDs are the accepted audiences (CircleCI: the org ID).
	ClientIDs []string
}

// Role is an IAM role the emulator can hand out.
type Role struct {
	ARN string
	// MaxSessionDuration defaults to one hour, as in IAM.
	MaxSessionDuration time.Duration
	// Web identity trust: the issuer it federates, and the StringEquals aud / StringLike sub
	// conditions (`oidc.circleci.com/org/ORG:aud`, `...:sub`). Empty Federated means the role
	// cannot be assumed with a web identity.
	Federated string
	Aud       string
	SubLike   []string
	// TrustedRoles are role ARNs whose sessions may AssumeRole into this one (chaining).
	TrustedRoles []string
}

// Session is a set of temporary credentials the emulator issued.
type Session struct {
	AccessKeyID, SecretAccessKey, SessionToken string
	Expiration                                 time.Time
	RoleARN                                    string
	AssumedRoleARN                             string
	AssumedRoleID                              string
	Account                                    string
	// Chained is true for credentials from AssumeRole (role chaining caps them at one hour).
	Chained bool
}

// Call records one request the emulator answered.
type Call struct {
	Action          string
	RoleARN         string
	RoleSessionName string
	DurationSeconds int
	Code            string // error code, "" on success
	Status          int
}

// Emulator is a running STS emulator.
type Emulator struct {
	URL string
	// Now is the emulator's clock (time.Now by default).
	Now func() time.Time
	// HTTPClient fetches discovery documents and JWKS.
	HTTPClient *http.Client

	server    *httptest.Server
	mu        sync.Mutex
	providers map[string]Provider
	roles     map[string]Role
	sessions  map[string]Session
	calls     []Call
	faults    faults
}

type faults struct {
	throttle, idpUnreachable, keyFailures, internal int
	retryAfter                                      string
	custom                                          []*apiError
}

// New starts an emulator. Close it when done.
func New() *Emulator {
	e := &Emulator{
		Now:        time.Now,
		HTTPClient: &http.Client{Timeout: 5 * time.Second},
		providers:  map[string]Provider{},
		roles:      map[string]Role{},
		sessions:   map[string]Session{},
	}
	e.server = httptest.NewServer(http.HandlerFunc(e.serve))
	e.URL = e.server.URL
	return e
}

// Close stops the emulator.
func (e *Emulator) Close() { e.server.Close() }

// AddProvider registers an OIDC identity provider.
func (e *Emulator) AddProvider(p Provider) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.providers[p.IssuerURL] = p
}

// AddRole registers a role.
func (e *Emulator) AddRole(r Role) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if r.MaxSessionDuration == 0 {
		r.MaxSessionDuration = time.Hour
	}
	e.roles[r.ARN] = r
}

// Throttle makes the next n requests answer Throttling (400), with a Retry-After header when
// retryAfter is not empty (real STS sends none; the header tests that clients honour it).
func (e *Emulator) Throttle(n int, retryAfter string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults.throttle, e.faults.retryAfter = n, retryAfter
}

// FailIdP makes the next n web identity calls answer IDPCommunicationError, as when STS cannot
// reach the identity provider.
func (e *Emulator) FailIdP(n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults.idpUnreachable = n
}

// FailVerificationKey makes the next n web identity calls answer InvalidIdentityToken
// "Couldn't retrieve verification key from your identity provider" (aws-cli orb #136).
func (e *Emulator) FailVerificationKey(n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults.keyFailures = n
}

// FailInternal makes the next n requests answer InternalFailure (500).
func (e *Emulator) FailInternal(n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults.internal = n
}

// FailWith makes the next n requests answer code with HTTP status and message (for example
// 403 IDPRejectedClaim, 503 ServiceUnavailable). Status 5xx errors are of type Receiver.
func (e *Emulator) FailWith(n, status int, code, message string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	typ := "Sender"
	if status >= 500 {
		typ = "Receiver"
	}
	for i := 0; i < n; i++ {
		e.faults.custom = append(e.faults.custom, &apiError{status: status, code: code, msg: message, typ: typ})
	}
}

// Calls returns the requests answered so far.
func (e *Emulator) Calls() []Call {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Call(nil), e.calls...)
}

// Sessions returns every session issued so far.
func (e *Emulator) Sessions() []Session {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Session, 0, len(e.sessions))
	for _, s := range e.sessions {
		out = append(out, s)
	}
	return out
}

// apiError is an STS error answer.
type apiError struct {
	status     int
	code, msg  string
	typ        string
	retryAfter string
}

func (a *apiError) Error() string { return a.code + ": " + a.msg }

func sender(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, msg: fmt.Sprintf(format, args...), typ: "Sender"}
}

func (e *Emulator) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		e.writeError(w, Call{}, sender(400, "MalformedQueryString", "reading body: %v", err))
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil || r.Method != http.MethodPost {
		e.writeError(w, Call{}, sender(400, "MalformedQueryString", "expected a form-encoded POST"))
		return
	}
	call := Call{Action: form.Get("Action"), RoleARN: form.Get("RoleArn"), RoleSessionName: form.Get("RoleSessionName")}
	call.DurationSeconds, _ = strconv.Atoi(form.Get("DurationSeconds"))
	if form.Get("Version") != "2011-06-15" {
		e.writeError(w, call, sender(400, "InvalidParameterValue", "Version must be 2011-06-15"))
		return
	}
	if apiErr := e.injectedFault(); apiErr != nil {
		e.writeError(w, call, apiErr)
		return
	}
	var result any
	switch call.Action {
	case "AssumeRoleWithWebIdentity":
		result, err = e.assumeRoleWithWebIdentity(r.Context(), form)
	case "AssumeRole":
		result, err = e.assumeRole(r, body, form)
	case "GetCallerIdentity":
		result, err = e.getCallerIdentity(r, body)
	default:
		err = sender(400, "InvalidAction", "Could not find operation %s for version 2011-06-15", call.Action)
	}
	if err != nil {
		apiErr, ok := err.(*apiError)
		if !ok {
			apiErr = &apiError{status: 500, code: "InternalFailure", msg: err.Error(), typ: "Receiver"}
		}
		e.writeError(w, call, apiErr)
		return
	}
	e.record(call, "", 200)
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("x-amzn-RequestId", requestID())
	out, _ := xml.Marshal(result)
	_, _ = w.Write(append([]byte(xml.Header), out...))
}

func (e *Emulator) injectedFault() *apiError {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.faults.throttle > 0 {
		e.faults.throttle--
		a := sender(400, "Throttling", "Rate exceeded")
		a.retryAfter = e.faults.retryAfter
		return a
	}
	if len(e.faults.custom) > 0 {
		a := e.faults.custom[0]
		e.faults.custom = e.faults.custom[1:]
		return a
	}
	if e.faults.internal > 0 {
		e.faults.internal--
		return &apiError{status: 500, code: "InternalFailure", msg: "An internal error occurred", typ: "Receiver"}
	}
	return nil
}

func (e *Emulator) record(c Call, code string, status int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c.Code, c.Status = code, status
	e.calls = append(e.calls, c)
}

func (e *Emulator) writeError(w http.ResponseWriter, c Call, a *apiError) {
	e.record(c, a.code, a.status)
	type errBody struct {
		Type    string `xml:"Type"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	type errResp struct {
		XMLName   xml.Name `xml:"ErrorResponse"`
		Xmlns     string   `xml:"xmlns,attr"`
		Error     errBody  `xml:"Error"`
		RequestID string   `xml:"RequestId"`
	}
	id := requestID()
	out, _ := xml.Marshal(errResp{Xmlns: Namespace, Error: errBody{a.typ, a.code, a.msg}, RequestID: id})
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("x-amzn-RequestId", id)
	if a.retryAfter != "" {
		w.Header().Set("Retry-After", a.retryAfter)
	}
	w.WriteHeader(a.status)
	_, _ = w.Write(append([]byte(xml.Header), out...))
}

// sessionNamePattern is RoleSessionName's constraint in the STS model.
var sessionNamePattern = regexp.MustCompile(`^[\w+=,.@-]*$`)

// validate applies the model's constraints, which STS checks before anything else.
func validate(form url.Values, maxDuration int) *apiError {
	var problems []string
	name := form.Get("RoleSessionName")
	if len(name) < 2 || len(name) > 64 {
		problems = append(problems, fmt.Sprintf("Value '%s' at 'roleSessionName' failed to satisfy constraint: Member must have length between 2 and 64", name))
	} else if !sessionNamePattern.MatchString(name) {
		problems = append(problems, fmt.Sprintf("Value '%s' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*", name))
	}
	if arn := form.Get("RoleArn"); len(arn) < 20 || len(arn) > 2048 {
		problems = append(problems, "Value at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20")
	}
	if d := form.Get("DurationSeconds"); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil || n < 900 || n > maxDuration {
			problems = append(problems, fmt.Sprintf("Value '%s' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and %d", d, maxDuration))
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return sender(400, "ValidationError", "%d validation error%s detected: %s", len(problems), plural(len(problems)), strings.Join(problems, "; "))
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func (e *Emulator) assumeRoleWithWebIdentity(ctx context.Context, form url.Values) (any, error) {
	if apiErr := validate(form, 43200); apiErr != nil {
		return nil, apiErr
	}
	raw := form.Get("WebIdentityToken")
	if len(raw) < 4 {
		return nil, sender(400, "ValidationError", "1 validation error detected: Value at 'webIdentityToken' failed to satisfy constraint: Member must have length greater than or equal to 4")
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.ES256, jose.ES384, jose.ES512})
	if err != nil {
		return nil, sender(400, "InvalidIdentityToken", "The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)")
	}
	var unverified jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		return nil, sender(400, "InvalidIdentityToken", "The ID Token provided is not a valid JWT.")
	}
	e.mu.Lock()
	provider, ok := e.providers[unverified.Issuer]
	e.mu.Unlock()
	if !ok {
		return nil, sender(400, "InvalidIdentityToken", "No OpenIDConnect provider found in your account for %s", unverified.Issuer)
	}
	if !audienceAccepted(unverified.Audience, provider.ClientIDs) {
		return nil, sender(400, "InvalidIdentityToken", "Incorrect token audience")
	}
	if apiErr := e.keyFault(); apiErr != nil {
		return nil, apiErr
	}
	keys, apiErr := e.fetchKeys(ctx, provider.IssuerURL)
	if apiErr != nil {
		return nil, apiErr
	}
	var claims jwt.Claims
	var extra map[string]any
	if err := tok.Claims(keys, &claims, &extra); err != nil {
		return nil, sender(400, "InvalidIdentityToken", "Couldn't verify the token signature with the identity provider's keys")
	}
	now := e.Now()
	if claims.Expiry == nil || !now.Before(claims.Expiry.Time()) {
		exp := "none"
		if claims.Expiry != nil {
			exp = claims.Expiry.Time().UTC().Format(time.RFC3339)
		}
		return nil, sender(400, "ExpiredTokenException", "Token expired: current date/time %s must be before the expiration date/time %s", now.UTC().Format(time.RFC3339), exp)
	}
	if claims.IssuedAt != nil && claims.IssuedAt.Time().After(now.Add(5*time.Minute)) {
		return nil, sender(400, "InvalidIdentityToken", "Token issued in the future")
	}
	e.mu.Lock()
	role, ok := e.roles[form.Get("RoleArn")]
	e.mu.Unlock()
	if !ok || role.Federated != provider.IssuerURL ||
		(role.Aud != "" && !audienceAccepted(claims.Audience, []string{role.Aud})) ||
		(len(role.SubLike) > 0 && !anyLike(role.SubLike, claims.Subject)) {
		return nil, sender(403, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity")
	}
	duration, apiErr := sessionDuration(form, role.MaxSessionDuration)
	if apiErr != nil {
		return nil, apiErr
	}
	s := e.issue(role, form.Get("RoleSessionName"), duration, false)
	type result struct {
		SubjectFromWebIdentityToken string
		Audience                    string
		AssumedRoleUser             assumedRoleUser
		Credentials                 credentials
		Provider                    string
	}
	type response struct {
		XMLName          xml.Name `xml:"AssumeRoleWithWebIdentityResponse"`
		Xmlns            string   `xml:"xmlns,attr"`
		Result           result   `xml:"AssumeRoleWithWebIdentityResult"`
		ResponseMetadata responseMetadata
	}
	aud := ""
	if len(claims.Audience) > 0 {
		aud = claims.Audience[0]
	}
	return response{Xmlns: Namespace, Result: result{
		SubjectFromWebIdentityToken: claims.Subject,
		Audience:                    aud,
		AssumedRoleUser:             assumedRoleUser{Arn: s.AssumedRoleARN, AssumedRoleId: s.AssumedRoleID},
		Credentials:                 credentialsOf(s),
		Provider:                    provider.IssuerURL,
	}, ResponseMetadata: responseMetadata{RequestId: requestID()}}, nil
}

func (e *Emulator) keyFault() *apiError {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.faults.idpUnreachable > 0 {
		e.faults.idpUnreachable--
		return sender(400, "IDPCommunicationError", "The request could not be fulfilled because the identity provider (IDP) that was asked to verify the incoming identity token could not be reached.")
	}
	if e.faults.keyFailures > 0 {
		e.faults.keyFailures--
		return keyRetrievalError()
	}
	return nil
}

func keyRetrievalError() *apiError {
	return sender(400, "InvalidIdentityToken", "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements")
}

// fetchKeys reads the issuer's discovery document and JWKS over HTTP. An unreachable issuer is
// IDPCommunicationError; a reachable one that fails to serve keys is the verification-key form
// of InvalidIdentityToken.
func (e *Emulator) fetchKeys(ctx context.Context, issuer string) (*jose.JSONWebKeySet, *apiError) {
	var discovery struct {
		JWKSURI string `json:"jwks_uri"`
	}
	if apiErr := e.getJSON(ctx, issuer+"/.well-known/openid-configuration", &discovery); apiErr != nil {
		return nil, apiErr
	}
	var keys jose.JSONWebKeySet
	if apiErr := e.getJSON(ctx, discovery.JWKSURI, &keys); apiErr != nil {
		return nil, apiErr
	}
	return &keys, nil
}

func (e *Emulator) getJSON(ctx context.Context, u string, dst any) *apiError {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return keyRetrievalError()
	}
	resp, err := e.HTTPClient.Do(req)
	if err != nil {
		return sender(400, "IDPCommunicationError", "The request could not be fulfilled because the identity provider (IDP) that was asked to verify the incoming identity token could not be reached.")
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return keyRetrievalError()
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(dst); err != nil {
		return keyRetrievalError()
	}
	return nil
}

func audienceAccepted(aud jwt.Audience, accepted []string) bool {
	for _, a := range aud {
		for _, b := range accepted {
			if a == b {
				return true
			}
		}
	}
	return false
}

func anyLike(patterns []string, value string) bool {
	for _, p := range patterns {
		if StringLike(p, value) {
			return true
		}
	}
	return false
}

// StringLike is IAM's StringLike, the very matcher the helper uses (iamcond.StringLike), so the
// emulator cannot drift from it (issue 12 point 9: its own copy lacked a fuzzing fix). The
// matcher itself is checked against an independent oracle, the equivalent regular expression,
// by awsrole's FuzzStringLike.
func StringLike(pattern, value string) bool { return iamcond.StringLike(pattern, value) }

func sessionDuration(form url.Values, max time.Duration) (time.Duration, *apiError) {
	d := form.Get("DurationSeconds")
	if d == "" {
		return time.Hour, nil
	}
	n, _ := strconv.Atoi(d)
	if time.Duration(n)*time.Second > max {
		return 0, sender(400, "ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	return time.Duration(n) * time.Second, nil
}

func (e *Emulator) assumeRole(r *http.Request, body []byte, form url.Values) (any, error) {
	caller, apiErr := e.authenticate(r, body)
	if apiErr != nil {
		return nil, apiErr
	}
	// Role chaining caps the session at one hour (FACTS.md §2).
	if apiErr := validate(form, 43200); apiErr != nil {
		return nil, apiErr
	}
	if d, _ := strconv.Atoi(form.Get("DurationSeconds")); d > 3600 {
		return nil, sender(400, "ValidationError", "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
	}
	e.mu.Lock()
	role, ok := e.roles[form.Get("RoleArn")]
	e.mu.Unlock()
	trusted := false
	for _, t := range role.TrustedRoles {
		trusted = trusted || t == caller.RoleARN
	}
	if !ok || !trusted {
		return nil, sender(403, "AccessDenied", "User: %s is not authorized to perform: sts:AssumeRole on resource: %s", caller.AssumedRoleARN, form.Get("RoleArn"))
	}
	duration, apiErr := sessionDuration(form, role.MaxSessionDuration)
	if apiErr != nil {
		return nil, apiErr
	}
	s := e.issue(role, form.Get("RoleSessionName"), duration, true)
	type result struct {
		AssumedRoleUser assumedRoleUser
		Credentials     credentials
	}
	type response struct {
		XMLName          xml.Name `xml:"AssumeRoleResponse"`
		Xmlns            string   `xml:"xmlns,attr"`
		Result           result   `xml:"AssumeRoleResult"`
		ResponseMetadata responseMetadata
	}
	return response{Xmlns: Namespace, Result: result{
		AssumedRoleUser: assumedRoleUser{Arn: s.AssumedRoleARN, AssumedRoleId: s.AssumedRoleID},
		Credentials:     credentialsOf(s),
	}, ResponseMetadata: responseMetadata{RequestId: requestID()}}, nil
}

func (e *Emulator) getCallerIdentity(r *http.Request, body []byte) (any, error) {
	caller, apiErr := e.authenticate(r, body)
	if apiErr != nil {
		return nil, apiErr
	}
	type result struct {
		Arn     string
		UserId  string
		Account string
	}
	type response struct {
		XMLName          xml.Name `xml:"GetCallerIdentityResponse"`
		Xmlns            string   `xml:"xmlns,attr"`
		Result           result   `xml:"GetCallerIdentityResult"`
		ResponseMetadata responseMetadata
	}
	return response{Xmlns: Namespace, Result: result{Arn: caller.AssumedRoleARN, UserId: caller.AssumedRoleID, Account: caller.Account},
		ResponseMetadata: responseMetadata{RequestId: requestID()}}, nil
}

func (e *Emulator) authenticate(r *http.Request, body []byte) (Session, *apiError) {
	s, err := e.VerifySigV4(r, body, "sts")
	if err != nil {
		if ae, ok := err.(*apiError); ok {
			return Session{}, ae
		}
		return Session{}, sender(403, "SignatureDoesNotMatch", "%v", err)
	}
	return s, nil
}

type assumedRoleUser struct {
	Arn           string
	AssumedRoleId string
}

type credentials struct {
	AccessKeyId     string
	SecretAccessKey string
	SessionToken    string
	Expiration      string
}

type responseMetadata struct {
	RequestId string
}

func credentialsOf(s Session) credentials {
	return credentials{AccessKeyId: s.AccessKeyID, SecretAccessKey: s.SecretAccessKey, SessionToken: s.SessionToken,
		Expiration: s.Expiration.UTC().Format(time.RFC3339)}
}

func (e *Emulator) issue(role Role, sessionName string, d time.Duration, chained bool) Session {
	account, name := splitRoleARN(role.ARN)
	roleID := "AROA" + strings.ToUpper(randomHex(8))
	s := Session{
		AccessKeyID:     "ASIA" + strings.ToUpper(randomHex(8)),
		SecretAccessKey: canary.SessionSecretPrefix + randomHex(14),
		SessionToken:    canary.SessionTokenPrefix + randomHex(48),
		Expiration:      e.Now().Add(d).UTC().Truncate(time.Second),
		RoleARN:         role.ARN,
		AssumedRoleARN:  fmt.Sprintf("arn:%s:sts::%s:assumed-role/%s/%s", partitionOf(role.ARN), account, name, sessionName),
		AssumedRoleID:   roleID + ":" + sessionName,
		Account:         account,
		Chained:         chained,
	}
	e.mu.Lock()
	e.sessions[s.AccessKeyID] = s
	e.mu.Unlock()
	return s
}

// splitRoleARN returns the account and the role name (last path element) of
// arn:PARTITION:iam::ACCOUNT:role/PATH/NAME.
func splitRoleARN(arn string) (account, name string) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return "000000000000", "unknown"
	}
	res := parts[5]
	return parts[4], res[strings.LastIndex(res, "/")+1:]
}

func partitionOf(arn string) string {
	parts := strings.SplitN(arn, ":", 3)
	if len(parts) < 2 || parts[1] == "" {
		return "aws"
	}
	return parts[1]
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func requestID() string {
	h := randomHex(16)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
