package gcpauth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"

	"github.com/shipgate/shipgate/helper/internal/backoff"
	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/inputfile"
)

// CloudPlatformScope is the scope access tokens get by default.
const CloudPlatformScope = "https://www.googleapis.com/auth/cloud-platform"

// AccessOptions say how to obtain an access token from an external_account file.
type AccessOptions struct {
	// CredentialsFile is the external_account file (shipgate gcp credentials writes one).
	CredentialsFile string
	Scopes          []string
	// ExecutablesAllowed is the value of GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES as the caller
	// sees it; Google's library reads the process environment itself, this only lets shipgate
	// explain the refusal before it happens.
	ExecutablesAllowed string
	Retry              Retry
	// HTTPClient is used for the exchange (default: a client with a 30s timeout).
	HTTPClient *http.Client
}

// AccessToken is an access token and when it expires.
type AccessToken struct {
	Token  string    `json:"accessToken"`
	Type   string    `json:"tokenType"`
	Expiry time.Time `json:"expiry"`
}

// Retry is the bounded, jittered, context-cancellable backoff applied to Google's token
// endpoints when they fail transiently (5xx, 429, network).
type Retry = backoff.Policy

// DefaultRetry: 4 tries, backoff from 1s up to 8s.
var DefaultRetry = Retry{Attempts: 4, Base: time.Second, Max: 8 * time.Second}

// TokenSource loads an external_account file with Google's library and returns its token
// source, which runs the executable credential source, exchanges the subject token at STS,
// impersonates the service account when configured, and refreshes by itself.
func TokenSource(ctx context.Context, o AccessOptions) (oauth2.TokenSource, error) {
	data, err := readCredentialsFile(o.CredentialsFile)
	if err != nil {
		return nil, err
	}
	scopes := o.Scopes
	if len(scopes) == 0 {
		scopes = []string{CloudPlatformScope}
	}
	client := o.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, client)
	creds, err := google.CredentialsFromJSONWithTypeAndParams(ctx, data, google.ExternalAccount, google.CredentialsParams{Scopes: scopes})
	if err != nil {
		return nil, failure.Wrap(failure.Usage, errors.New(redact(err.Error())), "loading credentials file %q", o.CredentialsFile)
	}
	return creds.TokenSource, nil
}

// GetAccessToken obtains an access token through Google's library with bounded retries, and
// turns its errors into classified, actionable ones.
func GetAccessToken(ctx context.Context, o AccessOptions) (AccessToken, error) {
	if o.ExecutablesAllowed != "1" {
		if cmd, _ := executableCommand(o.CredentialsFile); cmd != "" {
			return AccessToken{}, executablesNotAllowed()
		}
	}
	ts, err := TokenSource(ctx, o)
	if err != nil {
		return AccessToken{}, err
	}
	return FetchToken(ctx, ts, o.CredentialsFile, o.Retry)
}

// FetchToken gets a token from ts, retrying transient failures.
func FetchToken(ctx context.Context, ts oauth2.TokenSource, credentialsFile string, retry Retry) (AccessToken, error) {
	r := retry.WithDefaults(DefaultRetry)
	var last error
	for attempt := 0; attempt < r.Attempts; attempt++ {
		if attempt > 0 {
			if err := r.Sleep(ctx, r.Delay(attempt-1, 0)); err != nil {
				return AccessToken{}, failure.Wrap(failure.Unavailable, last, "getting a Google access token (interrupted after %d attempts)", attempt)
			}
		}
		tok, err := ts.Token()
		if err == nil {
			return AccessToken{Token: tok.AccessToken, Type: tok.Type(), Expiry: tok.Expiry}, nil
		}
		classified, transient := Classify(ctx, err, credentialsFile)
		if !transient {
			return AccessToken{}, classified
		}
		last = classified
	}
	return AccessToken{}, failure.Wrap(failure.Unavailable, last, "getting a Google access token failed %d times", r.Attempts)
}

func executablesNotAllowed() error {
	return failure.WithHint(failure.New(failure.Usage,
		"the credentials file runs shipgate as an executable credential source, and GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES is not 1: Google's libraries refuse to run it"),
		"export GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES=1 (shipgate gcp credentials --export-to \"$BASH_ENV\" does)")
}

func readCredentialsFile(path string) ([]byte, error) {
	if path == "" {
		return nil, failure.WithHint(failure.New(failure.Usage, "no credentials file: --credentials and $GOOGLE_APPLICATION_CREDENTIALS are both empty"),
			"run shipgate gcp credentials first (the orb's gcp_credentials command)")
	}
	data, err := inputfile.Read(path, "credentials file", inputfile.SmallLimit)
	if err != nil {
		return nil, err
	}
	var f struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(data, &f) != nil {
		return nil, failure.New(failure.Usage, "credentials file %q is not JSON", path)
	}
	if f.Type != "external_account" {
		return nil, failure.New(failure.Usage, "credentials file %q is of type %q, not external_account (workload identity federation)", path, f.Type)
	}
	return data, nil
}

// executableCommand returns the credential source command of an external_account file.
func executableCommand(path string) (string, error) {
	data, err := inputfile.Read(path, "credentials file", inputfile.SmallLimit)
	if err != nil {
		return "", err
	}
	var f struct {
		CredentialSource struct {
			Executable struct {
				Command string `json:"command"`
			} `json:"executable"`
		} `json:"credential_source"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return "", err
	}
	return f.CredentialSource.Executable.Command, nil
}

var (
	statusRE   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?s)status code (\d{3}): (.*)$`) })
	exitCodeRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`executable command failed with exit code (-?\d+)`) })
	jwtLike    = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*`)
	})
	bearerLike = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`ya29\.[A-Za-z0-9._-]+`) })
)

// redact removes anything token-shaped from a library message before it is shown.
func redact(s string) string {
	s = jwtLike().ReplaceAllString(s, "[redacted]")
	s = bearerLike().ReplaceAllString(s, "[redacted]")
	if len(s) > 400 {
		s = s[:400] + "…"
	}
	return strings.Join(strings.Fields(s), " ")
}

// Classify turns an error of Google's library into a classified, actionable one, and says
// whether it is transient (worth another attempt).
func Classify(ctx context.Context, err error, credentialsFile string) (error, bool) {
	msg := err.Error()
	var netErr net.Error
	switch {
	case ctx.Err() != nil:
		return failure.Wrap(failure.Unavailable, ctx.Err(), "getting a Google access token"), false
	case strings.Contains(msg, "executables need to be explicitly allowed"):
		return executablesNotAllowed(), false
	case exitCodeRE().MatchString(msg):
		return diagnoseExecutable(ctx, credentialsFile, msg), false
	case strings.Contains(msg, "the token returned by the executable is expired"):
		return failure.New(failure.Auth, "the credential source returned an expired OIDC token"), false
	case strings.Contains(msg, "response contains unsuccessful response"):
		return failure.New(failure.Auth, "the credential source failed: %s", redact(msg)), false
	}
	if m := statusRE().FindStringSubmatch(msg); m != nil {
		status, _ := strconv.Atoi(m[1])
		return classifyStatus(status, strings.TrimSpace(m[2]))
	}
	if errors.As(err, &netErr) || strings.Contains(msg, "connection refused") || strings.Contains(msg, "EOF") ||
		strings.Contains(msg, "connection reset") || strings.Contains(msg, "no such host") {
		return failure.New(failure.Unavailable, "Google token endpoint unreachable: %s", redact(msg)), true
	}
	return failure.New(failure.Internal, "getting a Google access token: %s", redact(msg)), false
}

// googleError holds both error shapes: STS answers {"error":"invalid_grant",
// "error_description":"..."}; IAM Credentials answers {"error":{"code":403,"message":"...",
// "status":"PERMISSION_DENIED"}}.
type googleError struct {
	Error            json.RawMessage `json:"error"`
	ErrorDescription string          `json:"error_description"`
}

func classifyStatus(status int, body string) (error, bool) {
	var ge googleError
	var code, message, apiStatus string
	if json.Unmarshal([]byte(body), &ge) == nil {
		if json.Unmarshal(ge.Error, &code) == nil {
			message = ge.ErrorDescription
		} else {
			var api struct {
				Message string `json:"message"`
				Status  string `json:"status"`
			}
			if json.Unmarshal(ge.Error, &api) == nil {
				message, apiStatus = api.Message, api.Status
			}
		}
	}
	if message == "" {
		message = body
	}
	message = redact(message)
	lower := strings.ToLower(message)
	switch {
	case status == 429 || status >= 500:
		return failure.New(failure.Unavailable, "Google answered %d: %s", status, message), true
	case code == "invalid_target":
		return failure.WithHint(failure.New(failure.NotFound, "Google STS does not know the workload identity provider (invalid_target): %s", message),
			"check --provider: the project number, pool and provider IDs, and that the pool and provider are enabled"), false
	case code == "invalid_grant" && strings.Contains(lower, "audience"):
		return failure.WithHint(failure.New(failure.Auth, "Google STS refused the OIDC token's audience (invalid_grant): %s", message),
			"the provider's allowed audiences must include the token's aud: CircleCI's default is the organisation ID (shipgate gcp provider-config prints the settings)"), false
	case code == "invalid_grant" && (strings.Contains(lower, "expired") || strings.Contains(lower, "stale")):
		return failure.WithHint(failure.New(failure.Auth, "Google STS refused an expired OIDC token (invalid_grant): %s", message),
			"inside a CircleCI job the credential source mints fresh tokens when the circleci CLI is on PATH"), false
	case code == "invalid_request" && strings.Contains(lower, "google.subject"):
		return failure.WithHint(failure.New(failure.Usage, "Google STS refused the mapped google.subject: %s", message),
			"google.subject is limited to 127 bytes: use the v1 token ($CIRCLE_OIDC_TOKEN) or map google.subject to something shorter"), false
	case code == "unauthorized_client" || strings.Contains(lower, "attribute condition"):
		return failure.WithHint(failure.New(failure.Auth, "Google STS refused the token: the provider's attribute condition rejected it: %s", message),
			"compare the token's claims with the condition (shipgate gcp provider-config prints one for CircleCI)"), false
	case code != "":
		return failure.New(failure.Auth, "Google STS refused the token exchange (%s): %s", code, message), false
	case status == 403 || apiStatus == "PERMISSION_DENIED":
		return failure.WithHint(failure.New(failure.Auth, "Google IAM refused to let the federated identity impersonate the service account (%d %s): %s", status, apiStatus, message),
			"grant roles/iam.workloadIdentityUser on the service account to the pool's principal (shipgate gcp provider-config --service-account prints the command)"), false
	case status == 401:
		return failure.New(failure.Auth, "Google refused the credentials (401): %s", message), false
	case status == 404:
		return failure.New(failure.NotFound, "Google answered 404: %s", message), false
	}
	return failure.New(failure.Auth, "Google answered %d: %s", status, message), false
}

// diagnoseExecutable is called when the credential source exited non-zero: Google's Go library
// keeps only the exit code, so the source is run once more to read its error response (code
// and message; never a token) and the exit code says the class.
func diagnoseExecutable(ctx context.Context, credentialsFile, libraryMsg string) error {
	kind := failure.Unavailable
	if m := exitCodeRE().FindStringSubmatch(libraryMsg); m != nil {
		if n, err := strconv.Atoi(m[1]); err == nil && n >= 1 && n <= 7 {
			kind = failure.Kind(n)
		}
	}
	command, err := executableCommand(credentialsFile)
	if err != nil || command == "" {
		return failure.New(kind, "the credential source failed: %s", redact(libraryMsg))
	}
	fields := strings.Fields(command)
	ctx, cancel := context.WithTimeout(ctx, DefaultExecutableTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, fields[0], fields[1:]...)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = io.Discard
	cmd.Env = append(os.Environ(), "GOOGLE_EXTERNAL_ACCOUNT_INTERACTIVE=0")
	_ = cmd.Run()
	var resp ExecutableResponse
	if json.Unmarshal(stdout.Bytes(), &resp) == nil && !resp.Success && resp.Message != "" {
		return failure.New(kind, "the credential source (shipgate gcp subject-token) failed: %s", redact(resp.Message))
	}
	return failure.New(kind, "the credential source failed: %s", redact(libraryMsg))
}

// String describes a token without its value.
func (a AccessToken) String() string {
	return fmt.Sprintf("%s access token until %s", a.Type, a.Expiry.UTC().Format(time.RFC3339))
}
