// Package registryserver runs a real OCI registry for tests and the demo: the CNCF
// distribution registry (github.com/distribution/distribution/v3), embedded in-process and
// listening on a free 127.0.0.1 port. It is a test peer: the shipgate binary never imports it.
//
// When Debian's older docker-registry 2.8 is installed, StartExternal runs that binary instead,
// so integration tests can cover both implementations.
package registryserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	"github.com/sirupsen/logrus"
	"golang.org/x/crypto/bcrypt"

	_ "github.com/distribution/distribution/v3/registry/auth/htpasswd"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory"
)

// Options configure a registry. The zero value is an anonymous, in-memory registry.
type Options struct {
	// Users maps user names to passwords; when non-empty the registry requires basic auth.
	Users map[string]string
	// RootDir stores blobs and manifests on disk there; empty keeps them in memory.
	RootDir string
	// MaxTags caps how many tags one page of tags/list returns (distribution's default: 1000).
	MaxTags int
	// Addr is the address to listen on; empty picks a free 127.0.0.1 port.
	Addr string
	// NoDelete runs the registry with deletion disabled (distribution's default configuration:
	// every DELETE answers 405 UNSUPPORTED).
	NoDelete bool
}

// Server is a running registry.
type Server struct {
	// Host is host:port, usable in image references (127.0.0.1:PORT).
	Host string
	// URL is http://Host.
	URL string

	server  *http.Server
	process *exec.Cmd
	tempDir string
}

func init() {
	// distribution logs every request through logrus; keep test output readable.
	logrus.SetOutput(io.Discard)
	logrus.SetLevel(logrus.PanicLevel)
}

// Start starts an embedded distribution registry.
func Start(opts Options) (*Server, error) {
	tempDir, err := os.MkdirTemp("", "shipgate-registry-")
	if err != nil {
		return nil, err
	}
	config := &configuration.Configuration{}
	config.Log.Level = "panic"
	config.Log.AccessLog.Disabled = true
	config.HTTP.Secret = "shipgate-test-registry"
	config.Tags.MaxTags = opts.MaxTags
	if config.Tags.MaxTags <= 0 {
		config.Tags.MaxTags = 1000
	}
	if opts.RootDir != "" {
		config.Storage = configuration.Storage{"filesystem": configuration.Parameters{"rootdirectory": opts.RootDir}}
	} else {
		config.Storage = configuration.Storage{"inmemory": configuration.Parameters{}}
	}
	config.Storage["delete"] = configuration.Parameters{"enabled": !opts.NoDelete}
	config.Storage["maintenance"] = configuration.Parameters{"uploadpurging": map[any]any{"enabled": false}}
	if len(opts.Users) > 0 {
		path := filepath.Join(tempDir, "htpasswd")
		if err := writeHtpasswd(path, opts.Users); err != nil {
			os.RemoveAll(tempDir)
			return nil, err
		}
		config.Auth = configuration.Auth{"htpasswd": configuration.Parameters{"realm": "shipgate-test", "path": path}}
	}
	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	listener, err := net.Listen("tcp", addr)
	if err != nil {
		os.RemoveAll(tempDir)
		return nil, fmt.Errorf("registry: listening on %s: %w", addr, err)
	}
	app := handlers.NewApp(context.Background(), config)
	s := &Server{
		Host:    listener.Addr().String(),
		server:  &http.Server{Handler: app, ReadHeaderTimeout: 10 * time.Second},
		tempDir: tempDir,
	}
	s.URL = "http://" + s.Host
	go func() { _ = s.server.Serve(listener) }()
	return s, nil
}

// StartT starts an embedded registry for a test and stops it when the test ends.
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

// StartExternal runs a registry binary (Debian's docker-registry 2.8, which speaks the same
// configuration format) on a free loopback port with in-memory storage.
func StartExternal(binary string, opts Options) (*Server, error) {
	if _, err := os.Stat(binary); err != nil {
		return nil, err
	}
	tempDir, err := os.MkdirTemp("", "shipgate-registry-")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	host := fmt.Sprintf("127.0.0.1:%d", port)
	var auth string
	if len(opts.Users) > 0 {
		path := filepath.Join(tempDir, "htpasswd")
		if err := writeHtpasswd(path, opts.Users); err != nil {
			return nil, err
		}
		auth = fmt.Sprintf("auth:\n  htpasswd:\n    realm: shipgate-test\n    path: %s\n", path)
	}
	config := fmt.Sprintf("version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"+
		"storage:\n  inmemory: {}\n  delete:\n    enabled: %t\n"+
		"http:\n  addr: %s\n  secret: shipgate-test-registry\n%s", !opts.NoDelete, host, auth)
	configPath := filepath.Join(tempDir, "config.yml")
	if err := os.WriteFile(configPath, []byte(config), 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command(binary, "serve", configPath)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &Server{Host: host, URL: "http://" + host, process: cmd, tempDir: tempDir}
	if err := s.waitReady(10 * time.Second); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Server) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
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
	if s.server != nil {
		_ = s.server.Close()
	}
	if s.process != nil && s.process.Process != nil {
		_ = s.process.Process.Kill()
		_, _ = s.process.Process.Wait()
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

// ForEach runs fn as a subtest against every registry implementation available: the embedded
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
