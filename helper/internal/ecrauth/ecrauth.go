// Package ecrauth authenticates to Amazon ECR registries in-process: for each registry host it
// assumes that host's role (from the job's OIDC token, through awsrole) and calls ECR
// GetAuthorizationToken with the role's credentials. Nothing is written to disk and no
// `docker login` runs. It is an authn.Keychain for go-containerregistry, so one promotion can
// read a staging account's registry and write production's with two identities.
package ecrauth

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/shipgate/shipgate/helper/internal/awsrole"
	"github.com/shipgate/shipgate/helper/internal/failure"
)

// ecrHost matches private ECR registry hosts of every partition, with the account and region.
var ecrHost = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.(amazonaws\.com|amazonaws\.com\.cn|c2s\.ic\.gov|sc2s\.sgov\.gov|csp\.hci\.ic\.gov|cloud\.adc-e\.uk|amazonaws\.eu)$`)
})

// Registry is a parsed ECR registry host.
type Registry struct {
	Host    string
	Account string
	Region  string
}

// ParseHost parses ACCOUNT.dkr.ecr.REGION.amazonaws.com (and other partitions' suffixes).
func ParseHost(host string) (Registry, bool) {
	m := ecrHost().FindStringSubmatch(strings.ToLower(host))
	if m == nil {
		return Registry{}, false
	}
	return Registry{Host: strings.ToLower(host), Account: m[1], Region: m[2]}, true
}

// ParseRoles reads HOST=ROLE_ARN pairs (--registry-role), each host an ECR registry.
func ParseRoles(pairs []string) (map[string]string, error) {
	roles := map[string]string{}
	for _, p := range pairs {
		host, arn, ok := strings.Cut(p, "=")
		host, arn = strings.TrimSpace(host), strings.TrimSpace(arn)
		if !ok || host == "" || arn == "" {
			return nil, failure.New(failure.Usage, "--registry-role %q: want HOST=ROLE_ARN", p)
		}
		if _, ok := ParseHost(host); !ok {
			return nil, failure.New(failure.Usage, "--registry-role %q: %q is not an ECR registry host (ACCOUNT.dkr.ecr.REGION.amazonaws.com)", p, host)
		}
		if err := awsrole.ValidateRoleARN("--registry-role", arn); err != nil {
			return nil, err
		}
		host = strings.ToLower(host)
		if prev, dup := roles[host]; dup && prev != arn {
			return nil, failure.New(failure.Usage, "--registry-role: %s is given two roles (%s and %s)", host, prev, arn)
		}
		roles[host] = arn
	}
	return roles, nil
}

// Assumer assumes roleARN in region from the job's OIDC token.
type Assumer func(ctx context.Context, roleARN, region string) (awsrole.Credentials, error)

// Options configure a Keychain.
type Options struct {
	// Roles maps registry hosts to the role used for each.
	Roles map[string]string
	// Assume exchanges the OIDC token for a role's credentials (awsrole.Assume).
	Assume Assumer
	// Endpoint, when set, returns the ECR API endpoint for a region (tests, private links);
	// the SDK's regional endpoint otherwise.
	Endpoint func(region string) string
	// HTTPClient sends ECR API requests (a default client when nil).
	HTTPClient *http.Client
	// Now is the clock for the cache (time.Now when nil).
	Now func() time.Time
	// Progress receives one-line messages (never secrets); nil discards them.
	Progress func(format string, args ...any)
}

// Keychain resolves ECR hosts listed in Options.Roles to registry credentials and every other
// host to authn.Anonymous, so it composes with authn.NewMultiKeychain. A failure for a listed
// host is an error, never a silent fallback to anonymous.
type Keychain struct {
	o     Options
	mu    sync.Mutex
	cache map[string]cached
}

type cached struct {
	auth    *Authenticator
	expires time.Time
}

// refreshBefore renews a registry token this long before it expires (ECR tokens last 12 h;
// the assumed role's session may be shorter and bounds it).
const refreshBefore = 5 * time.Minute

// New returns a Keychain.
func New(o Options) *Keychain {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Progress == nil {
		o.Progress = func(string, ...any) {}
	}
	return &Keychain{o: o, cache: map[string]cached{}}
}

// Hosts lists the registries the keychain has roles for.
func (k *Keychain) Hosts() []string {
	hosts := make([]string, 0, len(k.o.Roles))
	for h := range k.o.Roles {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	return hosts
}

// Resolve implements authn.Keychain.
func (k *Keychain) Resolve(target authn.Resource) (authn.Authenticator, error) {
	return k.ResolveContext(context.Background(), target)
}

// ResolveContext implements authn.ContextKeychain.
func (k *Keychain) ResolveContext(ctx context.Context, target authn.Resource) (authn.Authenticator, error) {
	host := strings.ToLower(target.RegistryStr())
	role, ok := k.o.Roles[host]
	if !ok {
		return authn.Anonymous, nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if c, ok := k.cache[host]; ok && k.o.Now().Add(refreshBefore).Before(c.expires) {
		return c.auth, nil
	}
	reg, _ := ParseHost(host)
	auth, expires, err := k.login(ctx, reg, role)
	if err != nil {
		return nil, err
	}
	k.cache[host] = cached{auth: auth, expires: expires}
	return auth, nil
}

func (k *Keychain) login(ctx context.Context, reg Registry, role string) (*Authenticator, time.Time, error) {
	creds, err := k.o.Assume(ctx, role, reg.Region)
	if err != nil {
		return nil, time.Time{}, failure.Wrap(failure.KindOf(err), err, "registry %s", reg.Host)
	}
	opts := ecr.Options{
		Region:      reg.Region,
		Credentials: credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken),
	}
	if k.o.HTTPClient != nil {
		opts.HTTPClient = k.o.HTTPClient
	}
	if k.o.Endpoint != nil {
		if ep := k.o.Endpoint(reg.Region); ep != "" {
			opts.BaseEndpoint = aws.String(ep)
		}
	}
	out, err := ecr.New(opts).GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{
		// Deprecated in the API but still honoured: asks for this registry's token even where
		// the role's account differs from the registry's (cross-account registry policies).
		RegistryIds: []string{reg.Account},
	})
	if err != nil {
		kind := failure.Unavailable
		if strings.Contains(err.Error(), "AccessDenied") || strings.Contains(err.Error(), "UnrecognizedClient") || strings.Contains(err.Error(), "StatusCode: 403") {
			kind = failure.Auth
		}
		return nil, time.Time{}, failure.Wrap(kind, err, "ECR GetAuthorizationToken for %s as %s", reg.Host, role)
	}
	if len(out.AuthorizationData) == 0 || out.AuthorizationData[0].AuthorizationToken == nil {
		return nil, time.Time{}, failure.New(failure.Internal, "ECR GetAuthorizationToken for %s returned no token", reg.Host)
	}
	data := out.AuthorizationData[0]
	decoded, err := base64.StdEncoding.DecodeString(aws.ToString(data.AuthorizationToken))
	user, pass, ok := strings.Cut(string(decoded), ":")
	if err != nil || !ok || user == "" || pass == "" {
		return nil, time.Time{}, failure.New(failure.Internal, "ECR GetAuthorizationToken for %s returned a malformed token", reg.Host)
	}
	expires := aws.ToTime(data.ExpiresAt)
	if !creds.Expiration.IsZero() && (expires.IsZero() || creds.Expiration.Before(expires)) {
		expires = creds.Expiration
	}
	k.o.Progress("authenticated to %s as %s", reg.Host, role)
	return &Authenticator{host: reg.Host, cfg: authn.AuthConfig{Username: user, Password: pass}}, expires, nil
}

// Authenticator holds one registry's credentials. It never prints them.
type Authenticator struct {
	host string
	cfg  authn.AuthConfig
}

// Authorization implements authn.Authenticator.
func (a *Authenticator) Authorization() (*authn.AuthConfig, error) {
	cfg := a.cfg
	return &cfg, nil
}

func (a *Authenticator) String() string   { return "[ECR credentials for " + a.host + "]" }
func (a *Authenticator) GoString() string { return a.String() }

// CrossRegistryNote says, for a copy from src to dst (registry hosts), when no cross-repository
// mount is possible because the registries are in different ECR accounts or regions, so every
// blob streams through the job. It returns "" when a mount may work or the hosts are not ECR.
func CrossRegistryNote(src, dst string) string {
	a, okA := ParseHost(src)
	b, okB := ParseHost(dst)
	if !okA || !okB || a.Host == b.Host {
		return ""
	}
	var diff []string
	if a.Account != b.Account {
		diff = append(diff, fmt.Sprintf("accounts (%s, %s)", a.Account, b.Account))
	}
	if a.Region != b.Region {
		diff = append(diff, fmt.Sprintf("regions (%s, %s)", a.Region, b.Region))
	}
	return fmt.Sprintf("%s and %s are in different %s: ECR cannot mount blobs across them, so every layer streams through this job",
		a.Host, b.Host, strings.Join(diff, " and "))
}
