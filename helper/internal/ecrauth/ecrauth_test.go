package ecrauth

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/shipgate/shipgate/helper/internal/awsrole"
	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/testpeer/ecrapi"
	"github.com/shipgate/shipgate/helper/internal/testpeer/oidcissuer"
	"github.com/shipgate/shipgate/helper/internal/testpeer/registryserver"
	"github.com/shipgate/shipgate/helper/internal/testpeer/stsemulator"
)

const (
	staging     = "111111111111.dkr.ecr.us-east-1.amazonaws.com"
	production  = "222222222222.dkr.ecr.eu-west-1.amazonaws.com"
	stagingRole = "arn:aws:iam::111111111111:role/ecr-read"
	prodRole    = "arn:aws:iam::222222222222:role/ecr-write"
	wrongRole   = "arn:aws:iam::111111111111:role/ecr-other"
)

type world struct {
	issuer *oidcissuer.Issuer
	sts    *stsemulator.Emulator
	ecr    map[string]*ecrapi.Server
	token  string
	mints  int
}

func newWorld(t *testing.T) *world {
	t.Helper()
	issuer, err := oidcissuer.New("org1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(issuer.Close)
	emu := stsemulator.New()
	t.Cleanup(emu.Close)
	emu.AddProvider(stsemulator.Provider{IssuerURL: issuer.URL, ClientIDs: []string{"org1"}})
	for _, arn := range []string{stagingRole, prodRole, wrongRole} {
		emu.AddRole(stsemulator.Role{ARN: arn, Federated: issuer.URL, Aud: "org1", SubLike: []string{"org/org1/project/project-1/*"}})
	}
	w := &world{issuer: issuer, sts: emu, ecr: map[string]*ecrapi.Server{}}
	authorize := func(r *http.Request, body []byte) (ecrapi.Principal, error) {
		s, err := emu.VerifySigV4(r, body, "ecr")
		if err != nil {
			return ecrapi.Principal{}, err
		}
		return ecrapi.Principal{ARN: s.AssumedRoleARN, Account: s.Account}, nil
	}
	for _, region := range []string{"us-east-1", "eu-west-1"} {
		srv := ecrapi.New(region, authorize)
		t.Cleanup(srv.Close)
		w.ecr[region] = srv
	}
	w.token, err = issuer.Mint(oidcissuer.Token{})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

type tokenSource struct{ w *world }

func (s tokenSource) Token(context.Context) (string, error) { s.w.mints++; return s.w.token, nil }
func (s tokenSource) Describe() string                      { return "test token" }

func (w *world) keychain(roles map[string]string) *Keychain {
	return New(Options{
		Roles: roles,
		Assume: func(ctx context.Context, role, region string) (awsrole.Credentials, error) {
			res, err := awsrole.Assume(ctx, awsrole.Options{
				RoleARN: role, Region: region, SessionName: "ecr-test", Endpoint: w.sts.URL, Token: tokenSource{w},
				Retry: awsrole.Retry{Attempts: 2, Base: time.Millisecond, Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() }},
			})
			if err != nil {
				return awsrole.Credentials{}, err
			}
			return res.Credentials, nil
		},
		Endpoint: func(region string) string { return w.ecr[region].URL },
	})
}

func resolve(t *testing.T, kc authn.Keychain, ref string) (authn.Authenticator, error) {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	return kc.Resolve(r.Context())
}

func TestKeychainTwoAccounts(t *testing.T) {
	w := newWorld(t)
	kc := w.keychain(map[string]string{staging: stagingRole, production: prodRole})
	for _, tt := range []struct {
		ref, region, role string
	}{
		{staging + "/app:1", "us-east-1", "assumed-role/ecr-read/"},
		{production + "/app@sha256:" + strings.Repeat("a", 64), "eu-west-1", "assumed-role/ecr-write/"},
	} {
		auth, err := resolve(t, kc, tt.ref)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := auth.Authorization()
		if err != nil {
			t.Fatal(err)
		}
		grants := w.ecr[tt.region].Grants()
		if len(grants) != 1 || cfg.Username != "AWS" || cfg.Password != grants[0].Password || !strings.Contains(grants[0].Principal.ARN, tt.role) {
			t.Fatalf("%s: auth %s user %q, grants %+v", tt.ref, auth, cfg.Username, grants)
		}
		if s := fmt.Sprintf("%v %+v %#v", auth, auth, auth); strings.Contains(s, cfg.Password) {
			t.Errorf("authenticator prints its password: %s", s)
		}
	}
	// One OIDC token read per role; a second resolve uses the cache.
	if _, err := resolve(t, kc, staging+"/other:2"); err != nil {
		t.Fatal(err)
	}
	if w.mints != 2 || len(w.ecr["us-east-1"].Grants()) != 1 {
		t.Errorf("token read %d times, %d staging grants; want 2 and 1", w.mints, len(w.ecr["us-east-1"].Grants()))
	}
	// Hosts without a role stay anonymous, so the keychain composes with others.
	auth, err := resolve(t, kc, "ghcr.io/acme/app:1")
	if err != nil || auth != authn.Anonymous {
		t.Fatalf("unlisted host: %v %v", auth, err)
	}
}

func TestKeychainRefusalIsAnError(t *testing.T) {
	w := newWorld(t)
	// The role is in account 111111111111 but the registry is 222222222222's.
	kc := w.keychain(map[string]string{production: wrongRole})
	auth, err := resolve(t, kc, production+"/app:1")
	if err == nil || auth != nil || failure.KindOf(err) != failure.Auth || !strings.Contains(err.Error(), "AccessDeniedException") {
		t.Fatalf("auth %v err %v (kind %v)", auth, err, failure.KindOf(err))
	}
	// A token the trust policy refuses.
	w.token, _ = w.issuer.Mint(oidcissuer.Token{ProjectID: "other"})
	kc = w.keychain(map[string]string{staging: stagingRole})
	if _, err := resolve(t, kc, staging+"/app:1"); err == nil || failure.KindOf(err) != failure.Auth || !strings.Contains(err.Error(), "registry "+staging) {
		t.Fatalf("err %v", err)
	}
}

func TestParseRoles(t *testing.T) {
	roles, err := ParseRoles([]string{staging + "=" + stagingRole, " " + strings.ToUpper(production) + " = " + prodRole})
	if err != nil || roles[staging] != stagingRole || roles[production] != prodRole {
		t.Fatalf("%v %v", roles, err)
	}
	for _, bad := range [][]string{
		{"ghcr.io=" + stagingRole},
		{staging},
		{staging + "=role"},
		{staging + "=" + stagingRole, staging + "=" + prodRole},
		{"111111111111.dkr.ecr.us-east-1.amazonaws.com.evil.example=" + stagingRole},
	} {
		if _, err := ParseRoles(bad); err == nil || failure.KindOf(err) != failure.Usage {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestParseHostAndNote(t *testing.T) {
	for host, want := range map[string]Registry{
		staging: {staging, "111111111111", "us-east-1"},
		"333333333333.dkr.ecr.cn-north-1.amazonaws.com.cn":      {"333333333333.dkr.ecr.cn-north-1.amazonaws.com.cn", "333333333333", "cn-north-1"},
		"444444444444.dkr.ecr-fips.us-gov-west-1.amazonaws.com": {"444444444444.dkr.ecr-fips.us-gov-west-1.amazonaws.com", "444444444444", "us-gov-west-1"},
	} {
		if got, ok := ParseHost(host); !ok || got != want {
			t.Errorf("ParseHost(%q) = %+v, %v", host, got, ok)
		}
	}
	for _, host := range []string{"public.ecr.aws", "1234.dkr.ecr.us-east-1.amazonaws.com", "111111111111.dkr.ecr.us-east-1.amazonaws.com:443"} {
		if _, ok := ParseHost(host); ok {
			t.Errorf("ParseHost(%q) accepted", host)
		}
	}
	if n := CrossRegistryNote(staging, production); !strings.Contains(n, "different accounts (111111111111, 222222222222) and regions (us-east-1, eu-west-1)") {
		t.Errorf("note %q", n)
	}
	if n := CrossRegistryNote(staging, "111111111111.dkr.ecr.eu-west-1.amazonaws.com"); !strings.Contains(n, "different regions") || strings.Contains(n, "accounts") {
		t.Errorf("note %q", n)
	}
	if n := CrossRegistryNote(staging, staging); n != "" {
		t.Errorf("same registry: %q", n)
	}
}

// hostRewriter sends requests for an ECR host to a local registry, as DNS would in production.
type hostRewriter struct{ host string }

func (h hostRewriter) RoundTrip(r *http.Request) (*http.Response, error) {
	original := r.URL.Scheme + "://" + r.URL.Host
	r = r.Clone(r.Context())
	r.URL.Scheme, r.URL.Host, r.Host = "http", h.host, h.host
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil {
		if loc := resp.Header.Get("Location"); strings.HasPrefix(loc, "http://"+h.host) {
			resp.Header.Set("Location", original+strings.TrimPrefix(loc, "http://"+h.host))
		}
	}
	return resp, err
}

// TestKeychainWithRegistry uses the keychain with go-containerregistry against a real
// registry that requires the password ECR granted.
func TestKeychainWithRegistry(t *testing.T) {
	w := newWorld(t)
	w.ecr["us-east-1"].SetPassword("granted-by-ecr")
	reg := registryserver.StartT(t, registryserver.Options{Users: map[string]string{"AWS": "granted-by-ecr"}})
	kc := w.keychain(map[string]string{staging: stagingRole})
	ref, err := name.ParseReference(staging + "/app:1")
	if err != nil {
		t.Fatal(err)
	}
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	opts := []remote.Option{remote.WithAuthFromKeychain(kc), remote.WithTransport(hostRewriter{reg.Host})}
	if err := remote.Write(ref, img, opts...); err != nil {
		t.Fatalf("push with ECR credentials: %v", err)
	}
	if _, err := remote.Head(ref, opts...); err != nil {
		t.Fatalf("head with ECR credentials: %v", err)
	}
	if _, err := remote.Head(ref, remote.WithTransport(hostRewriter{reg.Host})); err == nil {
		t.Fatal("the registry accepted an anonymous request: the test proves nothing")
	}
}
