package promotion_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/promotion"
	"github.com/shipgate/shipgate/helper/internal/registry"
	"github.com/shipgate/shipgate/helper/internal/testpeer/registryserver"
	"github.com/shipgate/shipgate/helper/internal/testpeer/testimage"
)

// double puts a real distribution registry behind a handler that changes one behaviour, as a
// hosted registry does differently (FACTS "Registry behaviour that a promoter and a tag ledger
// depend on").
func double(t *testing.T, s *registryserver.Server, wrap func(next http.Handler) http.Handler) string {
	t.Helper()
	target, _ := url.Parse(s.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	server := httptest.NewServer(wrap(proxy))
	t.Cleanup(server.Close)
	return strings.TrimPrefix(server.URL, "http://")
}

func isTagPut(r *http.Request) bool {
	return r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/") && !strings.Contains(r.URL.Path, "/manifests/sha256:")
}

// immutableTags refuses a PUT of a tag that exists, even for identical content (Harbor's
// immutability rules answer 412; Quay 409 TAG_IMMUTABLE; ECR ImageTagAlreadyExistsException).
// When dropFirst is set, the first tag PUT is carried out and its answer lost (the connection
// closes), so the client's retry meets the refusal.
func immutableTags(target string, dropFirst bool) func(http.Handler) http.Handler {
	var dropped atomic.Bool
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if isTagPut(r) {
				head, _ := http.NewRequest(http.MethodHead, target+r.URL.Path, nil)
				head.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.index.v1+json")
				if resp, err := http.DefaultClient.Do(head); err == nil {
					resp.Body.Close()
					if resp.StatusCode == http.StatusOK {
						w.WriteHeader(http.StatusPreconditionFailed)
						w.Write([]byte(`{"errors":[{"code":"PRECONDITION","message":"tag is immutable"}]}`))
						return
					}
				}
				if dropFirst && dropped.CompareAndSwap(false, true) {
					rec := httptest.NewRecorder()
					next.ServeHTTP(rec, r)
					conn, _, _ := w.(http.Hijacker).Hijack()
					conn.Close()
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}

// TestImmutableTagRetriedPutSucceeds: the first tag PUT's answer is lost after the registry
// stored it; the retried PUT is refused as immutable; the promotion reads the tag back, finds
// the digest, and succeeds. A re-run succeeds the same way. A tag naming another digest stays
// refused (exit 5).
func TestImmutableTagRetriedPutSucceeds(t *testing.T) {
	s := registryserver.StartT(t, registryserver.Options{})
	digest := testimage.Image(t, s.Repo("app:build"), 2)
	other := testimage.Image(t, s.Repo("app:other"), 1)
	host := double(t, s, immutableTags(s.URL, true))
	client := registry.New(registry.Options{Retry: fastRetry})
	run := func(d v1.Hash) error {
		_, err := promotion.Promote(context.Background(), client, promotion.Options{
			Source:       registry.Reference{Repository: registry.Repository{Registry: host, Path: "app"}, Digest: d},
			Destinations: []registry.Repository{{Registry: host, Path: "prod"}},
			Tags:         []string{"v1"},
		})
		return err
	}
	if err := run(digest); err != nil {
		t.Fatalf("first promotion (answer lost, retry refused): %v", err)
	}
	if got, ok := testimage.Digest(t, s.Repo("prod:v1")); !ok || got != digest {
		t.Fatalf("prod:v1 = %v %v", got, ok)
	}
	if err := run(digest); err != nil {
		t.Fatalf("re-run onto an immutable tag naming the same digest: %v", err)
	}
	if err := run(other); failure.KindOf(err) != failure.Safety {
		t.Fatalf("moving an immutable tag: %v (kind %v), want a safety refusal", err, failure.KindOf(err))
	}
}

// mountsAnswer202 turns every mount into a plain upload start, as ECR without BLOB_MOUNTING and
// Quay without read access to the source do: the POST answers 202 with an upload session.
func mountsAnswer202(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Query().Has("mount") {
			r.URL.RawQuery = ""
		}
		next.ServeHTTP(w, r)
	})
}

// TestMountAnswered202IsCompletedAsAnUpload: the promotion streams each blob into the session
// the refused mount opened, and the destination holds the image.
func TestMountAnswered202IsCompletedAsAnUpload(t *testing.T) {
	s := registryserver.StartT(t, registryserver.Options{})
	digest := testimage.Image(t, s.Repo("app:build"), 3)
	host := double(t, s, mountsAnswer202)
	client := registry.New(registry.Options{})
	res, err := promotion.Promote(context.Background(), client, promotion.Options{
		Source:       registry.Reference{Repository: registry.Repository{Registry: host, Path: "app"}, Digest: digest},
		Destinations: []registry.Repository{{Registry: host, Path: "prod"}},
		Tags:         []string{"v1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range res.Destinations[0].Blobs {
		if b.Action != promotion.BlobCopy {
			t.Errorf("blob %s: %s, want copy (the mount was refused)", b.Digest, b.Action)
		}
	}
	if res.Destinations[0].BytesCopied == 0 {
		t.Error("no bytes reported copied")
	}
	if got, ok := testimage.Digest(t, s.Repo("prod:v1")); !ok || got != digest {
		t.Fatalf("prod:v1 = %v %v", got, ok)
	}
}

// TestDryRunReportsBytesToCopyNotCopied (issue 18.10): a cross-registry dry run moves nothing
// and says so; what it would stream is bytesToCopy.
func TestDryRunReportsBytesToCopyNotCopied(t *testing.T) {
	src := registryserver.StartT(t, registryserver.Options{})
	dst := registryserver.StartT(t, registryserver.Options{})
	digest := testimage.Image(t, src.Repo("app:build"), 2)
	res, err := promotion.Promote(context.Background(), registry.New(registry.Options{}), promotion.Options{
		Source:       registry.Reference{Repository: registry.Repository{Registry: src.Host, Path: "app"}, Digest: digest},
		Destinations: []registry.Repository{{Registry: dst.Host, Path: "prod"}},
		DryRun:       true,
	})
	if err != nil {
		t.Fatal(err)
	}
	d := res.Destinations[0]
	if d.BytesCopied != 0 || d.BytesToCopy == 0 {
		t.Fatalf("dry run: bytesCopied %d, bytesToCopy %d; want 0 and the plan's bytes", d.BytesCopied, d.BytesToCopy)
	}
}

// slowly lets every blob download through at about rate bytes per second.
func slowly(rate int) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
				next.ServeHTTP(&throttled{ResponseWriter: w, rate: rate}, r)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

type throttled struct {
	http.ResponseWriter
	rate int
}

func (t *throttled) Write(b []byte) (int, error) {
	written := 0
	for len(b) > 0 {
		n := min(len(b), t.rate/20)
		m, err := t.ResponseWriter.Write(b[:n])
		written += m
		if err != nil {
			return written, err
		}
		if f, ok := t.ResponseWriter.(http.Flusher); ok {
			f.Flush()
		}
		b = b[n:]
		time.Sleep(50 * time.Millisecond)
	}
	return written, nil
}

// TestProgressIsLineOrientedWithHeartbeatAndSummary (issue 18.2): a slow cross-registry copy
// reports what it copies, each blob and manifest as it finishes, heartbeats with bytes while
// it waits, and a summary; nothing without a Progress writer.
func TestProgressIsLineOrientedWithHeartbeatAndSummary(t *testing.T) {
	src := registryserver.StartT(t, registryserver.Options{})
	dst := registryserver.StartT(t, registryserver.Options{})
	img, err := random.Image(256<<10, 2)
	if err != nil {
		t.Fatal(err)
	}
	digest := testimage.Write(t, src.Repo("app:build"), img)
	host := double(t, src, slowly(512<<10)) // ~1.2 s for the two layers
	var out strings.Builder
	res, err := promotion.Promote(context.Background(), registry.New(registry.Options{}), promotion.Options{
		Source:       registry.Reference{Repository: registry.Repository{Registry: host, Path: "app"}, Digest: digest},
		Destinations: []registry.Repository{{Registry: dst.Host, Path: "prod"}},
		Tags:         []string{"v1"},
		Progress:     &lockedWriter{w: &out}, ProgressInterval: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	text := out.String()
	lines := strings.Split(strings.TrimSpace(text), "\n")
	for _, want := range []string{"copying sha256:", "blobs", "blob 1/3", "blob 3/3", "copied", "still copying ", " streamed",
		"manifest " + digest.String()[:19] + " written as v1", "promoted sha256:", "3 blobs (3 copied, 0 mounted, 0 present)"} {
		if !strings.Contains(text, want) {
			t.Errorf("progress lacks %q:\n%s", want, text)
		}
	}
	for _, line := range lines {
		if !strings.HasPrefix(line, "shipgate: ") || strings.Contains(line, "\r") {
			t.Errorf("not a plain progress line: %q", line)
		}
	}
	if !strings.Contains(lines[len(lines)-1], "promoted") || res.Destinations[0].BytesCopied == 0 {
		t.Errorf("the last line is not the summary: %q", lines[len(lines)-1])
	}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}
