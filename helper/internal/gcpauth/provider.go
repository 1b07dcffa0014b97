// Package gcpauth connects CircleCI OIDC tokens to Google Cloud through workload identity
// federation: it writes the `external_account` credentials file Google's own libraries and
// gcloud consume, answers their executable credential source with a fresh CircleCI token,
// obtains access tokens through Google's library, prints the provider settings CircleCI needs,
// and authenticates registry calls to Artifact Registry and GCR.
//
// The subject token (the CircleCI JWT) never appears in an error, a log line or a file: only
// its claims do. Access tokens appear only where a command exists to emit them.
package gcpauth

import (
	"fmt"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/shipgate/shipgate/helper/internal/failure"
)

// SubjectLimit is the size limit of the mapped `google.subject` attribute: 127 bytes
// (FACTS.md §1). CircleCI's v1 `sub` is exactly 127 bytes; the v2 form is longer.
const SubjectLimit = 127

// Provider names a workload identity pool provider:
// projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER.
type Provider struct {
	ProjectNumber string
	Pool          string
	ID            string
}

// Name is the provider's resource name.
func (p Provider) Name() string {
	return fmt.Sprintf("projects/%s/locations/global/workloadIdentityPools/%s/providers/%s", p.ProjectNumber, p.Pool, p.ID)
}

// Audience is the STS audience of the provider: its full resource name on iam.googleapis.com.
func (p Provider) Audience() string { return "//iam.googleapis.com/" + p.Name() }

// PoolName is the pool's resource name, the prefix of principal identifiers.
func (p Provider) PoolName() string {
	return fmt.Sprintf("projects/%s/locations/global/workloadIdentityPools/%s", p.ProjectNumber, p.Pool)
}

// Pool and provider IDs: 4 to 32 lower-case letters, digits and dashes; the gcp- prefix is
// reserved by Google.
var idRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9-]{2,30}[a-z0-9]$`) })

var providerRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^projects/([^/]+)/locations/([^/]+)/workloadIdentityPools/([^/]+)/providers/([^/]+)$`)
})

// ParseProvider reads a provider resource name. The forms gcloud prints are accepted too:
// with a leading //iam.googleapis.com/ or https://iam.googleapis.com/.
func ParseProvider(name string) (Provider, error) {
	s := strings.TrimSpace(name)
	for _, prefix := range []string{"//iam.googleapis.com/", "https://iam.googleapis.com/"} {
		s = strings.TrimPrefix(s, prefix)
	}
	m := providerRE().FindStringSubmatch(s)
	if m == nil {
		return Provider{}, failure.New(failure.Usage,
			"--provider %q: want projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER", name)
	}
	if m[2] != "global" {
		return Provider{}, failure.New(failure.Usage, "--provider %q: workload identity pools live in location global, not %q", name, m[2])
	}
	return NewProvider(m[1], m[3], m[4])
}

// NewProvider builds a provider from its parts, normalising the project number
// (ProjectNumber) and checking the IDs.
func NewProvider(projectNumber, pool, id string) (Provider, error) {
	n, err := ProjectNumber(projectNumber)
	if err != nil {
		return Provider{}, err
	}
	for _, part := range []struct{ what, v string }{{"pool", pool}, {"provider", id}} {
		if !idRE().MatchString(part.v) || strings.HasPrefix(part.v, "gcp-") {
			return Provider{}, failure.New(failure.Usage,
				"workload identity %s ID %q: want 4 to 32 lower-case letters, digits and dashes, not starting with gcp-", part.what, part.v)
		}
	}
	return Provider{ProjectNumber: n, Pool: pool, ID: id}, nil
}

// maxFloatExact is 2^53: above it a float64 no longer holds every integer, so a number that went
// through a YAML float cannot be trusted to be the one typed.
var maxFloatExact = new(big.Rat).SetInt64(1 << 53)

// ProjectNumber returns a Google Cloud project number as plain decimal digits, whatever YAML or
// a template made of it. "123456789012" is taken as it is. A number a YAML parser turned into a
// float comes back as "123456789012.0", "1.23456789012e+11" or "1.23456789012E11"; those are
// normalised exactly when every digit of the number is written in the text, and refused
// otherwise: "1.2345678901e+11" may be 123456789010 or a rounded 123456789012, and guessing
// would send the token to another project's provider. Leading zeros are refused too (YAML 1.1
// reads 0123 as octal).
func ProjectNumber(text string) (string, error) {
	s := strings.TrimSpace(text)
	if len(s) >= 2 && (s[0] == '"' && s[len(s)-1] == '"' || s[0] == '\'' && s[len(s)-1] == '\'') {
		s = strings.TrimSpace(s[1 : len(s)-1])
	}
	quoteHint := "write the project number as a quoted string in the config, e.g. project_number: \"123456789012\""
	if s == "" {
		return "", failure.New(failure.Usage, "project number is empty")
	}
	if isDigits(s) {
		if s[0] == '0' {
			return "", failure.WithHint(failure.New(failure.Usage, "project number %q starts with 0: Google project numbers never do (was it read as octal?)", text), quoteHint)
		}
		if len(s) > 19 {
			return "", failure.New(failure.Usage, "project number %q has %d digits: not a Google project number", text, len(s))
		}
		return s, nil
	}
	mantissa, exponent, hasExp := strings.Cut(strings.ToLower(s), "e")
	var r *big.Rat
	ok := decimalRE().MatchString(s) && len(s) <= 40
	if ok && hasExp {
		// big.Rat would build 10^exponent in full: "1e999999999" hangs. A project number has at
		// most 19 digits, so any exponent beyond a few dozen is not one (a fuzzing finding).
		e, err := strconv.Atoi(strings.TrimPrefix(exponent, "+"))
		ok = err == nil && e >= -40 && e <= 40
	}
	if ok {
		r, ok = new(big.Rat).SetString(s)
	}
	if !ok {
		return "", failure.WithHint(failure.New(failure.Usage, "project number %q is not a number", text), "use the numeric project number (gcloud projects describe PROJECT_ID --format='value(projectNumber)'), not the project ID")
	}
	if !r.IsInt() || r.Sign() <= 0 {
		return "", failure.New(failure.Usage, "project number %q is not a positive whole number", text)
	}
	n := r.Num().String()
	// Significant digits written: the mantissa's digits without leading zeros and without
	// trailing zeros after a decimal point (123456789012.0 writes all 12 digits).
	digits := strings.TrimLeft(strings.Replace(strings.TrimLeft(mantissa, "+"), ".", "", 1), "0")
	if strings.Contains(mantissa, ".") {
		intPart, frac, _ := strings.Cut(strings.TrimLeft(mantissa, "+"), ".")
		digits = strings.TrimLeft(intPart+strings.TrimRight(frac, "0"), "0")
	}
	if len(digits) < len(n) {
		return "", failure.WithHint(failure.New(failure.Usage,
			"project number %q looks like a number YAML turned into a float: it writes %d significant digits of a %d-digit number, so the last digits may have been rounded away",
			text, len(digits), len(n)), quoteHint)
	}
	if hasExp || strings.Contains(s, ".") {
		if r.Cmp(maxFloatExact) > 0 {
			return "", failure.WithHint(failure.New(failure.Usage,
				"project number %q went through a floating-point number too large to hold it exactly", text), quoteHint)
		}
	}
	return n, nil
}

// decimalRE is what a YAML or JSON float looks like: no hex, octal, fractions or separators.
var decimalRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^\+?[0-9]+(\.[0-9]*)?([eE][+-]?[0-9]+)?$`) })

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// serviceAccountRE accepts service account e-mail addresses: user-managed
// (NAME@PROJECT.iam.gserviceaccount.com) and Google-managed ones (developer.gserviceaccount.com,
// appspot.gserviceaccount.com ...).
var serviceAccountRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,99}@[a-z0-9][a-z0-9.-]{0,200}\.gserviceaccount\.com$`)
})

// ValidateServiceAccount checks a service account e-mail's shape.
func ValidateServiceAccount(email string) error {
	if !serviceAccountRE().MatchString(email) {
		return failure.New(failure.Usage, "--service-account %q: want a service account e-mail, NAME@PROJECT_ID.iam.gserviceaccount.com", email)
	}
	return nil
}
