// Package registrykinds runs a test against every kind of registry whose behaviour shipgate
// depends on: real registries (CNCF distribution v3, Debian's docker-registry 2.8 when
// installed, go-containerregistry's pkg/registry with the referrers API) and faithful doubles
// of the ones that cannot run here (zot, Amazon ECR, Quay, Harbor before 2.5, distribution
// 3.0.0 and 3.1.0, a registry that ignores paging, one that pages unsorted). A double is an
// HTTP proxy in front of a real distribution registry that answers tags/list the way the
// modelled registry does; every other request reaches the real registry, so a double has no
// referrers API (distribution has none) unless StartOn puts it in front of a registry that has
// one. Each double's doc comment names the behaviour and its source (FACTS.md "Registry
// behaviour…", and the registries' own source where it could be read).
//
// The package knows nothing of the ledger: the referrers track and the ledger suite share it.
// It is a test peer: the shipgate binary never imports it.
package registrykinds

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"

	"github.com/shipgate/shipgate/helper/internal/testpeer/registryserver"
)

// Kind is one running registry of one kind.
type Kind struct {
	// Name identifies the kind in subtest names ("zot", "ecr", ...).
	Name string
	// Host is the host:port clients talk to (the double when there is one).
	Host string
	// Referrers reports whether Host answers the OCI referrers API.
	Referrers bool
	// Behaviour says in one line what this kind does to a tag listing, and where that is from.
	Behaviour string
	// Double is the proxy for a modelled registry, nil for a real one.
	Double *Double
	// Backend is the host:port of the real registry behind a double (Host for a real one): a
	// test can write there what the double would refuse to list.
	Backend string
}

// URL is http://Host.
func (k *Kind) URL() string { return "http://" + k.Host }

// Repo returns a reference to a repository of this registry ("127.0.0.1:PORT/name").
func (k *Kind) Repo(name string) string { return k.Host + "/" + strings.TrimPrefix(name, "/") }

// spec describes a kind before it runs.
type spec struct {
	name      string
	behaviour string
	// list is the double's tags/list; nil for a real registry.
	list  listing
	start func(t testing.TB) *Kind
}

func doubleSpec(name, behaviour string, list listing) spec {
	return spec{name: name, behaviour: behaviour, list: list}
}

// trusted are the kinds on which a correct client gets every answer right.
func trusted() []spec {
	return []spec{
		{name: "distribution-v3", behaviour: "CNCF distribution v3.1.2 (its registry process): sorted, any `last`, Link paging, no referrers API",
			start: startDistribution},
		{name: "docker-registry-2.8", behaviour: "Debian's docker-registry 2.8 (the real binary): no referrers API",
			start: startDebian},
		{name: "ggcr", behaviour: "go-containerregistry pkg/registry with referrers: sorted, any `last`, honours n but sends no Link",
			start: startGGCR},
		doubleSpec("zot", "zot: sorted; a `last` that is not a tag → 404 with an empty body", zotListing),
		doubleSpec("ecr", "Amazon ECR: pages ≤ 1000 (100 by default), n > 1000 → 400, `last` an opaque Link token, non-lexical order", ecrListing),
		doubleSpec("ignores-paging", "ignores n and last, every tag at once, no Link, no referrers API (distribution 2.8 as FACTS.md records it)", ignoresPagingListing),
		doubleSpec("unsorted", "pages in its own (non-lexical) order with Link paging", unsortedListing),
		doubleSpec("distribution-3.0.0", "distribution 3.0.0: a `last` that is not a tag silently skips the next tag", distribution300Listing),
		doubleSpec("quay", "Quay: n capped at 100, any `last`, Link paging", quayListing),
		doubleSpec("distribution-3.1.0", "distribution 3.1.0: n > 1000 → 400 PAGINATION_NUMBER_INVALID", distribution310Listing),
		doubleSpec("harbor-2.4", "Harbor before 2.5: a `last` that is not a tag → 400", harbor24Listing),
	}
}

// untrustworthy are kinds whose listing a correct client must refuse to answer from: it holds
// more than it lets a client read.
func untrustworthy() []spec {
	return []spec{
		doubleSpec("empty-body", "answers tags/list with 200 and an empty body", emptyBodyListing),
		doubleSpec("no-tags-field", "answers tags/list with 200 and a JSON object without a tags field", noTagsFieldListing),
		doubleSpec("link-elsewhere", "announces more tags through a Link to another origin", elsewhereListing),
		doubleSpec("repeats-page", "announces the first page again as the next one", repeatingListing),
		doubleSpec("capped-10000", "Artifact Registry: the listing stops at 10,000 tags", cappedListing(GARListingLimit)),
	}
}

// GARListingLimit is where Artifact Registry's Docker API listing stops being complete
// (FACTS.md "Registry behaviour…", Limits: GAR quota docs).
const GARListingLimit = 10000

// ForEach runs fn as a subtest on every registry kind of trusted behaviour: the real
// registries and the doubles. A kind that cannot run here (docker-registry not installed) is
// logged and skipped.
func ForEach(t *testing.T, fn func(t *testing.T, k *Kind)) {
	t.Helper()
	run(t, trusted(), fn)
}

// ForEachUntrustworthy runs fn on the kinds whose tag listing cannot be trusted (an empty body,
// more announced but unreachable, a listing capped at a known limit): every read there must
// fail closed.
func ForEachUntrustworthy(t *testing.T, fn func(t *testing.T, k *Kind)) {
	t.Helper()
	run(t, untrustworthy(), fn)
}

// Start starts one kind by name (of either list) for a test.
func Start(t testing.TB, name string) *Kind {
	t.Helper()
	for _, s := range append(trusted(), untrustworthy()...) {
		if s.name == name {
			return s.launch(t)
		}
	}
	t.Fatalf("registrykinds: no kind %q", name)
	return nil
}

// StartOn starts the named double in front of backendURL instead of a fresh distribution
// registry: for example zot's or ECR's listing in front of go-containerregistry's registry with
// the referrers API (both have one), when a test needs referrers. referrers says whether the
// double passes the referrers API through (the backend must have it) or answers 404.
func StartOn(t testing.TB, name, backendURL string, referrers bool) *Kind {
	t.Helper()
	for _, s := range append(trusted(), untrustworthy()...) {
		if s.name == name && s.list != nil {
			d := StartDouble(t, backendURL, s.list, referrers)
			u, err := url.Parse(backendURL)
			if err != nil {
				t.Fatal(err)
			}
			return &Kind{Name: s.name, Behaviour: s.behaviour, Host: d.Host, Referrers: referrers, Double: d, Backend: u.Host}
		}
	}
	t.Fatalf("registrykinds: no double %q", name)
	return nil
}

// StartGGCR starts go-containerregistry's in-memory registry with the referrers API (for
// StartOn; fast unit tests only: the standards want a real registry for anything that writes).
func StartGGCR(t testing.TB) *Kind { return startGGCR(t) }

// Names lists every trusted kind's name.
func Names() []string {
	var out []string
	for _, s := range trusted() {
		out = append(out, s.name)
	}
	return out
}

func run(t *testing.T, specs []spec, fn func(t *testing.T, k *Kind)) {
	t.Helper()
	for _, s := range specs {
		t.Run(s.name, func(t *testing.T) {
			fn(t, s.launch(t))
		})
	}
}

func (s spec) launch(t testing.TB) *Kind {
	t.Helper()
	var k *Kind
	if s.start != nil {
		k = s.start(t)
	} else {
		backend := registryserver.StartT(t, registryserver.Options{})
		d := StartDouble(t, backend.URL, s.list, false)
		k = &Kind{Host: d.Host, Double: d, Backend: backend.Host}
	}
	if k.Backend == "" {
		k.Backend = k.Host
	}
	k.Name, k.Behaviour = s.name, s.behaviour
	return k
}

func startDistribution(t testing.TB) *Kind {
	s := registryserver.StartT(t, registryserver.Options{})
	return &Kind{Host: s.Host}
}

func startDebian(t testing.TB) *Kind {
	if _, err := os.Stat(registryserver.DebianBinary); err != nil {
		t.Skipf("%s not installed (apt-get install docker-registry)", registryserver.DebianBinary)
	}
	s, err := registryserver.StartExternal(registryserver.DebianBinary, registryserver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return &Kind{Host: s.Host}
}

func startGGCR(t testing.TB) *Kind {
	s := httptest.NewServer(ggcrregistry.New(ggcrregistry.WithReferrersSupport(true), ggcrregistry.Logger(discardLogger())))
	t.Cleanup(s.Close)
	u, _ := url.Parse(s.URL)
	return &Kind{Host: u.Host, Referrers: true}
}

// Double is a proxy that answers like a modelled registry in front of a real one.
type Double struct {
	// Host is the double's host:port on 127.0.0.1.
	Host string
	// Fillers adds this many synthetic foreign tags ("filler-NNNNNN") to every listing, as if the
	// repository held that many other tags; they resolve to nothing. Set before use.
	Fillers int

	backend *url.URL
	list    listing
}

var tagsPath = regexp.MustCompile(`^/v2/(.+)/tags/list$`)
var referrersPath = regexp.MustCompile(`^/v2/(.+)/referrers/[^/]+$`)

// StartDouble starts a double answering tags/list with list in front of backendURL; without
// referrers it answers the referrers API 404 as registries without it do.
func StartDouble(t testing.TB, backendURL string, list listing, referrers bool) *Double {
	t.Helper()
	backend, err := url.Parse(backendURL)
	if err != nil {
		t.Fatal(err)
	}
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := &Double{Host: listener.Addr().String(), backend: backend, list: list}
	reverse := httputil.NewSingleHostReverseProxy(backend)
	server := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if m := tagsPath.FindStringSubmatch(r.URL.Path); m != nil && r.Method == http.MethodGet {
			d.serveTags(w, r, m[1])
			return
		}
		if referrersPath.MatchString(r.URL.Path) && !referrers {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write(errorBody("NOT_FOUND", "referrers API not supported"))
			return
		}
		reverse.ServeHTTP(w, r)
	})}
	go func() { _ = server.Serve(listener) }()
	t.Cleanup(func() { _ = server.Close() })
	return d
}

// serveTags reads every tag from the real registry, then answers as the modelled one.
func (d *Double) serveTags(w http.ResponseWriter, r *http.Request, repo string) {
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, d.backend.String()+"/v2/"+repo+"/tags/list", nil)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	req.Header = r.Header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if resp.StatusCode != http.StatusOK && !(resp.StatusCode == http.StatusNotFound && d.Fillers > 0) {
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(body)
		return
	}
	var parsed struct {
		Tags []string `json:"tags"`
	}
	_ = json.Unmarshal(body, &parsed)
	all := append(parsed.Tags, fillers(d.Fillers)...)
	sort.Strings(all)
	status, out, link := d.list(repo, all, r.URL.Query())
	if link != "" {
		w.Header().Set("Link", link)
	}
	if out != nil {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	_, _ = io.Copy(w, bytes.NewReader(out))
}

func fillers(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "filler-" + leftPad(i)
	}
	return out
}

func leftPad(i int) string { return fmt.Sprintf("%06d", i) }

func discardLogger() *log.Logger { return log.New(io.Discard, "", 0) }
