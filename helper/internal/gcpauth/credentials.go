package gcpauth

import (
	"encoding/json"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shipgate/shipgate/helper/internal/atomicfile"
	"github.com/shipgate/shipgate/helper/internal/failure"
)

// Google's endpoints (their defaults in gcloud-generated files).
const (
	DefaultTokenURL          = "https://sts.googleapis.com/v1/token"
	DefaultIAMCredentialsURL = "https://iamcredentials.googleapis.com"
	// SubjectTokenTypeJWT is what gcloud writes for OIDC providers.
	SubjectTokenTypeJWT = "urn:ietf:params:oauth:token-type:jwt"
	// DefaultExecutableTimeout is how long Google's libraries let the executable run (5s–120s).
	DefaultExecutableTimeout = 30 * time.Second
)

// CredentialsOptions describe an external_account credentials file whose credential source
// runs `shipgate gcp subject-token`.
type CredentialsOptions struct {
	Provider Provider
	// ServiceAccount, when set, is impersonated (service_account_impersonation_url).
	ServiceAccount string
	// Lifetime of impersonated access tokens (0: Google's default, one hour).
	Lifetime time.Duration
	// Executable is the absolute path of the shipgate binary; Args follow `gcp subject-token`.
	Executable string
	Args       []string
	// TokenURL and IAMCredentialsURL default to Google's; only googleapis.com hosts or
	// loopback (tests) are accepted.
	TokenURL, IAMCredentialsURL string
}

// ExecutableEnv are the variables a later step needs: where the file is and the opt-in Google's
// libraries require before they run an executable credential source. gcloud reads its own
// override variable.
func ExecutableEnv(path string) map[string]string {
	return map[string]string{
		"GOOGLE_APPLICATION_CREDENTIALS":            path,
		"GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES": "1",
		"CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE":    path,
	}
}

// safeArg is what may appear in the executable command line: Google's libraries split it on
// white space and run it without a shell.
var safeArg = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_./:@=+,-]+$`) })

// CredentialsJSON builds the external_account file. It holds no secret: only where to get one.
func CredentialsJSON(o CredentialsOptions) ([]byte, error) {
	if !filepath.IsAbs(o.Executable) {
		return nil, failure.New(failure.Internal, "the shipgate executable path %q is not absolute", o.Executable)
	}
	if !safeArg().MatchString(o.Executable) {
		return nil, failure.WithHint(failure.New(failure.Usage,
			"the shipgate executable path %q holds spaces or unusual characters: Google's libraries split the command on white space", o.Executable),
			"install shipgate in a folder whose path has no spaces")
	}
	for _, a := range o.Args {
		if !safeArg().MatchString(a) {
			return nil, failure.New(failure.Usage, "subject-token argument %q holds spaces or unusual characters", a)
		}
	}
	tokenURL, err := endpoint(o.TokenURL, DefaultTokenURL, "--token-url", "sts.googleapis.com")
	if err != nil {
		return nil, err
	}
	timeout := int(DefaultExecutableTimeout / time.Millisecond)
	file := map[string]any{
		"type":               "external_account",
		"audience":           o.Provider.Audience(),
		"subject_token_type": SubjectTokenTypeJWT,
		"token_url":          tokenURL,
		"credential_source": map[string]any{
			"executable": map[string]any{
				"command":        strings.Join(append([]string{o.Executable, "gcp", "subject-token"}, o.Args...), " "),
				"timeout_millis": timeout,
			},
		},
		"universe_domain": "googleapis.com",
	}
	if o.ServiceAccount != "" {
		if err := ValidateServiceAccount(o.ServiceAccount); err != nil {
			return nil, err
		}
		base, err := endpoint(o.IAMCredentialsURL, DefaultIAMCredentialsURL, "--iam-credentials-url", "iamcredentials.googleapis.com")
		if err != nil {
			return nil, err
		}
		file["service_account_impersonation_url"] = ImpersonationURL(base, o.ServiceAccount)
		if o.Lifetime != 0 {
			if o.Lifetime < 600*time.Second || o.Lifetime > 43200*time.Second {
				return nil, failure.New(failure.Usage, "--lifetime %s: want 10m to 12h (Google's limits for impersonated tokens)", o.Lifetime)
			}
			file["service_account_impersonation"] = map[string]any{"token_lifetime_seconds": int(o.Lifetime / time.Second)}
		}
	}
	data, err := json.MarshalIndent(file, "", "  ")
	if err != nil {
		return nil, failure.Wrap(failure.Internal, err, "encoding the credentials file")
	}
	return append(data, '\n'), nil
}

// ImpersonationURL is the IAM Credentials generateAccessToken URL for a service account.
func ImpersonationURL(base, email string) string {
	return strings.TrimRight(base, "/") + "/v1/projects/-/serviceAccounts/" + email + ":generateAccessToken"
}

// endpoint checks an endpoint override: Google's host over HTTPS, or loopback (tests). Anything
// else would send the CircleCI token (STS) or an access token (IAM) elsewhere.
func endpoint(override, def, flag, host string) (string, error) {
	if override == "" {
		return def, nil
	}
	u, err := url.Parse(override)
	if err == nil && u.Scheme == "https" && u.Host == host {
		return override, nil
	}
	if err == nil && (u.Scheme == "http" || u.Scheme == "https") {
		if ip := net.ParseIP(u.Hostname()); ip != nil && ip.IsLoopback() || u.Hostname() == "localhost" {
			return override, nil
		}
	}
	return "", failure.New(failure.Usage, "%s %q: want https://%s or a loopback address", flag, override, host)
}

// WriteCredentials writes the file at path with mode 0600 through a temporary file and a rename;
// a symbolic link at path is refused, never followed.
func WriteCredentials(path string, data []byte) error {
	if path == "" {
		return failure.New(failure.Usage, "--out needs a file path")
	}
	return atomicfile.Write(path, data, 0o600)
}

// SubjectTokenArgs are the arguments `gcp credentials` puts after `gcp subject-token` in the
// executable command line.
func SubjectTokenArgs(tokenEnv, audience string, subjectLimit int) []string {
	var args []string
	if tokenEnv != "" {
		args = append(args, "--token-env", tokenEnv)
	}
	if audience != "" {
		args = append(args, "--audience", audience)
	}
	if subjectLimit != SubjectLimit {
		args = append(args, "--subject-limit", strconv.Itoa(subjectLimit))
	}
	return args
}
