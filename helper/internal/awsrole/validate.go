package awsrole

import (
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/shipgate/shipgate/helper/internal/failure"
)

// Session duration limits of STS (FACTS.md §2): 900 s up to the role's MaxSessionDuration
// (at most 43200 s); role chaining caps every session at one hour.
const (
	MinDuration      = 900 * time.Second
	MaxDuration      = 43200 * time.Second
	MaxChainDuration = time.Hour
	// DefaultDuration is one hour, what STS grants when no duration is asked for.
	DefaultDuration = time.Hour
)

var (
	sessionNameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[\w+=,.@-]{2,64}$`) })
	notSessionRE  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`[^\w+=,.@-]+`) })
	roleARNRE     = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$`)
	})
	regionRE  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z]{2,4}(-[a-z0-9]+)+-\d{1,2}$`) })
	accountRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^\d{12}$`) })
)

// SessionName turns parts (project, pipeline number, job ...) into a valid RoleSessionName:
// characters outside [\w+=,.@-] become '-', and a name longer than 64 characters is cut and
// given a short hash of the whole name, so two long names that share a prefix stay distinct.
// A name shorter than two characters is padded the same way. The result always satisfies
// ValidateSessionName.
func SessionName(parts ...string) string {
	var kept []string
	for _, p := range parts {
		p = strings.Trim(notSessionRE().ReplaceAllString(p, "-"), "-")
		if p != "" {
			kept = append(kept, p)
		}
	}
	name := strings.Join(kept, "-")
	if len(name) >= 2 && len(name) <= 64 {
		return name
	}
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	suffix := hex.EncodeToString(sum[:])[:8]
	if len(name) > 64-len(suffix)-1 {
		name = strings.TrimRight(name[:64-len(suffix)-1], "-")
	}
	if name == "" {
		return "shipgate-" + suffix
	}
	return name + "-" + suffix
}

// ValidateSessionName checks an explicitly given session name (which is not rewritten: a
// user who typed it should learn it is invalid).
func ValidateSessionName(name string) error {
	if !sessionNameRE().MatchString(name) {
		return failure.New(failure.Usage, "--session-name %q: want 2 to 64 characters of letters, digits and +=,.@_- (STS RoleSessionName)", name)
	}
	return nil
}

// ValidateRoleARN checks an IAM role ARN's shape.
func ValidateRoleARN(flag, arn string) error {
	if !roleARNRE().MatchString(arn) {
		return failure.New(failure.Usage, "%s %q: want an IAM role ARN, arn:aws:iam::123456789012:role/NAME", flag, arn)
	}
	return nil
}

// ValidateRegion checks a region name's shape (us-east-1, cn-north-1, us-gov-west-1 ...).
func ValidateRegion(region string) error {
	if !regionRE().MatchString(region) {
		return failure.New(failure.Usage, "--region %q: want an AWS region such as us-east-1", region)
	}
	return nil
}

// ValidateAccountIDs checks a list of 12-digit account IDs.
func ValidateAccountIDs(ids []string) error {
	for _, id := range ids {
		if !accountRE().MatchString(id) {
			return failure.New(failure.Usage, "--allowed-account-ids: %q is not a 12-digit AWS account ID", id)
		}
	}
	return nil
}

// ValidateDuration checks a session duration against STS's limits.
func ValidateDuration(d time.Duration, chained bool) error {
	if d%time.Second != 0 {
		return failure.New(failure.Usage, "--duration %s: want whole seconds", d)
	}
	limit := MaxDuration
	if chained {
		limit = MaxChainDuration
	}
	if d < MinDuration || d > limit {
		extra := ""
		if chained {
			extra = " (role chaining caps sessions at one hour)"
		}
		return failure.New(failure.Usage, "--duration %s: want between %s and %s%s", d, MinDuration, limit, extra)
	}
	return nil
}

// partitionSuffixes maps region prefixes to the DNS suffix of their partition's endpoints.
var partitionSuffixes = []struct{ prefix, suffix string }{
	{"cn-", "amazonaws.com.cn"},
	{"us-isob-", "sc2s.sgov.gov"},
	{"us-isof-", "csp.hci.ic.gov"},
	{"us-iso-", "c2s.ic.gov"},
	{"eu-isoe-", "cloud.adc-e.uk"},
	{"eusc-", "amazonaws.eu"},
}

// RegionalEndpoint is the regional STS endpoint of region in its partition.
func RegionalEndpoint(region string) string {
	suffix := "amazonaws.com"
	for _, p := range partitionSuffixes {
		if strings.HasPrefix(region, p.prefix) {
			suffix = p.suffix
			break
		}
	}
	return "https://sts." + region + "." + suffix
}

// awsSTSHost matches the STS endpoints of every AWS partition: global, regional, FIPS and
// dual-stack (api.aws).
var awsSTSHost = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^sts(-fips)?(\.[a-z0-9-]+)?\.(amazonaws\.com|amazonaws\.com\.cn|api\.aws|api\.amazonwebservices\.com\.cn|c2s\.ic\.gov|sc2s\.sgov\.gov|csp\.hci\.ic\.gov|cloud\.adc-e\.uk|amazonaws\.eu)$`)
})

// IsAWSSTSEndpoint reports whether u is an https URL of an AWS STS host.
func IsAWSSTSEndpoint(u *url.URL) bool {
	return u.Scheme == "https" && awsSTSHost().MatchString(strings.ToLower(u.Hostname()))
}

// IsLoopback reports whether u points at this machine (tests, local emulators).
func IsLoopback(u *url.URL) bool {
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ResolveEndpoint returns the STS endpoint to send the token to: the regional endpoint for
// region, or override when it is an AWS STS host or loopback. Any other host is refused unless
// allowCustom, because the token is a credential: a wrong endpoint steals it.
func ResolveEndpoint(region, override string, allowCustom bool) (string, error) {
	if override == "" {
		return RegionalEndpoint(region), nil
	}
	u, err := url.Parse(override)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return "", failure.New(failure.Usage, "--sts-endpoint %q: want an http(s) URL with a host and no user info", override)
	}
	if IsAWSSTSEndpoint(u) || IsLoopback(u) || allowCustom {
		return strings.TrimRight(override, "/"), nil
	}
	return "", failure.WithHint(
		failure.New(failure.Usage, "--sts-endpoint %q is neither an AWS STS host nor loopback: refusing to send the OIDC token there", override),
		"use https://sts.REGION.amazonaws.com (or your partition's STS host), or pass --allow-custom-endpoint if this endpoint is trusted")
}
