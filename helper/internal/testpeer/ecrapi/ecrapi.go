// Package ecrapi is a local endpoint speaking the Amazon ECR API's JSON protocol (awsJson1_1,
// X-Amz-Target AmazonEC2ContainerRegistry_V20150921.*) for GetAuthorizationToken, enough to
// test in-process ECR authentication. Requests must be SigV4-signed with credentials the
// caller's Authorize function accepts (the STS emulator's VerifySigV4), so only assumed-role
// credentials get a registry password.
package ecrapi

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"
)

// Principal is who signed a request: the assumed role's ARN and its account.
type Principal struct {
	ARN     string
	Account string
}

// Authorize checks a signed request (body already read) for the "ecr" service.
type Authorize func(r *http.Request, body []byte) (Principal, error)

// Grant is one authorization token handed out.
type Grant struct {
	Principal  Principal
	RegistryID string
	Password   string
	ExpiresAt  time.Time
}

// Server is a running ECR API endpoint.
type Server struct {
	URL       string
	Region    string
	authorize Authorize
	server    *httptest.Server
	mu        sync.Mutex
	grants    []Grant
	password  string
}

// SetPassword makes every later grant carry password (so a registry started beforehand can
// be configured with it); by default each grant gets a new random password.
func (s *Server) SetPassword(password string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.password = password
}

// New starts an endpoint for region.
func New(region string, authorize Authorize) *Server {
	s := &Server{Region: region, authorize: authorize}
	s.server = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.server.URL
	return s
}

// Close stops the endpoint.
func (s *Server) Close() { s.server.Close() }

// Grants returns the tokens handed out so far.
func (s *Server) Grants() []Grant {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Grant(nil), s.grants...)
}

func writeError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Errortype", typ)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil || r.Method != http.MethodPost {
		writeError(w, 400, "SerializationException", "expected a JSON POST")
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
		writeError(w, 400, "SerializationException", "Content-Type must be application/x-amz-json-1.1")
		return
	}
	target := r.Header.Get("X-Amz-Target")
	if target != "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken" {
		writeError(w, 400, "UnknownOperationException", "unknown operation "+target)
		return
	}
	principal, err := s.authorize(r, body)
	if err != nil {
		writeError(w, 400, "UnrecognizedClientException", "The security token included in the request is invalid.")
		return
	}
	var in struct {
		RegistryIDs []string `json:"registryIds"`
	}
	if len(body) > 0 {
		if err := json.Unmarshal(body, &in); err != nil {
			writeError(w, 400, "SerializationException", "body is not JSON")
			return
		}
	}
	if len(in.RegistryIDs) == 0 {
		in.RegistryIDs = []string{principal.Account}
	}
	var data []map[string]any
	for _, id := range in.RegistryIDs {
		// Each role belongs to its registry's account: another account's registry is refused,
		// as ECR does without a registry policy granting ecr:GetAuthorizationToken.
		if id != principal.Account {
			writeError(w, 400, "AccessDeniedException", "User: "+principal.ARN+" is not authorized to perform: ecr:GetAuthorizationToken on resource: registry "+id)
			return
		}
		b := make([]byte, 24)
		_, _ = rand.Read(b)
		g := Grant{Principal: principal, RegistryID: id, Password: "ecr-" + hex.EncodeToString(b), ExpiresAt: time.Now().Add(12 * time.Hour).Truncate(time.Second)}
		s.mu.Lock()
		if s.password != "" {
			g.Password = s.password
		}
		s.grants = append(s.grants, g)
		s.mu.Unlock()
		data = append(data, map[string]any{
			"authorizationToken": base64.StdEncoding.EncodeToString([]byte("AWS:" + g.Password)),
			"expiresAt":          float64(g.ExpiresAt.Unix()),
			"proxyEndpoint":      "https://" + id + ".dkr.ecr." + s.Region + ".amazonaws.com",
		})
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(map[string]any{"authorizationData": data})
}
