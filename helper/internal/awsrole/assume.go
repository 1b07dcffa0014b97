// Package awsrole exchanges a CircleCI OIDC token for short-lived AWS credentials with the
// real aws-sdk-go-v2 STS client: AssumeRoleWithWebIdentity, optional role chaining, and the
// GetCallerIdentity check against allowed accounts. It owns the retry policy, the endpoint
// allow-list and the messages a user sees when a trust policy refuses a token. It also writes
// the credentials where later steps need them (export lines, shared files, credential_process
// JSON) and prints CircleCI trust policies.
package awsrole

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/oidctoken"
)

// Credentials are temporary AWS credentials. String and GoString never print the secrets, so
// a stray %v cannot leak them.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	Expiration      time.Time
}

func (c Credentials) String() string   { return "[AWS credentials redacted]" }
func (c Credentials) GoString() string { return c.String() }

// Options configure one exchange. RoleARN, Region and Token are required.
type Options struct {
	RoleARN string
	Region  string
	// SessionName is the RoleSessionName; callers build a default with SessionName.
	SessionName string
	// Duration of the session; DefaultDuration when zero.
	Duration time.Duration
	// ChainRoleARNs are assumed in order with AssumeRole after the web identity role.
	ChainRoleARNs []string
	// Endpoint is the STS endpoint (from ResolveEndpoint); the regional one when empty.
	Endpoint string
	// AllowedAccountIDs, when not empty, lists the only accounts the final role may be in.
	AllowedAccountIDs []string
	// Token yields the OIDC token. Mint, when not nil, mints a fresh one: used once when the
	// token has expired (a long job outlives its one-hour token).
	Token oidctoken.Source
	Mint  oidctoken.Source
	// Retry is the backoff policy; the zero value means DefaultRetry.
	Retry Retry
	// Timeout bounds the whole exchange (every attempt and wait); 2 minutes when zero.
	Timeout time.Duration
	// Now is the clock used for the local expiry check (time.Now when nil).
	Now func() time.Time
	// HTTPClient sends the STS requests (a default client when nil).
	HTTPClient *http.Client
	// Progress receives one-line progress messages (never secrets); nil discards them.
	Progress func(format string, args ...any)
}

// defaultHTTPClient bounds each STS request; the exchange as a whole has its own deadline.
var defaultHTTPClient = &http.Client{Timeout: 30 * time.Second}

// DefaultTimeout bounds an exchange when Options.Timeout is zero.
const DefaultTimeout = 2 * time.Minute

// clockSkew is how close to its expiry a token is treated as expired locally: STS checks exp
// with its own clock, and a token that expires in transit fails anyway.
const clockSkew = 30 * time.Second

// Result is a successful exchange.
type Result struct {
	Credentials Credentials
	Region      string
	// RoleARN is the role finally assumed (the last chained role, or the web identity role).
	RoleARN string
	// AssumedRoleARN and Account are what GetCallerIdentity reported for the credentials.
	AssumedRoleARN string
	Account        string
	// Claims are the (unverified) claims of the token STS accepted.
	Claims *oidctoken.Claims
	// TokenSource describes where that token came from.
	TokenSource string
}

// Validate checks options before anything is sent.
func (o *Options) Validate() error {
	if err := ValidateRoleARN("--role-arn", o.RoleARN); err != nil {
		return err
	}
	for _, arn := range o.ChainRoleARNs {
		if err := ValidateRoleARN("--chain-role-arn", arn); err != nil {
			return err
		}
	}
	if err := ValidateRegion(o.Region); err != nil {
		return err
	}
	if err := ValidateSessionName(o.SessionName); err != nil {
		return err
	}
	d := o.Duration
	if d == 0 {
		d = DefaultDuration
	}
	if err := ValidateDuration(d, len(o.ChainRoleARNs) > 0); err != nil {
		return err
	}
	if err := ValidateAccountIDs(o.AllowedAccountIDs); err != nil {
		return err
	}
	if o.Token == nil {
		return failure.New(failure.Usage, "no OIDC token source")
	}
	return nil
}

// exchange holds the state of one Assume call.
type exchange struct {
	o      Options
	retry  Retry
	now    func() time.Time
	say    func(string, ...any)
	minted bool
}

// Assume runs the whole exchange: read and check the token, AssumeRoleWithWebIdentity (with
// retries), chain roles, confirm the identity with GetCallerIdentity, and refuse accounts
// outside the allowed list.
func Assume(ctx context.Context, o Options) (*Result, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.Duration == 0 {
		o.Duration = DefaultDuration
	}
	if o.Endpoint == "" {
		o.Endpoint = RegionalEndpoint(o.Region)
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	x := &exchange{o: o, retry: o.Retry.WithDefaults(DefaultRetry), now: o.Now, say: o.Progress}
	if x.now == nil {
		x.now = time.Now
	}
	if x.say == nil {
		x.say = func(string, ...any) {}
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()

	token, claims, source, err := x.token(ctx)
	if err != nil {
		return nil, err
	}
	x.say("exchanging an OIDC token from %s (sub %q) for role %s at %s", source, claims.Subject, o.RoleARN, o.Endpoint)
	creds, claims, source, err := x.webIdentity(ctx, token, claims, source)
	if err != nil {
		return nil, err
	}
	role := o.RoleARN
	for _, next := range o.ChainRoleARNs {
		x.say("chaining from %s to %s", role, next)
		if creds, err = x.chain(ctx, creds, role, next); err != nil {
			return nil, err
		}
		role = next
	}
	identity, err := x.callerIdentity(ctx, creds)
	if err != nil {
		return nil, err
	}
	account := aws.ToString(identity.Account)
	if len(o.AllowedAccountIDs) > 0 && !contains(o.AllowedAccountIDs, account) {
		return nil, failure.New(failure.Safety, "role %s is in account %s, which is not in --allowed-account-ids (%s): credentials discarded",
			role, account, strings.Join(o.AllowedAccountIDs, ", "))
	}
	return &Result{
		Credentials: creds, Region: o.Region, RoleARN: role,
		AssumedRoleARN: aws.ToString(identity.Arn), Account: account,
		Claims: claims, TokenSource: source,
	}, nil
}

// token reads the token and checks it locally; an expired token is replaced by a minted one
// when minting is possible.
func (x *exchange) token(ctx context.Context) (string, *oidctoken.Claims, string, error) {
	token, err := x.o.Token.Token(ctx)
	if err != nil {
		return "", nil, "", err
	}
	source := x.o.Token.Describe()
	claims, err := oidctoken.Decode(token)
	if err != nil {
		return "", nil, "", failure.Wrap(failure.KindOf(err), err, "%s", source)
	}
	if err := claims.CheckExpiry(x.now(), clockSkew); err != nil {
		if x.o.Mint == nil {
			return "", nil, "", failure.WithHint(failure.Wrap(failure.Auth, err, "%s", source),
				"CircleCI tokens live one hour from shortly before the job started: pass --audience to mint a fresh one with the circleci CLI")
		}
		x.say("the OIDC token from %s expired at %s; minting a fresh one", source, claims.Expiry.UTC().Format(time.RFC3339))
		return x.mint(ctx)
	}
	return token, claims, source, nil
}

func (x *exchange) mint(ctx context.Context) (string, *oidctoken.Claims, string, error) {
	x.minted = true
	token, err := x.o.Mint.Token(ctx)
	if err != nil {
		return "", nil, "", err
	}
	source := x.o.Mint.Describe()
	claims, err := oidctoken.Decode(token)
	if err != nil {
		return "", nil, "", failure.Wrap(failure.KindOf(err), err, "%s", source)
	}
	if err := claims.CheckExpiry(x.now(), clockSkew); err != nil {
		return "", nil, "", failure.Wrap(failure.Auth, err, "%s", source)
	}
	return token, claims, source, nil
}

func (x *exchange) client(creds aws.CredentialsProvider) *sts.Client {
	var httpClient sts.HTTPClient = defaultHTTPClient
	if x.o.HTTPClient != nil {
		httpClient = x.o.HTTPClient
	}
	return sts.New(sts.Options{
		Region:       x.o.Region,
		BaseEndpoint: aws.String(x.o.Endpoint),
		HTTPClient:   httpClient,
		Credentials:  creds,
		// Retries are ours (retry.go): one policy, context-aware, tests can shorten it.
		Retryer: aws.NopRetryer{},
	})
}

// do runs call with the retry policy. It returns the last failure when call never succeeded.
func (x *exchange) do(ctx context.Context, what string, call func(context.Context) error) (stsFailure, error) {
	var last stsFailure
	for attempt := 0; ; attempt++ {
		err := call(ctx)
		if err == nil {
			return stsFailure{}, nil
		}
		last = classify(err)
		if ctx.Err() != nil {
			return last, x.deadline(ctx, what, last)
		}
		if !last.transient || attempt+1 >= x.retry.Attempts {
			return last, errFinal
		}
		wait := x.retry.Delay(attempt, last.retryAfter)
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			// Waiting would outlast the exchange's deadline: fail now rather than sleep for nothing.
			return last, failure.New(failure.Unavailable, "%s: the exchange's deadline of %s leaves no time for another retry; last answer: %s",
				what, x.o.Timeout, last.describe())
		}
		x.say("%s: %s; retry %d of %d in %s", what, last.describe(), attempt+1, x.retry.Attempts-1, wait.Round(time.Millisecond))
		if err := x.retry.Sleep(ctx, wait); err != nil {
			return last, x.deadline(ctx, what, last)
		}
	}
}

// errFinal marks a failure the caller turns into its message.
var errFinal = errors.New("final")

func (x *exchange) deadline(ctx context.Context, what string, last stsFailure) error {
	why := "the exchange was cancelled"
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		why = fmt.Sprintf("the exchange's deadline of %s passed", x.o.Timeout)
	}
	msg := why
	if last.code != "" || last.err != nil {
		msg += "; last answer: " + last.describe()
	}
	return failure.New(failure.Unavailable, "%s: %s", what, msg)
}

func (x *exchange) webIdentity(ctx context.Context, token string, claims *oidctoken.Claims, source string) (Credentials, *oidctoken.Claims, string, error) {
	what := "STS AssumeRoleWithWebIdentity for " + x.o.RoleARN
	for {
		var out *sts.AssumeRoleWithWebIdentityOutput
		f, err := x.do(ctx, what, func(ctx context.Context) error {
			var err error
			out, err = x.client(nil).AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
				RoleArn:          aws.String(x.o.RoleARN),
				RoleSessionName:  aws.String(x.o.SessionName),
				WebIdentityToken: aws.String(token),
				DurationSeconds:  aws.Int32(int32(x.o.Duration / time.Second)),
			})
			return err
		})
		if err == nil {
			return credsOf(out.Credentials), claims, source, nil
		}
		if err != errFinal {
			return Credentials{}, nil, "", err
		}
		if f.code == "ExpiredTokenException" && x.o.Mint != nil && !x.minted {
			x.say("%s: %s; minting a fresh token once", what, f.code)
			if token, claims, source, err = x.mint(ctx); err != nil {
				return Credentials{}, nil, "", err
			}
			continue
		}
		return Credentials{}, nil, "", x.explain(what, f, claims, source)
	}
}

// explain turns a final STS failure into the message and hint a user acts on.
func (x *exchange) explain(what string, f stsFailure, c *oidctoken.Claims, source string) error {
	kind := f.kind()
	if f.transient {
		err := failure.New(kind, "%s: still failing after %d attempts: %s", what, x.retry.Attempts, f.describe())
		if f.code == "IDPCommunicationError" || f.code == "InvalidIdentityToken" {
			return failure.WithHint(err, "STS could not reach the identity provider ("+c.Issuer+"); this is usually brief: rerun the job")
		}
		return err
	}
	err := failure.New(kind, "%s: %s", what, f.describe())
	switch f.code {
	case "AccessDenied", "IDPRejectedClaim":
		host := providerHost(c.Issuer)
		return failure.WithHint(failure.New(kind, "%s: %s. The role does not exist or its trust policy does not match this token (from %s): aud %q, sub %q, iss %q. It must allow Federated arn:%s:iam::%s:oidc-provider/%s with StringEquals %s:aud = %q and StringLike %s:sub matching %q%s",
			what, f.describe(), source, strings.Join(c.Audience, ","), c.Subject, c.Issuer,
			partitionOf(x.o.RoleARN), accountOf(x.o.RoleARN), host, host, firstOr(c.Audience, ""), host, c.Subject, v1Note(c)), trustPolicyHint(x.o.RoleARN, c))
	case "InvalidIdentityToken":
		return failure.WithHint(failure.New(kind, "%s: %s (token from %s: %s)", what, f.describe(), source, c.Summary()),
			"the account needs an IAM OIDC provider for "+c.Issuer+" whose audience list holds "+firstOr(c.Audience, "the org ID")+"; the token must be signed by that issuer")
	case "ExpiredTokenException":
		return failure.WithHint(failure.New(kind, "%s: %s (token from %s expired %s)", what, f.describe(), source, c.Expiry.UTC().Format(time.RFC3339)),
			"pass --audience to mint a fresh token with the circleci CLI")
	case "ValidationError":
		return failure.New(kind, "%s: %s (session name %q, duration %s)", what, f.describe(), x.o.SessionName, x.o.Duration)
	}
	return err
}

func (x *exchange) chain(ctx context.Context, from Credentials, fromRole, role string) (Credentials, error) {
	what := "STS AssumeRole from " + fromRole + " to " + role
	var out *sts.AssumeRoleOutput
	f, err := x.do(ctx, what, func(ctx context.Context) error {
		var err error
		out, err = x.client(static(from)).AssumeRole(ctx, &sts.AssumeRoleInput{
			RoleArn:         aws.String(role),
			RoleSessionName: aws.String(x.o.SessionName),
			DurationSeconds: aws.Int32(int32(x.o.Duration / time.Second)),
		})
		return err
	})
	if err == errFinal {
		err = failure.New(f.kind(), "%s: %s", what, f.describe())
		if f.code == "AccessDenied" {
			err = failure.WithHint(err, "the trust policy of "+role+" must allow sts:AssumeRole by "+fromRole)
		}
	}
	if err != nil {
		return Credentials{}, err
	}
	return credsOf(out.Credentials), nil
}

func (x *exchange) callerIdentity(ctx context.Context, creds Credentials) (*sts.GetCallerIdentityOutput, error) {
	what := "STS GetCallerIdentity"
	var out *sts.GetCallerIdentityOutput
	f, err := x.do(ctx, what, func(ctx context.Context) error {
		var err error
		out, err = x.client(static(creds)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		return err
	})
	if err == errFinal {
		err = failure.New(f.kind(), "%s: %s", what, f.describe())
	}
	return out, err
}

func static(c Credentials) aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.SessionToken)
}

func credsOf(c *types.Credentials) Credentials {
	if c == nil {
		return Credentials{}
	}
	return Credentials{
		AccessKeyID: aws.ToString(c.AccessKeyId), SecretAccessKey: aws.ToString(c.SecretAccessKey),
		SessionToken: aws.ToString(c.SessionToken), Expiration: aws.ToTime(c.Expiration),
	}
}

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

func firstOr(list []string, def string) string {
	if len(list) == 0 {
		return def
	}
	return list[0]
}

// providerHost is the issuer without its scheme: the IAM OIDC provider's name and the prefix of
// its condition keys.
func providerHost(issuer string) string {
	return strings.TrimPrefix(strings.TrimPrefix(issuer, "https://"), "http://")
}

// accountOf is the account of an IAM ARN, or "ACCOUNT" when it has none.
func accountOf(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 || parts[4] == "" {
		return "ACCOUNT"
	}
	return parts[4]
}

// partitionOf is the partition of an ARN (aws, aws-cn, aws-us-gov ...).
func partitionOf(arn string) string {
	parts := strings.SplitN(arn, ":", 3)
	if len(parts) < 3 || parts[1] == "" {
		return "aws"
	}
	return parts[1]
}

// v1Note explains the most common mismatch: a policy written for the exact v1 sub (aws-cli orb
// PR #130 switched to v2 tokens and broke such policies).
func v1Note(c *oidctoken.Claims) string {
	if c.SubjectVersion() == 2 {
		return " (a v2 token: a policy matching the exact v1 sub org/…/project/…/user/… needs a trailing /* or the v2 form)"
	}
	return ""
}

func trustPolicyHint(roleARN string, c *oidctoken.Claims) string {
	org := c.OrgID
	if org == "" {
		org = firstOr(c.Audience, "ORG_ID")
	}
	project := c.ProjectID
	if project == "" {
		project = "PROJECT_ID"
	}
	return fmt.Sprintf("print a matching policy with `shipgate aws trust-policy --account-id %s --org-id %s --project-id %s` (add --branch / --vcs-origin to pin them), and add --check to see which claims of this job's token fail it",
		accountOf(roleARN), org, project)
}
