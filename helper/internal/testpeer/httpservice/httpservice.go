// Package httpservice runs the web services smoke tests are pointed at: real HTTP and HTTPS
// servers on 127.0.0.1 whose behaviour tests script per request (come up late, flap, answer
// slowly or never, redirect, switch versions). It is a test peer: shipgate never imports it.
package httpservice

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Handler answers the n-th request (starting at 1).
type Handler func(n int, w http.ResponseWriter, r *http.Request)

// Service is a running scripted service.
type Service struct {
	// URL is the base URL (http://127.0.0.1:PORT or https://127.0.0.1:PORT).
	URL string

	requests atomic.Int64
	mu       sync.Mutex
	seen     []http.Header
	handler  Handler
	server   *http.Server
	listener net.Listener
	stop     chan struct{}
}

// Requests is how many requests reached the service so far.
func (s *Service) Requests() int { return int(s.requests.Load()) }

// Headers returns the request headers of every request so far.
func (s *Service) Headers() []http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]http.Header(nil), s.seen...)
}

// Stopped is closed when the test ends; handlers that hang wait on it.
func (s *Service) Stopped() <-chan struct{} { return s.stop }

func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := int(s.requests.Add(1))
	s.mu.Lock()
	s.seen = append(s.seen, r.Header.Clone())
	s.mu.Unlock()
	s.handler(n, w, r)
}

// Start runs h on a free 127.0.0.1 port until the test ends.
func Start(t testing.TB, h Handler) *Service {
	t.Helper()
	return start(t, h, nil, "")
}

// StartTLS runs h over HTTPS with a certificate for 127.0.0.1 issued by ca.
func StartTLS(t testing.TB, ca *CA, h Handler) *Service {
	t.Helper()
	return start(t, h, ca, "")
}

// StartLate reserves a port and starts h on it only after delay, so that until then every
// connection is refused: a service that comes up late.
func StartLate(t testing.TB, delay time.Duration, h Handler) *Service {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	s := &Service{URL: "http://" + addr, handler: h, stop: make(chan struct{})}
	done := make(chan struct{})
	timer := time.AfterFunc(delay, func() {
		defer close(done)
		select {
		case <-s.stop:
			return
		default:
		}
		listener, err := net.Listen("tcp", addr)
		if err != nil {
			t.Errorf("late start on %s: %v", addr, err)
			return
		}
		s.serve(listener, nil)
	})
	t.Cleanup(func() {
		close(s.stop)
		if timer.Stop() {
			close(done)
		}
		<-done
		s.close()
	})
	return s
}

func start(t testing.TB, h Handler, ca *CA, addr string) *Service {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	scheme := "http"
	var tlsConfig *tls.Config
	if ca != nil {
		scheme = "https"
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{ca.serverCert(t)}, MinVersion: tls.VersionTLS12}
	}
	s := &Service{URL: scheme + "://" + l.Addr().String(), handler: h, stop: make(chan struct{})}
	s.serve(l, tlsConfig)
	t.Cleanup(func() {
		close(s.stop)
		s.close()
	})
	return s
}

func (s *Service) serve(l net.Listener, tlsConfig *tls.Config) {
	if tlsConfig != nil {
		l = tls.NewListener(l, tlsConfig)
	}
	s.mu.Lock()
	s.listener = l
	s.server = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	server := s.server
	s.mu.Unlock()
	go server.Serve(l)
}

func (s *Service) close() {
	s.mu.Lock()
	server := s.server
	s.mu.Unlock()
	if server != nil {
		server.Close()
	}
}

// Silent listens on a free 127.0.0.1 port and accepts connections but never answers: a
// service that hangs. It returns the base URL.
func Silent(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + l.Addr().String()
}

// CA is a self-signed certificate authority generated for one test.
type CA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	// PEMFile is the CA certificate written as PEM into the test's temporary folder.
	PEMFile string
}

// NewCA generates a CA and writes its certificate to a PEM file.
func NewCA(t testing.TB) *CA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	template := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "shipgate test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return &CA{cert: cert, key: key, PEMFile: path}
}

// serverCert issues a certificate for 127.0.0.1 and localhost.
func (ca *CA) serverCert(t testing.TB) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	template := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, template, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
