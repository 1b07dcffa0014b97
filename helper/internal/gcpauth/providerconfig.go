package gcpauth

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/shipgate/shipgate/helper/internal/failure"
)

// ProviderConfigOptions describe the CircleCI organisation and projects a provider trusts.
type ProviderConfigOptions struct {
	OrgID      string
	ProjectIDs []string
	// VCSRef, when set, also pins the branch or tag (e.g. refs/heads/main).
	VCSRef string
	// Provider and ServiceAccount, when set, complete the gcloud commands.
	Provider       *Provider
	ServiceAccount string
}

// ProviderConfig is what a workload identity provider needs for CircleCI.
type ProviderConfig struct {
	IssuerURI          string            `json:"issuerUri"`
	AllowedAudiences   []string          `json:"allowedAudiences"`
	AttributeMapping   map[string]string `json:"attributeMapping"`
	AttributeCondition string            `json:"attributeCondition"`
	// Principal is the member to grant roles/iam.workloadIdentityUser (or roles directly).
	Principal string   `json:"principal,omitempty"`
	Commands  []string `json:"gcloud,omitempty"`
}

var circleIDRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`) })

// NewProviderConfig builds the mapping and condition. google.subject maps the token's sub, which
// fits the 127-byte limit only in the v1 form ($CIRCLE_OIDC_TOKEN, what shipgate presents by
// default). The condition pins the organisation and projects so no other CircleCI
// organisation's token (the issuer is per organisation, but audiences are configurable) passes.
func NewProviderConfig(o ProviderConfigOptions) (ProviderConfig, error) {
	if !circleIDRE().MatchString(o.OrgID) {
		return ProviderConfig{}, failure.New(failure.Usage, "--org-id %q: want the CircleCI organisation ID (a UUID, Organization Settings > Overview)", o.OrgID)
	}
	if len(o.ProjectIDs) == 0 {
		return ProviderConfig{}, failure.New(failure.Usage, "--project-id is required: a provider that trusts every project of the organisation lets any of them deploy")
	}
	for _, p := range o.ProjectIDs {
		if !circleIDRE().MatchString(p) {
			return ProviderConfig{}, failure.New(failure.Usage, "--project-id %q: want a CircleCI project ID (a UUID, Project Settings > Overview)", p)
		}
	}
	const prefix = "assertion['oidc.circleci.com/"
	c := ProviderConfig{
		IssuerURI:        "https://oidc.circleci.com/org/" + o.OrgID,
		AllowedAudiences: []string{o.OrgID},
		AttributeMapping: map[string]string{
			"google.subject":       "assertion.sub",
			"attribute.org":        prefix + "org-id']",
			"attribute.project":    prefix + "project-id']",
			"attribute.vcs_origin": prefix + "vcs-origin']",
			"attribute.vcs_ref":    prefix + "vcs-ref']",
		},
	}
	cond := []string{prefix + "org-id'] == " + celString(o.OrgID)}
	if len(o.ProjectIDs) == 1 {
		cond = append(cond, prefix+"project-id'] == "+celString(o.ProjectIDs[0]))
	} else {
		quoted := make([]string, len(o.ProjectIDs))
		for i, p := range o.ProjectIDs {
			quoted[i] = celString(p)
		}
		cond = append(cond, prefix+"project-id'] in ["+strings.Join(quoted, ", ")+"]")
	}
	if o.VCSRef != "" {
		if strings.ContainsAny(o.VCSRef, "\n\r") || len(o.VCSRef) > 256 {
			return ProviderConfig{}, failure.New(failure.Usage, "--vcs-ref %q: want a git ref such as refs/heads/main", o.VCSRef)
		}
		cond = append(cond, prefix+"vcs-ref'] == "+celString(o.VCSRef))
	}
	c.AttributeCondition = strings.Join(cond, " && ")
	if o.Provider != nil {
		p := *o.Provider
		c.Principal = fmt.Sprintf("principalSet://iam.googleapis.com/%s/attribute.project/%s", p.PoolName(), o.ProjectIDs[0])
		c.Commands = append(c.Commands,
			fmt.Sprintf("gcloud iam workload-identity-pools providers create-oidc %s --project=%s --location=global --workload-identity-pool=%s --issuer-uri=%s --allowed-audiences=%s --attribute-mapping=%s --attribute-condition=%s",
				p.ID, p.ProjectNumber, p.Pool, c.IssuerURI, o.OrgID, shellQuote(c.mappingFlag()), shellQuote(c.AttributeCondition)))
		if o.ServiceAccount != "" {
			if err := ValidateServiceAccount(o.ServiceAccount); err != nil {
				return ProviderConfig{}, err
			}
			for _, project := range o.ProjectIDs {
				c.Commands = append(c.Commands, fmt.Sprintf("gcloud iam service-accounts add-iam-policy-binding %s --role=roles/iam.workloadIdentityUser --member=%s",
					o.ServiceAccount, shellQuote(fmt.Sprintf("principalSet://iam.googleapis.com/%s/attribute.project/%s", p.PoolName(), project))))
			}
		}
	}
	return c, nil
}

// mappingFlag renders the mapping as gcloud's --attribute-mapping value (sorted, google.* first).
func (c ProviderConfig) mappingFlag() string {
	keys := make([]string, 0, len(c.AttributeMapping))
	for k := range c.AttributeMapping {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		gi, gj := strings.HasPrefix(keys[i], "google."), strings.HasPrefix(keys[j], "google.")
		if gi != gj {
			return gi
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + c.AttributeMapping[k]
	}
	return strings.Join(parts, ",")
}

// Text renders the configuration for people.
func (c ProviderConfig) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "issuer URI:          %s\n", c.IssuerURI)
	fmt.Fprintf(&b, "allowed audiences:   %s\n", strings.Join(c.AllowedAudiences, ","))
	fmt.Fprintf(&b, "attribute mapping:   %s\n", c.mappingFlag())
	fmt.Fprintf(&b, "attribute condition: %s\n", c.AttributeCondition)
	if c.Principal != "" {
		fmt.Fprintf(&b, "principal:           %s\n", c.Principal)
	}
	for _, cmd := range c.Commands {
		fmt.Fprintf(&b, "\n%s\n", cmd)
	}
	return b.String()
}

// celString quotes s as a CEL string literal.
func celString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
