package awsrole

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/shipgate/shipgate/helper/internal/awsrole/iamcond"
	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/oidctoken"
)

// TrustPolicyOptions describe the least-privilege trust policy for CircleCI's provider.
type TrustPolicyOptions struct {
	AccountID string
	OrgID     string
	ProjectID string
	// Branch pins the v2 sub's vcs-ref (refs/heads/BRANCH; a value starting with refs/ is
	// used as is). VCSOrigin pins the repository (github.com/acme/app). Either one makes the
	// policy require a v2 token; without both the policy matches any token of the project.
	Branch    string
	VCSOrigin string
	// Issuer defaults to https://oidc.circleci.com/org/ORG.
	Issuer string
	// Partition defaults to aws.
	Partition string
}

var (
	uuidLike  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`) })
	originRE  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9.-]+(/[A-Za-z0-9._-]+)+$`) })
	refRE     = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9._/-]{1,255}$`) })
	partition = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^aws(-[a-z-]+)?$`) })
)

func (o *TrustPolicyOptions) normalise() error {
	if !accountRE().MatchString(o.AccountID) {
		return failure.New(failure.Usage, "--account-id %q: want a 12-digit AWS account ID", o.AccountID)
	}
	if !uuidLike().MatchString(o.OrgID) {
		return failure.New(failure.Usage, "--org-id %q: want the CircleCI organization ID (Organization Settings > Overview)", o.OrgID)
	}
	if !uuidLike().MatchString(o.ProjectID) {
		return failure.New(failure.Usage, "--project-id %q: want the CircleCI project ID (Project Settings > Overview)", o.ProjectID)
	}
	if o.VCSOrigin != "" && !originRE().MatchString(o.VCSOrigin) {
		return failure.New(failure.Usage, "--vcs-origin %q: want HOST/ORG/REPO, for example github.com/acme/app", o.VCSOrigin)
	}
	if o.Branch != "" && (!refRE().MatchString(o.Branch) || strings.Contains(o.Branch, "..")) {
		return failure.New(failure.Usage, "--branch %q: not a valid branch or ref name", o.Branch)
	}
	if o.Issuer == "" {
		o.Issuer = "https://oidc.circleci.com/org/" + o.OrgID
	}
	if o.Partition == "" {
		o.Partition = "aws"
	}
	if !partition().MatchString(o.Partition) {
		return failure.New(failure.Usage, "--partition %q: want aws, aws-cn, aws-us-gov ...", o.Partition)
	}
	return nil
}

// SubjectPattern is the StringLike pattern for sub.
func (o TrustPolicyOptions) SubjectPattern() string {
	base := fmt.Sprintf("org/%s/project/%s/user/*", o.OrgID, o.ProjectID)
	if o.Branch == "" && o.VCSOrigin == "" {
		return base
	}
	origin, ref := o.VCSOrigin, o.Branch
	if origin == "" {
		origin = "*"
	}
	switch {
	case ref == "":
		ref = "*"
	case !strings.HasPrefix(ref, "refs/"):
		ref = "refs/heads/" + ref
	}
	return base + "/vcs-origin/" + origin + "/vcs-ref/" + ref
}

// TrustPolicy is an IAM trust policy document.
type TrustPolicy struct {
	Version   string
	Statement []TrustStatement
}

// TrustStatement is one statement of a trust policy.
type TrustStatement struct {
	Effect    string
	Principal map[string]string
	Action    string
	Condition map[string]map[string]string
}

// BuildTrustPolicy returns the least-privilege trust policy: aud must be the org ID and sub
// must match the project (and branch / origin when given). FACTS.md §1.
func BuildTrustPolicy(o TrustPolicyOptions) (*TrustPolicy, TrustPolicyOptions, error) {
	if err := o.normalise(); err != nil {
		return nil, o, err
	}
	host := providerHost(o.Issuer)
	return &TrustPolicy{
		Version: "2012-10-17",
		Statement: []TrustStatement{{
			Effect:    "Allow",
			Principal: map[string]string{"Federated": fmt.Sprintf("arn:%s:iam::%s:oidc-provider/%s", o.Partition, o.AccountID, host)},
			Action:    "sts:AssumeRoleWithWebIdentity",
			Condition: map[string]map[string]string{
				"StringEquals": {host + ":aud": o.OrgID},
				"StringLike":   {host + ":sub": o.SubjectPattern()},
			},
		}},
	}, o, nil
}

// JSON renders the policy indented, as pasted into IAM.
func (p *TrustPolicy) JSON() string {
	data, _ := json.MarshalIndent(p, "", "  ")
	return string(data) + "\n"
}

// Mismatch is one reason a token does not satisfy a trust policy.
type Mismatch struct {
	Claim string `json:"claim"`
	Got   string `json:"got"`
	Want  string `json:"want"`
}

// CheckToken reports every way the token's claims fail the policy built from o (no mismatch
// means STS would accept the claims, given a valid signature and an unexpired token).
func CheckToken(o TrustPolicyOptions, c *oidctoken.Claims) ([]Mismatch, error) {
	if _, norm, err := BuildTrustPolicy(o); err != nil {
		return nil, err
	} else {
		o = norm
	}
	var out []Mismatch
	if c.Issuer != o.Issuer {
		out = append(out, Mismatch{"iss", c.Issuer, o.Issuer})
	}
	if !contains(c.Audience, o.OrgID) {
		out = append(out, Mismatch{"aud", strings.Join(c.Audience, ","), o.OrgID})
	}
	if pattern := o.SubjectPattern(); !StringLike(pattern, c.Subject) {
		want := pattern
		if strings.Contains(pattern, "/vcs-origin/") && c.SubjectVersion() == 1 {
			want += " (a v1 token has no vcs-origin/vcs-ref: use $CIRCLE_OIDC_TOKEN_V2)"
		}
		out = append(out, Mismatch{"sub", c.Subject, want})
	}
	return out, nil
}

// StringLike is IAM's StringLike operator (iamcond.StringLike, shared with the STS emulator).
func StringLike(pattern, value string) bool { return iamcond.StringLike(pattern, value) }
