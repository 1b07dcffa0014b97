// Package devstack runs shipgate's whole local world on 127.0.0.1: a real registry (the
// embedded CNCF distribution registry), a CircleCI-shaped OIDC issuer and an AWS STS emulator
// that verifies its tokens, and one stand-in application service per environment. It also
// implements the stubs put on PATH for what cannot exist locally (docker build and push,
// kubectl, circleci, aws). `make demo` and the orb's end-to-end tests use it.
package devstack

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/shipgate/shipgate/helper/internal/testpeer/oidcissuer"
	"github.com/shipgate/shipgate/helper/internal/testpeer/registryserver"
	"github.com/shipgate/shipgate/helper/internal/testpeer/stsemulator"
)

// OrgID is the CircleCI organisation of the local world.
const OrgID = "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"

// AccountID is the emulated AWS account.
const AccountID = "123456789012"

// Stack is the running local world.
type Stack struct {
	Dir      string
	Registry *registryserver.Server
	Issuer   *oidcissuer.Issuer
	STS      *stsemulator.Emulator
	Apps     map[string]*AppService
	// AdminURL serves the stubs: token minting and deploy-marker recording.
	AdminURL string

	admin    *http.Server
	mu       sync.Mutex
	releases []string
}

// Environments of the local world.
var Environments = []string{"staging", "production"}

// Start starts everything, with state (stubs' log, deploy markers) under dir.
func Start(dir string) (*Stack, error) {
	s := &Stack{Dir: dir, Apps: map[string]*AppService{}}
	var err error
	if s.Registry, err = registryserver.Start(registryserver.Options{}); err != nil {
		return nil, err
	}
	if s.Issuer, err = oidcissuer.New(OrgID); err != nil {
		s.Close()
		return nil, err
	}
	s.STS = stsemulator.New()
	s.STS.AddProvider(stsemulator.Provider{IssuerURL: s.Issuer.URL, ClientIDs: []string{OrgID}})
	for _, env := range append([]string{"build"}, Environments...) {
		s.STS.AddRole(stsemulator.Role{
			ARN:       RoleARN(env),
			Federated: s.Issuer.URL,
			Aud:       OrgID,
			SubLike:   []string{"org/" + OrgID + "/project/*"},
		})
	}
	for _, env := range Environments {
		app, err := startAppService(env)
		if err != nil {
			s.Close()
			return nil, err
		}
		s.Apps[env] = app
	}
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.Close()
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /mint", s.serveMint)
	mux.HandleFunc("POST /release", s.serveRelease)
	s.admin = &http.Server{Handler: mux}
	s.AdminURL = "http://" + listener.Addr().String()
	go func() { _ = s.admin.Serve(listener) }()
	return s, nil
}

// RoleARN is the deploy role of env in the emulated account.
func RoleARN(env string) string {
	return "arn:aws:iam::" + AccountID + ":role/shipgate-deploy-" + env
}

// Close stops everything.
func (s *Stack) Close() {
	if s.admin != nil {
		_ = s.admin.Close()
	}
	for _, a := range s.Apps {
		a.close()
	}
	if s.STS != nil {
		s.STS.Close()
	}
	if s.Issuer != nil {
		s.Issuer.Close()
	}
	if s.Registry != nil {
		s.Registry.Close()
	}
}

// ProjectEnv is the local world's project environment variables (every job sees them, as
// CircleCI project variables): where the registry and the services are.
func (s *Stack) ProjectEnv() map[string]string {
	return map[string]string{
		"REGISTRY": s.Registry.Host,
		// The AWS variant's registry: ECR in the cloud, the local registry here.
		"ECR_REGISTRY": s.Registry.Host,
		// The GCP variant's Artifact Registry repository and workload identity provider.
		"GAR_REPO":            s.Registry.Host + "/app",
		"GCP_PROVIDER":        "projects/123456789012/locations/global/workloadIdentityPools/circleci/providers/acme",
		"GCP_SERVICE_ACCOUNT": "deployer@acme-prod.iam.gserviceaccount.com",
		"REGISTRY_USER":       "local",
		"REGISTRY_TOKEN":      "local-registry-token",
		"STAGING_URL":         s.Apps["staging"].URL,
		"PRODUCTION_URL":      s.Apps["production"].URL,
		"AWS_REGION":          "us-east-1",
		// The STS emulator stands in for sts.us-east-1.amazonaws.com.
		"SHIPGATE_FLAG_STS_ENDPOINT": s.STS.URL,
		// The stand-in services answer at once: shorter smoke-test pacing keeps local runs
		// quick (flags read SHIPGATE_FLAG_<NAME> when the orb does not pass them).
		"SHIPGATE_FLAG_INTERVAL":     "1s",
		"SHIPGATE_FLAG_MAX_FAILURES": "3",
	}
}

// Contexts is the environment each CircleCI context provides in the local world: the deploy
// role of its environment.
func (s *Stack) Contexts() map[string]map[string]string {
	common := s.ProjectEnv()
	contexts := map[string]map[string]string{}
	for _, name := range []string{"staging-deploy", "production-deploy", "build", "aws-build", "gcp-build"} {
		c := map[string]string{}
		for k, v := range common {
			c[k] = v
		}
		contexts[name] = c
	}
	contexts["aws-build"]["BUILD_ROLE_ARN"] = RoleARN("build")
	contexts["staging-deploy"]["DEPLOY_ROLE_ARN"] = RoleARN("staging")
	contexts["production-deploy"]["DEPLOY_ROLE_ARN"] = RoleARN("production")
	return contexts
}

// BaseEnv is the environment every job step sees: the stubs' address and a fresh OIDC token
// source, on top of a minimal PATH-only environment.
func (s *Stack) BaseEnv() []string {
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + filepath.Join(s.Dir, "home"),
		"LANG=C.UTF-8",
		"SHIPGATE_DEVSTACK_ADMIN=" + s.AdminURL,
	}
	for k, v := range s.ProjectEnv() {
		env = append(env, k+"="+v)
	}
	sort.Strings(env[4:])
	return env
}

func (s *Stack) serveMint(w http.ResponseWriter, r *http.Request) {
	t := oidcissuer.Token{Version: 2}
	if aud := r.URL.Query().Get("aud"); aud != "" {
		t.Audience = aud
	}
	if r.URL.Query().Get("version") == "1" {
		t.Version = 1
	}
	if ref := r.URL.Query().Get("ref"); ref != "" {
		t.VCSRef = ref
	}
	token, err := s.Issuer.Mint(t)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	fmt.Fprint(w, token)
}

func (s *Stack) serveRelease(w http.ResponseWriter, r *http.Request) {
	var body struct{ Args []string }
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.releases = append(s.releases, strings.Join(body.Args, " "))
	s.mu.Unlock()
	fmt.Fprintln(w, `{"id":"local-release"}`)
}

// DeployMarkers returns the `circleci run release` calls recorded, in order.
func (s *Stack) DeployMarkers() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.releases...)
}
