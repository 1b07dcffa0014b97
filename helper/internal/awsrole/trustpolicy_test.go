package awsrole

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/shipgate/shipgate/helper/internal/oidctoken"
)

func TestBuildTrustPolicy(t *testing.T) {
	tests := []struct {
		o       TrustPolicyOptions
		pattern string
	}{
		{TrustPolicyOptions{AccountID: account, OrgID: "org1", ProjectID: "p1"}, "org/org1/project/p1/user/*"},
		{TrustPolicyOptions{AccountID: account, OrgID: "org1", ProjectID: "p1", Branch: "main"}, "org/org1/project/p1/user/*/vcs-origin/*/vcs-ref/refs/heads/main"},
		{TrustPolicyOptions{AccountID: account, OrgID: "org1", ProjectID: "p1", Branch: "refs/tags/v1", VCSOrigin: "github.com/acme/app"}, "org/org1/project/p1/user/*/vcs-origin/github.com/acme/app/vcs-ref/refs/tags/v1"},
		{TrustPolicyOptions{AccountID: account, OrgID: "org1", ProjectID: "p1", VCSOrigin: "github.com/acme/app"}, "org/org1/project/p1/user/*/vcs-origin/github.com/acme/app/vcs-ref/*"},
	}
	for _, tt := range tests {
		p, _, err := BuildTrustPolicy(tt.o)
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := json.Unmarshal([]byte(p.JSON()), &doc); err != nil {
			t.Fatal(err)
		}
		st := doc["Statement"].([]any)[0].(map[string]any)
		cond := st["Condition"].(map[string]any)
		if got := cond["StringLike"].(map[string]any)["oidc.circleci.com/org/org1:sub"]; got != tt.pattern {
			t.Errorf("sub pattern %v, want %q", got, tt.pattern)
		}
		if got := cond["StringEquals"].(map[string]any)["oidc.circleci.com/org/org1:aud"]; got != "org1" {
			t.Errorf("aud %v", got)
		}
		if got := st["Principal"].(map[string]any)["Federated"]; got != "arn:aws:iam::123456789012:oidc-provider/oidc.circleci.com/org/org1" {
			t.Errorf("principal %v", got)
		}
		if st["Action"] != "sts:AssumeRoleWithWebIdentity" || st["Effect"] != "Allow" {
			t.Errorf("statement %v", st)
		}
	}
	for _, bad := range []TrustPolicyOptions{
		{AccountID: "123", OrgID: "o", ProjectID: "p"},
		{AccountID: account, OrgID: "o/../x", ProjectID: "p"},
		{AccountID: account, OrgID: "o", ProjectID: ""},
		{AccountID: account, OrgID: "o", ProjectID: "p", Branch: "a..b"},
		{AccountID: account, OrgID: "o", ProjectID: "p", VCSOrigin: "not an origin"},
		{AccountID: account, OrgID: "o", ProjectID: "p", Partition: "azure"},
	} {
		if _, _, err := BuildTrustPolicy(bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestCheckToken(t *testing.T) {
	o := TrustPolicyOptions{AccountID: account, OrgID: "org1", ProjectID: "p1", Branch: "main", VCSOrigin: "github.com/acme/app"}
	v2 := "org/org1/project/p1/user/u1/vcs-origin/github.com/acme/app/vcs-ref/refs/heads/main"
	tests := []struct {
		name   string
		claims oidctoken.Claims
		bad    []string
	}{
		{"match", oidctoken.Claims{Issuer: "https://oidc.circleci.com/org/org1", Audience: []string{"org1"}, Subject: v2}, nil},
		{"other branch", oidctoken.Claims{Issuer: "https://oidc.circleci.com/org/org1", Audience: []string{"org1"}, Subject: strings.Replace(v2, "main", "dev", 1)}, []string{"sub"}},
		{"fork", oidctoken.Claims{Issuer: "https://oidc.circleci.com/org/org1", Audience: []string{"org1"}, Subject: strings.Replace(v2, "acme", "mallory", 1)}, []string{"sub"}},
		{"v1 token", oidctoken.Claims{Issuer: "https://oidc.circleci.com/org/org1", Audience: []string{"org1"}, Subject: "org/org1/project/p1/user/u1"}, []string{"sub"}},
		{"everything wrong", oidctoken.Claims{Issuer: "https://example.com", Audience: []string{"sts.amazonaws.com"}, Subject: "x"}, []string{"iss", "aud", "sub"}},
	}
	for _, tt := range tests {
		got, err := CheckToken(o, &tt.claims)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, m := range got {
			names = append(names, m.Claim)
		}
		if strings.Join(names, ",") != strings.Join(tt.bad, ",") {
			t.Errorf("%s: mismatches %v, want %v", tt.name, got, tt.bad)
		}
		if tt.name == "v1 token" && !strings.Contains(got[0].Want, "CIRCLE_OIDC_TOKEN_V2") {
			t.Errorf("v1 mismatch does not explain: %v", got[0])
		}
	}
}

func TestStringLike(t *testing.T) {
	for _, tt := range []struct {
		p, v string
		ok   bool
	}{
		{"a*c", "abbbc", true}, {"a*c", "a/b/c", true}, {"a?c", "abc", true}, {"a?c", "ac", false},
		{"*", "", true}, {"", "", true}, {"", "a", false}, {"abc", "abcd", false}, {"*main", "refs/heads/main", true},
		{"org/*/main", "org/x/dev", false}, {"A*", "a", false}, {"**x", "yx", true},
	} {
		if StringLike(tt.p, tt.v) != tt.ok {
			t.Errorf("StringLike(%q, %q) != %v", tt.p, tt.v, tt.ok)
		}
	}
}
