package app

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/urfave/cli/v2"

	"github.com/shipgate/shipgate/helper/internal/testpeer/ecrapi"
	"github.com/shipgate/shipgate/helper/internal/testpeer/oidcissuer"
	"github.com/shipgate/shipgate/helper/internal/testpeer/stsemulator"
)

// anonymousKeychain stands in for the keychain a registry command falls back to.
type anonymousKeychain struct{}

func (anonymousKeychain) Resolve(authn.Resource) (authn.Authenticator, error) {
	return authn.Anonymous, nil
}

// runRegistryCommand runs a stand-in registry command that takes awsRegistryFlags and resolves
// refs with awsRegistryKeychain, the way the lead's registry commands will.
func runRegistryCommand(t *testing.T, d deps, env map[string]string, refs []string, args ...string) (map[string]*authn.AuthConfig, bool, string, int) {
	t.Helper()
	got := map[string]*authn.AuthConfig{}
	isNil := false
	var stdout, stderr bytes.Buffer
	s := &streams{stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return env[k] }, deps: d}
	cmd := &cli.Command{Name: "promote-stand-in", Flags: awsRegistryFlags(), Action: func(c *cli.Context) error {
		kc, err := awsRegistryKeychain(c, s)
		if err != nil {
			return err
		}
		if kc == nil {
			isNil = true
			return nil
		}
		for _, ref := range refs {
			r, err := name.ParseReference(ref)
			if err != nil {
				return err
			}
			auth, err := authn.NewMultiKeychain(kc, anonymousKeychain{}).Resolve(r.Context())
			if err != nil {
				return err
			}
			cfg, err := auth.Authorization()
			if err != nil {
				return err
			}
			got[r.Context().RegistryStr()] = cfg
		}
		return nil
	}}
	application := newApp(s)
	application.Commands = []*cli.Command{cmd}
	prepareCommand(cmd, "")
	err := application.RunContext(context.Background(), append([]string{"shipgate", "promote-stand-in"}, args...))
	code := reportError(&stderr, err)
	return got, isNil, stderr.String(), code
}

func TestAWSRegistryKeychain(t *testing.T) {
	t.Parallel()
	e := newAWSEnv(t)
	const (
		src     = "111111111111.dkr.ecr.us-east-1.amazonaws.com"
		dst     = "222222222222.dkr.ecr.eu-west-1.amazonaws.com"
		srcRole = "arn:aws:iam::111111111111:role/read"
		dstRole = "arn:aws:iam::222222222222:role/write"
	)
	for _, arn := range []string{srcRole, dstRole} {
		e.sts.AddRole(stsemulator.Role{ARN: arn, Federated: e.issuer.URL, Aud: testOrg, SubLike: []string{"org/" + testOrg + "/project/" + testProject + "/*"}})
	}
	peer := ecrapi.New("us-east-1", func(r *http.Request, body []byte) (ecrapi.Principal, error) {
		s, err := e.sts.VerifySigV4(r, body, "ecr")
		return ecrapi.Principal{ARN: s.AssumedRoleARN, Account: s.Account}, err
	})
	t.Cleanup(peer.Close)
	env := e.environment(e.mint(t, oidcissuer.Token{}))
	// The ECR API is the local peer: a dependency passed in, not a hidden flag of the binary.
	ecrDeps := e.deps
	ecrDeps.aws.ecrEndpoint = func(string) string { return peer.URL }

	got, isNil, stderr, code := runRegistryCommand(t, ecrDeps, env, []string{src + "/app:1", dst + "/app:1", "ghcr.io/acme/app:1"},
		"--registry-role", src+"="+srcRole, "--registry-role", dst+"="+dstRole,
		"--aws-sts-endpoint", e.sts.URL)
	if code != 0 || isNil {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	grants := peer.Grants()
	if len(grants) != 2 {
		t.Fatalf("grants %+v", grants)
	}
	for _, g := range grants {
		host := map[string]string{"111111111111": src, "222222222222": dst}[g.RegistryID]
		if got[host] == nil || got[host].Username != "AWS" || got[host].Password != g.Password {
			t.Errorf("%s: got %+v, want the password granted to %s", host, got[host], g.Principal.ARN)
		}
		if strings.Contains(stderr, g.Password) {
			t.Error("stderr holds a registry password")
		}
	}
	if cfg := got["ghcr.io"]; cfg == nil || cfg.Password != "" || cfg.Auth != "" {
		t.Errorf("unlisted host got %+v, want anonymous", cfg)
	}

	// Through SHIPGATE_ variables, as the orb passes them.
	env["SHIPGATE_FLAG_REGISTRY_ROLE"] = src + "=" + srcRole
	env["SHIPGATE_FLAG_AWS_STS_ENDPOINT"] = e.sts.URL
	if got, _, stderr, code := runRegistryCommand(t, ecrDeps, env, []string{src + "/app:2"}); code != 0 || got[src] == nil || got[src].Password == "" {
		t.Fatalf("from the environment: exit %d %s", code, stderr)
	}
	delete(env, "SHIPGATE_FLAG_REGISTRY_ROLE")

	if _, isNil, _, code := runRegistryCommand(t, ecrDeps, env, nil); !isNil || code != 0 {
		t.Fatalf("no roles: nil=%v exit %d", isNil, code)
	}
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--registry-role", "ghcr.io=" + srcRole}, 2, "not an ECR registry host"},
		{[]string{"--registry-role", src + "=" + srcRole, "--aws-sts-endpoint", "https://evil.example"}, 2, "neither an AWS STS host nor loopback"},
		{[]string{"--registry-role", src + "=" + srcRole, "--aws-token-env", "A", "--aws-audience", "b"}, 2, "alternatives"},
		{[]string{"--registry-role", src + "=" + dstRole, "--aws-sts-endpoint", e.sts.URL}, 3, "AccessDeniedException"},
	} {
		_, _, stderr, code := runRegistryCommand(t, ecrDeps, env, []string{src + "/app:1"}, tt.args...)
		if code != tt.code || !strings.Contains(stderr, tt.want) {
			t.Errorf("%q: exit %d, want %d with %q: %s", tt.args, code, tt.code, tt.want, stderr)
		}
	}
}
