package registry_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shipgate/shipgate/helper/internal/registry"
	"github.com/shipgate/shipgate/helper/internal/testpeer/faultproxy"
	"github.com/shipgate/shipgate/helper/internal/testpeer/registryserver"
	"github.com/shipgate/shipgate/helper/internal/testpeer/testimage"
)

// fastRetry keeps the default attempt count but shortens every wait, so tests exercise the
// retry paths without sleeping; the stall watchdog is short enough to end injected stalls.
var fastRetry = registry.RetryPolicy{Attempts: 4, Initial: time.Millisecond, Max: 5 * time.Millisecond,
	Budget: time.Second, StallTimeout: 200 * time.Millisecond}

func isManifestGet(r *http.Request) bool {
	return r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/manifests/")
}

// TestEveryFaultOnAManifestReadIsSurvived reads a manifest by tag through a proxy that injects
// one fault of each kind into that read: every read succeeds with the right digest.
func TestEveryFaultOnAManifestReadIsSurvived(t *testing.T) {
	server := registryserver.StartT(t, registryserver.Options{})
	want := testimage.Image(t, server.Repo("app:v1"), 1)
	for _, fault := range faultproxy.All {
		t.Run(string(fault), func(t *testing.T) {
			proxy := faultproxy.StartT(t, faultproxy.Options{Target: server.URL, Rate: 1, Limit: 1,
				Faults: []faultproxy.Fault{fault}, Eligible: isManifestGet, Stall: time.Hour})
			client := registry.New(registry.Options{Retry: fastRetry})
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			m, err := client.GetManifest(ctx, registry.Reference{Repository: registry.Repository{Registry: proxy.Host, Path: "app"}, Tag: "v1"})
			if err != nil {
				t.Fatalf("after one %s: %v", fault, err)
			}
			if m.Digest != want {
				t.Errorf("digest %s, want %s", m.Digest, want)
			}
			if proxy.Injected() != 1 {
				t.Errorf("injected %d faults, want 1: the test did not exercise %s", proxy.Injected(), fault)
			}
		})
	}
}

// TestRetryAfterIsHonouredAndBackoffEndsWithTheContext: a 429 asking for 1s, with a policy
// whose own backoff is at most 5ms, is still waiting when a 300ms deadline passes; the wait
// ends with the context instead of sleeping on.
func TestRetryAfterIsHonouredAndBackoffEndsWithTheContext(t *testing.T) {
	server := registryserver.StartT(t, registryserver.Options{})
	testimage.Image(t, server.Repo("app:v1"), 1)
	proxy := faultproxy.StartT(t, faultproxy.Options{Target: server.URL, Rate: 1, Limit: 1,
		Faults: []faultproxy.Fault{faultproxy.Throttle}, RetryAfter: 1})
	policy := fastRetry
	policy.Max = 10 * time.Second
	client := registry.New(registry.Options{Retry: policy})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := client.HeadManifest(ctx, registry.Reference{Repository: registry.Repository{Registry: proxy.Host, Path: "app"}, Tag: "v1"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want the context's deadline while waiting out Retry-After", err)
	}
	if proxy.Requests() != 1 {
		t.Errorf("%d requests: the retry did not wait for Retry-After", proxy.Requests())
	}
	// Without a deadline the same client gets through once the throttle is over.
	if _, err := client.HeadManifest(context.Background(), registry.Reference{Repository: registry.Repository{Registry: proxy.Host, Path: "app"}, Tag: "v1"}); err != nil {
		t.Fatal(err)
	}
}
