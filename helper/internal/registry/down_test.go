package registry_test

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/registry"
	"github.com/shipgate/shipgate/helper/internal/testpeer/registryserver"
)

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestARegistryRestartIsWaitedOut (issue 18.5): the registry refuses connections for about two
// seconds (it is restarting), then answers. The read succeeds, and the wait was said once.
func TestARegistryRestartIsWaitedOut(t *testing.T) {
	addr := freeAddr(t)
	var log syncBuffer
	client := registry.New(registry.Options{Log: &log})
	started := make(chan *registryserver.Server, 1)
	go func() {
		time.Sleep(2 * time.Second)
		s, err := registryserver.Start(registryserver.Options{Addr: addr})
		if err != nil {
			t.Error(err)
		}
		started <- s
	}()
	desc, err := client.HeadManifest(context.Background(), registry.Reference{Repository: registry.Repository{Registry: addr, Path: "app"}, Tag: "v1"})
	s := <-started
	if s != nil {
		defer s.Close()
	}
	if err != nil {
		t.Fatalf("after a restart: %v", err)
	}
	if desc != nil {
		t.Fatalf("found %v in an empty registry", desc)
	}
	if n := strings.Count(log.String(), "refused the connection"); n != 1 {
		t.Errorf("said %d times that the registry refused connections, want once:\n%s", n, log.String())
	}
}

// TestADownRegistryIsOneCleanLineWithAHint: connection refused until the retry budget is spent
// gives one line naming the registry, "connection refused" and the bounded retries, with a
// hint; not net/http's `HEAD …: Head "…"` doubling.
func TestADownRegistryIsOneCleanLineWithAHint(t *testing.T) {
	addr := freeAddr(t)
	var log syncBuffer
	policy := registry.RetryPolicy{Attempts: 4, Initial: 10 * time.Millisecond, Max: 50 * time.Millisecond, Budget: 300 * time.Millisecond}
	client := registry.New(registry.Options{Log: &log, Retry: policy})
	_, err := client.HeadManifest(context.Background(), registry.Reference{Repository: registry.Repository{Registry: addr, Path: "app"}, Tag: "v1"})
	if failure.KindOf(err) != failure.Unavailable {
		t.Fatalf("kind %v (%v), want unavailable", failure.KindOf(err), err)
	}
	text := err.Error()
	for _, want := range []string{"registry " + addr + " unreachable", "connection refused", "bounded retries"} {
		if !strings.Contains(text, want) {
			t.Errorf("error %q lacks %q", text, want)
		}
	}
	if strings.Contains(text, `Head "`) || strings.Count(text, addr) != 1 || strings.Contains(text, "\n") {
		t.Errorf("error is not one clean line: %q", text)
	}
	if failure.HintOf(err) == "" {
		t.Error("no hint")
	}
	if n := strings.Count(log.String(), "refused the connection"); n != 1 {
		t.Errorf("said %d times that the registry refused connections, want once:\n%s", n, log.String())
	}
}

// TestASilentRegistryIsReportedWhileWaiting: a registry that accepts connections and never
// answers; every heartbeat names what shipgate waits for, and the stall watchdog ends it.
func TestASilentRegistryIsReportedWhileWaiting(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			defer conn.Close() // held open, never answered
		}
	}()
	var log syncBuffer
	policy := registry.RetryPolicy{Attempts: 2, Initial: time.Millisecond, Max: time.Millisecond, Budget: time.Second, StallTimeout: 500 * time.Millisecond}
	client := registry.New(registry.Options{Log: &log, Retry: policy, Heartbeat: 150 * time.Millisecond})
	host := l.Addr().String()
	_, err = client.GetManifest(context.Background(), registry.Reference{Repository: registry.Repository{Registry: host, Path: "app"}, Tag: "v1"})
	if failure.KindOf(err) != failure.Unavailable {
		t.Fatalf("kind %v (%v), want unavailable", failure.KindOf(err), err)
	}
	want := "waiting for " + host + " to answer GET /v2/app/manifests/v1"
	if n := strings.Count(log.String(), want); n < 2 {
		t.Errorf("%d heartbeats naming the wait (%q), want several:\n%s", n, want, log.String())
	}
}
