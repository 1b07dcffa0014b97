package ledger_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/ledger"
	"github.com/shipgate/shipgate/helper/internal/registry"
	"github.com/shipgate/shipgate/helper/internal/testpeer/registryserver"
	"github.com/shipgate/shipgate/helper/internal/testpeer/testimage"
)

// dateProxy forwards to a real registry and replaces every answer's Date header.
func dateProxy(t *testing.T, backend string, date time.Time) string {
	target, _ := url.Parse(backend)
	reverse := httputil.NewSingleHostReverseProxy(target)
	reverse.ModifyResponse = func(resp *http.Response) error {
		resp.Header.Set("Date", date.UTC().Format(http.TimeFormat))
		return nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &http.Server{Handler: reverse}
	go func() { _ = s.Serve(l) }()
	t.Cleanup(func() { _ = s.Close() })
	return l.Addr().String()
}

// A registry Date in 1960 or 2300 is a dependency's bad answer (exit 7) with a clear message,
// never an internal error, for writers and readers alike (issue 14, class 7). Variants: the
// year before the plausible range and the stamp range's end.
func TestImplausibleRegistryDatesAreTheRegistrysFault(t *testing.T) {
	server := registryserver.StartT(t, registryserver.Options{})
	digest := testimage.Image(t, server.Repo("team/app:a"), 1)
	// A ledger to read, written with a sane clock.
	direct := ledger.New(registry.New(registry.Options{}), registry.Repository{Registry: server.Host, Path: "team/app"})
	if _, err := direct.Append(context.Background(), ledger.Mark{Env: "production", Digest: digest, Status: ledger.Deployed}); err != nil {
		t.Fatal(err)
	}
	for _, date := range []time.Time{
		time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1999, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2286, 11, 20, 17, 46, 40, 0, time.UTC),
	} {
		host := dateProxy(t, server.URL, date)
		l := ledger.New(registry.New(registry.Options{}), registry.Repository{Registry: host, Path: "team/app"})
		_, err := l.Append(context.Background(), ledger.Mark{Env: "production", Digest: digest, Status: ledger.Good})
		if failure.KindOf(err) != failure.Unavailable || !strings.Contains(err.Error(), date.Format("2006")) {
			t.Errorf("mark with a registry Date of %s: %v (kind %v), want a dependency failure naming the date", date, err, failure.KindOf(err))
		}
		if _, err := l.Current(context.Background(), "production"); failure.KindOf(err) != failure.Unavailable {
			t.Errorf("current with a registry Date of %s: %v, want a dependency failure", date, err)
		}
	}
}
