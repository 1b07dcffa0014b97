package promotion_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/promotion"
	"github.com/shipgate/shipgate/helper/internal/registry"
	"github.com/shipgate/shipgate/helper/internal/testpeer/faultproxy"
	"github.com/shipgate/shipgate/helper/internal/testpeer/registryserver"
	"github.com/shipgate/shipgate/helper/internal/testpeer/testimage"
)

// fastRetry keeps the default attempt count but shortens every wait, so tests exercise the
// retry paths without sleeping; the stall watchdog is short enough to end injected stalls.
var fastRetry = registry.RetryPolicy{Attempts: 4, Initial: time.Millisecond, Max: 5 * time.Millisecond,
	Budget: time.Second, StallTimeout: 200 * time.Millisecond}

func isBlobGet(r *http.Request) bool {
	return r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/sha256:")
}

// TestEveryFaultOnABlobCopyIsSurvived promotes across registries (blobs stream through
// shipgate) with one fault of each kind on a blob download: the copy completes and the
// destination, read directly, holds exactly the source digest.
func TestEveryFaultOnABlobCopyIsSurvived(t *testing.T) {
	src := registryserver.StartT(t, registryserver.Options{})
	dst := registryserver.StartT(t, registryserver.Options{})
	digest := testimage.Image(t, src.Repo("app:v1"), 2)
	for _, fault := range faultproxy.All {
		t.Run(string(fault), func(t *testing.T) {
			proxy := faultproxy.StartT(t, faultproxy.Options{Target: src.URL, Rate: 1, Limit: 1,
				Faults: []faultproxy.Fault{fault}, Eligible: isBlobGet, Stall: time.Hour})
			client := registry.New(registry.Options{Retry: fastRetry})
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			dstRepo := registry.Repository{Registry: dst.Host, Path: "copy-" + strings.NewReplacer("+", "-").Replace(string(fault))}
			_, err := promotion.Promote(ctx, client, promotion.Options{
				Source:       registry.Reference{Repository: registry.Repository{Registry: proxy.Host, Path: "app"}, Digest: digest},
				Destinations: []registry.Repository{dstRepo},
				Tags:         []string{"promoted"},
			})
			if err != nil {
				t.Fatalf("after one %s: %v", fault, err)
			}
			got, ok := testimage.Digest(t, dstRepo.String()+":promoted")
			if !ok || got != digest {
				t.Errorf("destination tag: %s (present %v), want %s", got, ok, digest)
			}
			if proxy.Injected() != 1 {
				t.Errorf("injected %d faults, want 1", proxy.Injected())
			}
		})
	}
}

// TestCorruptBlobsAreNeverAccepted keeps tampering with (or truncating) every blob download:
// the promotion fails with a safety or unavailable error, and the destination has neither the
// tag nor the manifest.
func TestCorruptBlobsAreNeverAccepted(t *testing.T) {
	src := registryserver.StartT(t, registryserver.Options{})
	dst := registryserver.StartT(t, registryserver.Options{})
	digest := testimage.Image(t, src.Repo("app:v1"), 1)
	for _, fault := range []faultproxy.Fault{faultproxy.Tamper, faultproxy.Truncate} {
		t.Run(string(fault), func(t *testing.T) {
			proxy := faultproxy.StartT(t, faultproxy.Options{Target: src.URL, Rate: 1,
				Faults: []faultproxy.Fault{fault}, Eligible: isBlobGet})
			client := registry.New(registry.Options{Retry: fastRetry})
			dstRepo := registry.Repository{Registry: dst.Host, Path: "corrupt-" + string(fault)}
			_, err := promotion.Promote(context.Background(), client, promotion.Options{
				Source:       registry.Reference{Repository: registry.Repository{Registry: proxy.Host, Path: "app"}, Digest: digest},
				Destinations: []registry.Repository{dstRepo},
				Tags:         []string{"promoted"},
			})
			if err == nil {
				t.Fatal("promotion with corrupt blobs succeeded")
			}
			if strings.Contains(err.Error(), "_state") {
				t.Errorf("the error names an upload session's state: %v", err)
			}
			if k := failure.KindOf(err); k != failure.Safety && k != failure.Unavailable {
				t.Errorf("error kind %v (%v), want safety or unavailable", k, err)
			}
			if _, ok := testimage.Digest(t, dstRepo.String()+":promoted"); ok {
				t.Error("the destination tag exists on an incomplete image")
			}
			if _, ok := testimage.Digest(t, dstRepo.Digest(digest)); ok {
				t.Error("the destination manifest exists although its blobs never arrived intact")
			}
			if proxy.Injected() < 2 {
				t.Errorf("only %d faults injected: the copy was not retried", proxy.Injected())
			}
		})
	}
}

// TestAStallIsBoundedByTheWatchdog: a registry that stalls every blob download forever makes
// the copy fail (unavailable) once the attempts are spent, instead of hanging.
func TestAStallIsBoundedByTheWatchdog(t *testing.T) {
	src := registryserver.StartT(t, registryserver.Options{})
	dst := registryserver.StartT(t, registryserver.Options{})
	digest := testimage.Image(t, src.Repo("app:v1"), 1)
	for _, fault := range []faultproxy.Fault{faultproxy.StallHeaders, faultproxy.StallBody} {
		t.Run(string(fault), func(t *testing.T) {
			proxy := faultproxy.StartT(t, faultproxy.Options{Target: src.URL, Rate: 1,
				Faults: []faultproxy.Fault{fault}, Eligible: isBlobGet, Stall: time.Hour})
			policy := fastRetry
			policy.Attempts = 2
			policy.StallTimeout = 50 * time.Millisecond
			client := registry.New(registry.Options{Retry: policy})
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			_, err := promotion.Promote(ctx, client, promotion.Options{
				Source:       registry.Reference{Repository: registry.Repository{Registry: proxy.Host, Path: "app"}, Digest: digest},
				Destinations: []registry.Repository{{Registry: dst.Host, Path: "stalled"}},
			})
			if err == nil || ctx.Err() != nil {
				t.Fatalf("error %v (context: %v): want a failure before the test's deadline", err, ctx.Err())
			}
			if failure.KindOf(err) != failure.Unavailable || !strings.Contains(err.Error(), "stalled") {
				t.Errorf("error %v (kind %v), want unavailable naming the stall", err, failure.KindOf(err))
			}
		})
	}
}
