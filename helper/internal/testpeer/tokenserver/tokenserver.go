// Package tokenserver is a small Docker token server (the bearer flow of Docker Hub, GHCR,
// Harbor, Quay and GitLab) for tests and benchmarks: a registry configured with
// `auth.token` sends clients here, they present Basic credentials (or none) and the scopes they
// need, and get a signed JWT granting those scopes. It follows distribution's
// docs/spec/auth/token.md (GET realm?service=&scope=..., answer {"token", "access_token"}) and
// signs with ES256 and an `x5c` header holding a self-signed certificate, which both
// distribution v3 (registry/auth/token/token.go verifyCertChain) and docker-registry 2.8 accept
// when the certificate is their `rootcertbundle`. It is a test peer: the shipgate binary never
// imports it.
package tokenserver

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Options configure a token server.
type Options struct {
	// Users maps user names to passwords. Empty: every request, anonymous included, gets
	// every scope it asks for; otherwise only a known user does, and an anonymous one none.
	Users map[string]string
	// Service and Issuer are the names the registry checks; defaults "shipgate-registry" and
	// "shipgate-tokens".
	Service, Issuer string
}

// Server is a running token server.
type Server struct {
	// Realm is the token endpoint's URL (http://localhost:PORT/token: a host name, because
	// go-containerregistry v0.22 refuses a realm at a private or loopback IP literal that is
	// not the registry's own host:port, transport/bearer.go validateRealmURL).
	Realm string
	// Service and Issuer as configured.
	Service, Issuer string
	// CertFile is a PEM file with the signing certificate: the registry's rootcertbundle.
	CertFile string

	opts    Options
	key     *ecdsa.PrivateKey
	certDER []byte
	server  *http.Server
	dir     string

	mu       sync.Mutex
	requests []Request
}

// Request is one token request, as the server saw it.
type Request struct {
	User   string
	Scopes []string
}

// Start starts a token server on a free 127.0.0.1 port.
func Start(opts Options) (*Server, error) {
	if opts.Service == "" {
		opts.Service = "shipgate-registry"
	}
	if opts.Issuer == "" {
		opts.Issuer = "shipgate-tokens"
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	template := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: opts.Issuer},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "shipgate-tokens-")
	if err != nil {
		return nil, err
	}
	certFile := filepath.Join(dir, "token.crt")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return nil, err
	}
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{Realm: fmt.Sprintf("http://localhost:%d/token", listener.Addr().(*net.TCPAddr).Port), Service: opts.Service, Issuer: opts.Issuer,
		CertFile: certFile, opts: opts, key: key, certDER: der, dir: dir}
	s.server = &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.server.Serve(listener) }()
	return s, nil
}

// Close stops the server and removes its files.
func (s *Server) Close() {
	_ = s.server.Close()
	os.RemoveAll(s.dir)
}

// Requests returns the token requests seen since the last Reset.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Reset forgets the requests seen.
func (s *Server) Reset() {
	s.mu.Lock()
	s.requests = nil
	s.mu.Unlock()
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/token" {
		http.NotFound(w, r)
		return
	}
	user, password, hasBasic := r.BasicAuth()
	scopes := r.URL.Query()["scope"]
	s.mu.Lock()
	s.requests = append(s.requests, Request{User: user, Scopes: scopes})
	s.mu.Unlock()
	if hasBasic && len(s.opts.Users) > 0 {
		if want, ok := s.opts.Users[user]; !ok || want != password {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"errors":[{"code":"UNAUTHORIZED","message":"invalid username or password"}]}`)
			return
		}
	}
	granted := len(s.opts.Users) == 0 || hasBasic
	var access []accessEntry
	if granted {
		for _, scope := range scopes {
			// repository:NAME:ACTIONS; NAME may hold no colon for these tests.
			parts := strings.Split(scope, ":")
			if len(parts) != 3 {
				continue
			}
			access = append(access, accessEntry{Type: parts[0], Name: parts[1], Actions: strings.Split(parts[2], ",")})
		}
	}
	token, err := s.sign(user, access)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"token": token, "access_token": token, "expires_in": 300,
		"issued_at": time.Now().UTC().Format(time.RFC3339)})
}

type accessEntry struct {
	Type    string   `json:"type"`
	Name    string   `json:"name"`
	Actions []string `json:"actions"`
}

func (s *Server) sign(subject string, access []accessEntry) (string, error) {
	now := time.Now()
	header, _ := json.Marshal(map[string]any{"typ": "JWT", "alg": "ES256",
		"x5c": []string{base64.StdEncoding.EncodeToString(s.certDER)}})
	jti := make([]byte, 8)
	_, _ = rand.Read(jti)
	claims, _ := json.Marshal(map[string]any{
		"iss": s.Issuer, "sub": subject, "aud": s.Service,
		"exp": now.Add(5 * time.Minute).Unix(), "nbf": now.Add(-time.Minute).Unix(), "iat": now.Unix(),
		"jti": fmt.Sprintf("%x", jti), "access": access,
	})
	enc := base64.RawURLEncoding
	signingInput := enc.EncodeToString(header) + "." + enc.EncodeToString(claims)
	digest := sha256.Sum256([]byte(signingInput))
	r, sig, err := ecdsa.Sign(rand.Reader, s.key, digest[:])
	if err != nil {
		return "", err
	}
	raw := make([]byte, 64)
	r.FillBytes(raw[:32])
	sig.FillBytes(raw[32:])
	return signingInput + "." + enc.EncodeToString(raw), nil
}
