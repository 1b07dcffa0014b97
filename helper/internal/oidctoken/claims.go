package oidctoken

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/shipgate/shipgate/helper/internal/failure"
)

// Claims are the parts of a CircleCI OIDC token shipgate reasons about (FACTS.md §1). They are
// read without verifying the signature: only STS (or another relying party) can do that. They
// help say precisely why a token will be refused before it is sent.
type Claims struct {
	Algorithm string    `json:"-"`
	KeyID     string    `json:"-"`
	Issuer    string    `json:"iss"`
	Subject   string    `json:"sub"`
	Audience  []string  `json:"aud"`
	Expiry    time.Time `json:"exp"`
	IssuedAt  time.Time `json:"iat"`

	// The oidc.circleci.com/* claims.
	OrgID                string   `json:"orgId,omitempty"`
	ProjectID            string   `json:"projectId,omitempty"`
	ContextIDs           []string `json:"contextIds,omitempty"`
	JobID                string   `json:"jobId,omitempty"`
	PipelineID           string   `json:"pipelineId,omitempty"`
	PipelineDefinitionID string   `json:"pipelineDefinitionId,omitempty"`
	WorkflowID           string   `json:"workflowId,omitempty"`
	VCSOrigin            string   `json:"vcsOrigin,omitempty"`
	VCSRef               string   `json:"vcsRef,omitempty"`
	SSHRerun             bool     `json:"sshRerun,omitempty"`
}

// ClaimPrefix prefixes CircleCI's own claims.
const ClaimPrefix = "oidc.circleci.com/"

// maxTokenLength bounds a token before any decoding: CircleCI tokens are about 1–2 KB.
const maxTokenLength = 16 << 10

// Decode splits a compact JWS and decodes its header and claims without checking the
// signature. Errors say which part is wrong and never include the token.
func Decode(token string) (*Claims, error) {
	token = strings.TrimSpace(token)
	if token == "" {
		return nil, failure.New(failure.Usage, "OIDC token is empty")
	}
	if len(token) > maxTokenLength {
		return nil, failure.New(failure.Usage, "OIDC token is not a JWT: %d bytes long", len(token))
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, failure.New(failure.Usage, "OIDC token is not a JWT: %d dot-separated parts, want 3", len(parts))
	}
	var header struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	if err := decodeSegment(parts[0], &header); err != nil {
		return nil, failure.New(failure.Usage, "OIDC token is not a JWT: header: %v", err)
	}
	var raw map[string]json.RawMessage
	if err := decodeSegment(parts[1], &raw); err != nil {
		return nil, failure.New(failure.Usage, "OIDC token is not a JWT: claims: %v", err)
	}
	c := &Claims{Algorithm: header.Alg, KeyID: header.Kid}
	if header.Alg == "" || strings.EqualFold(header.Alg, "none") {
		return c, failure.New(failure.Usage, "OIDC token is unsigned (alg %q): no relying party accepts it", header.Alg)
	}
	if parts[2] == "" {
		return c, failure.New(failure.Usage, "OIDC token is not a JWT: the signature is empty")
	}
	var err error
	str := func(name string, dst *string) {
		if v, ok := raw[name]; ok && err == nil {
			if e := json.Unmarshal(v, dst); e != nil {
				err = fmt.Errorf("claim %q is not a string", name)
			}
		}
	}
	str("iss", &c.Issuer)
	str("sub", &c.Subject)
	str(ClaimPrefix+"org-id", &c.OrgID)
	str(ClaimPrefix+"project-id", &c.ProjectID)
	str(ClaimPrefix+"job-id", &c.JobID)
	str(ClaimPrefix+"pipeline-id", &c.PipelineID)
	str(ClaimPrefix+"pipeline-definition-id", &c.PipelineDefinitionID)
	str(ClaimPrefix+"workflow-id", &c.WorkflowID)
	str(ClaimPrefix+"vcs-origin", &c.VCSOrigin)
	str(ClaimPrefix+"vcs-ref", &c.VCSRef)
	if err == nil {
		c.Audience, err = stringOrArray(raw["aud"], "aud")
	}
	if err == nil {
		if v, ok := raw[ClaimPrefix+"context-ids"]; ok {
			c.ContextIDs, err = stringOrArray(v, ClaimPrefix+"context-ids")
		}
	}
	if err == nil {
		if v, ok := raw[ClaimPrefix+"ssh-rerun"]; ok {
			if e := json.Unmarshal(v, &c.SSHRerun); e != nil {
				err = fmt.Errorf("claim %q is not a boolean", ClaimPrefix+"ssh-rerun")
			}
		}
	}
	if err == nil {
		c.Expiry, err = numericDate(raw["exp"], "exp")
	}
	if err == nil {
		c.IssuedAt, err = numericDate(raw["iat"], "iat")
	}
	if err != nil {
		return c, failure.New(failure.Usage, "OIDC token is malformed: %v", err)
	}
	var missing []string
	for _, m := range []struct {
		name  string
		empty bool
	}{{"iss", c.Issuer == ""}, {"aud", len(c.Audience) == 0}, {"sub", c.Subject == ""}, {"exp", c.Expiry.IsZero()}} {
		if m.empty {
			missing = append(missing, m.name)
		}
	}
	if len(missing) > 0 {
		return c, failure.New(failure.Usage, "OIDC token is malformed: missing %s (%s)", strings.Join(missing, ", "), c.Summary())
	}
	return c, nil
}

// CheckExpiry returns an Auth error naming the expiry when the token has expired at now (or
// will within skew), and nil otherwise.
func (c *Claims) CheckExpiry(now time.Time, skew time.Duration) error {
	if c.Expiry.IsZero() || now.Add(skew).Before(c.Expiry) {
		return nil
	}
	return failure.New(failure.Auth, "OIDC token expired at %s (%s ago; issued %s; %s)",
		c.Expiry.UTC().Format(time.RFC3339), now.Sub(c.Expiry).Round(time.Second), formatTime(c.IssuedAt), c.Summary())
}

// Summary names the token's issuer, audience and subject for messages.
func (c *Claims) Summary() string {
	return fmt.Sprintf("iss %q, aud %q, sub %q", c.Issuer, strings.Join(c.Audience, ","), c.Subject)
}

// SubjectVersion is 2 when sub carries the VCS origin and ref (CIRCLE_OIDC_TOKEN_V2), else 1.
func (c *Claims) SubjectVersion() int {
	if strings.Contains(c.Subject, "/vcs-origin/") {
		return 2
	}
	return 1
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	return t.UTC().Format(time.RFC3339)
}

func decodeSegment(segment string, dst any) error {
	data, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(segment, "="))
	if err != nil {
		return fmt.Errorf("not base64url")
	}
	if err := json.Unmarshal(data, dst); err != nil {
		return fmt.Errorf("not a JSON object")
	}
	return nil
}

func stringOrArray(v json.RawMessage, name string) ([]string, error) {
	if len(v) == 0 || string(v) == "null" {
		return nil, nil
	}
	var one string
	if err := json.Unmarshal(v, &one); err == nil {
		if one == "" {
			return nil, nil
		}
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(v, &many); err != nil {
		return nil, fmt.Errorf("claim %q is neither a string nor an array of strings", name)
	}
	return many, nil
}

func numericDate(v json.RawMessage, name string) (time.Time, error) {
	if len(v) == 0 || string(v) == "null" {
		return time.Time{}, nil
	}
	var f float64
	if err := json.Unmarshal(v, &f); err != nil {
		return time.Time{}, fmt.Errorf("claim %q is not a number", name)
	}
	// Dates beyond year 9999 or before 1970 are nonsense for a token.
	if f < 0 || f > 253402300799 || math.IsNaN(f) {
		return time.Time{}, fmt.Errorf("claim %q is out of range", name)
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
}
