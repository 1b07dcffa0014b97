// Package registryserver runs a real OCI registry for tests and the demo: the CNCF
// distribution registry v3 (its own `registry` command, pinned in helper/dev/tools/distribution and
// built by testpeer/devtool) or Debian's docker-registry 2.8, each as a process listening on a free
// 127.0.0.1 port with in-memory storage. Running the registry as a process keeps distribution and
// its dependencies out of the shipped module. It is a test peer: the shipgate binary never imports
// it.
package registryserver

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/shipgate/shipgate/helper/internal/testpeer/devtool"
)

// Options configure a registry. The zero value is an anonymous, in-memory registry.
type Options struct {
	// Users maps user names to passwords; when non-empty the registry requires basic auth.
	Users map[string]string
	// RootDir stores blobs and manifests on disk there; empty keeps them in memory.
	RootDir string
	// MaxTags caps how many tags one page of tags/list returns (distribution's default: 1000;
	// docker-registry 2.8 has no such setting and returns every tag).
	MaxTags int
	// Addr is the address to listen on; empty picks a free 127.0.0.1 port.
	Addr string
	// Token, when set, makes the registry require bearer tokens from a token server
	// (distribution's `auth.token`; see testpeer/tokenserver). Users is then ignored.
	Token *TokenAuth
	// NoDelete runs the registry with deletion disabled (distribution's default configuration:
	// every DELETE answers 405 UNSUPPORTED).
	NoDelete bool
}

// TokenAuth is a registry's `auth.token` configuration.
type TokenAuth struct {
	Realm, Service, Issuer string
	// RootCertBundle is a PEM file with the certificate that signs tokens.
	RootCertBundle string
}

// Server is a running registry.
type Server struct {
	// Host is host:port, usable in image references (127.0.0.1:PORT).
	Host string
	// URL is http://Host.
	URL string

	process *exec.Cmd
	exited  chan struct{} // closed when the process has ended
	tempDir string
}

// Start starts the pinned distribution v3 registry (building it on first use).
func Start(opts Options) (*Server, error) {
	binary, err := devtool.Path("distribution")
	if err != nil {
		return nil, err
	}
	return StartExternal(binary, opts)
}

// StartT starts a distribution v3 registry for a test and stops it when the test ends.
func StartT(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// DebianBinary is where Debian's docker-registry package installs the registry.
const DebianBinary = "/usr/bin/docker-registry"

// StartExternal runs a registry binary that reads distribution's configuration format (the
// pinned distribution v3, or Debian's docker-registry 2.8) on a loopback port.
func StartExternal(binary string, opts Options) (*Server, error) {
	if _, err := os.Stat(binary); err != nil {
		return nil, err
	}
	tempDir, err := os.MkdirTemp("", "shipgate-registry-")
	if err != nil {
		return nil, err
	}
	s := &Server{tempDir: tempDir}
	host := opts.Addr
	if host == "" {
		port, err := freePort()
		if err != nil {
			s.Close()
			return nil, err
		}
		host = fmt.Sprintf("127.0.0.1:%d", port)
	}
	s.Host, s.URL = host, "http://"+host
	config, err := s.config(binary, opts)
	if err != nil {
		s.Close()
		return nil, err
	}
	configPath := filepath.Join(tempDir, "config.yml")
	if err := os.WriteFile(configPath, []byte(config), 0o600); err != nil {
		s.Close()
		return nil, err
	}
	var logs strings.Builder
	cmd := exec.Command(binary, "serve", configPath)
	cmd.Stdout, cmd.Stderr = io.Discard, &limitedWriter{b: &logs, left: 4096}
	// The registry dies with the test binary that started it, even when that one is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		s.Close()
		return nil, err
	}
	s.process, s.exited = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); close(s.exited) }()
	if err := s.waitReady(20 * time.Second); err != nil {
		s.Close()
		return nil, fmt.Errorf("%s: %w\n%s", filepath.Base(binary), err, logs.String())
	}
	return s, nil
}

// config renders distribution's configuration file for opts.
func (s *Server) config(binary string, opts Options) (string, error) {
	var b strings.Builder
	b.WriteString("version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n")
	b.WriteString("storage:\n")
	if opts.RootDir != "" {
		fmt.Fprintf(&b, "  filesystem:\n    rootdirectory: %s\n", opts.RootDir)
	} else {
		b.WriteString("  inmemory: {}\n")
	}
	fmt.Fprintf(&b, "  delete:\n    enabled: %t\n  maintenance:\n    uploadpurging:\n      enabled: false\n", !opts.NoDelete)
	fmt.Fprintf(&b, "http:\n  addr: %s\n  secret: shipgate-test-registry\n", s.Host)
	if opts.Token != nil {
		fmt.Fprintf(&b, "auth:\n  token:\n    realm: %s\n    service: %s\n    issuer: %s\n    rootcertbundle: %s\n",
			opts.Token.Realm, opts.Token.Service, opts.Token.Issuer, opts.Token.RootCertBundle)
	} else if len(opts.Users) > 0 {
		path := filepath.Join(s.tempDir, "htpasswd")
		if err := writeHtpasswd(path, opts.Users); err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "auth:\n  htpasswd:\n    realm: shipgate-test\n    path: %s\n", path)
	}
	if opts.MaxTags > 0 && binary != DebianBinary { // 2.8 has no tags section: it returns every tag
		fmt.Fprintf(&b, "tags:\n  maxtags: %d\n", opts.MaxTags)
	}
	return b.String(), nil
}

// limitedWriter keeps the first bytes a registry logs, for the error when it does not start.
type limitedWriter struct {
	b    *strings.Builder
	left int
}

func (w *limitedWriter) Write(p []byte) (int, error) {
	if w.left > 0 {
		n := min(len(p), w.left)
		w.b.Write(p[:n])
		w.left -= n
	}
	return len(p), nil
}

func (s *Server) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			return errors.New("the registry exited")
		default:
		}
		resp, err := http.Get(s.URL + "/v2/")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("registry did not start answering in time")
}

// Close stops the registry and removes its files.
func (s *Server) Close() {
	if s.process != nil {
		_ = s.process.Process.Kill()
		<-s.exited
	}
	if s.tempDir != "" {
		os.RemoveAll(s.tempDir)
	}
}

// Repo returns the reference of a repository on this registry ("127.0.0.1:PORT/name").
func (s *Server) Repo(name string) string {
	return s.Host + "/" + strings.TrimPrefix(name, "/")
}

func writeHtpasswd(path string, users map[string]string) error {
	var b strings.Builder
	for user, password := range users {
		hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s:%s\n", user, hash)
	}
	return os.WriteFile(path, []byte(b.String()), 0o600)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// ForEach runs fn as a subtest against every registry implementation available: the pinned
// distribution v3 registry always, and Debian's docker-registry 2.8 when it is installed.
func ForEach(t *testing.T, opts Options, fn func(t *testing.T, s *Server)) {
	t.Helper()
	t.Run("distribution-v3", func(t *testing.T) { fn(t, StartT(t, opts)) })
	if _, err := os.Stat(DebianBinary); err != nil {
		t.Logf("%s not installed: skipping the docker-registry 2.8 run (apt-get install docker-registry)", DebianBinary)
		return
	}
	t.Run("docker-registry-2.8", func(t *testing.T) {
		s, err := StartExternal(DebianBinary, opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		fn(t, s)
	})
}
