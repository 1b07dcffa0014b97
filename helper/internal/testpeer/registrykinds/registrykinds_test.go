package registrykinds_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/shipgate/shipgate/helper/internal/testpeer/registrykinds"
	"github.com/shipgate/shipgate/helper/internal/testpeer/testimage"
)

// seed pushes one image tagged t00 … t(n-1) (written in reverse so no registry sees them in
// order by accident).
func seed(t *testing.T, k *registrykinds.Kind, n int) []string {
	t.Helper()
	testimage.Image(t, k.Repo("kinds/app:base"), 1)
	desc, err := remote.Get(mustRef(t, k.Repo("kinds/app:base")))
	if err != nil {
		t.Fatal(err)
	}
	tags := []string{"base"}
	for i := n - 1; i >= 0; i-- {
		tag := fmt.Sprintf("t%02d", i)
		if err := remote.Tag(mustRef(t, k.Repo("kinds/app:"+tag)).(name.Tag), desc); err != nil {
			t.Fatal(err)
		}
		tags = append(tags, tag)
	}
	sort.Strings(tags)
	return tags
}

func mustRef(t *testing.T, s string) name.Reference {
	r, err := name.ParseReference(s, name.WeakValidation)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

type answer struct {
	status int
	body   string
	tags   []string
	link   string
}

func list(t *testing.T, k *registrykinds.Kind, query string) answer {
	t.Helper()
	resp, err := http.Get(k.URL() + "/v2/kinds/app/tags/list" + query)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, body: string(body), link: resp.Header.Get("Link")}
	var parsed struct {
		Tags []string `json:"tags"`
	}
	if json.Unmarshal(body, &parsed) == nil {
		a.tags = parsed.Tags
	}
	return a
}

// Each double answers as its doc comment says; a double that drifted would make the ledger
// suite pass for the wrong reason.
func TestDoublesBehaveAsDocumented(t *testing.T) {
	check := map[string]func(t *testing.T, k *registrykinds.Kind, all []string){
		"zot": func(t *testing.T, k *registrykinds.Kind, all []string) {
			if a := list(t, k, "?n=2&last=t00x"); a.status != 404 || a.body != "" {
				t.Fatalf("last not a tag: %d %q", a.status, a.body)
			}
			a := list(t, k, "?n=2&last=t01")
			if a.status != 200 || strings.Join(a.tags, ",") != "t02,t03" || !strings.Contains(a.link, "last=t03") {
				t.Fatalf("last a tag: %+v", a)
			}
		},
		"distribution-3.0.0": func(t *testing.T, k *registrykinds.Kind, all []string) {
			if a := list(t, k, "?n=2&last=t01x"); strings.Join(a.tags, ",") != "t03,t04" {
				t.Fatalf("last not a tag must skip t02: %+v", a)
			}
			if a := list(t, k, "?n=2&last=t01"); strings.Join(a.tags, ",") != "t02,t03" {
				t.Fatalf("last a tag: %+v", a)
			}
		},
		"ecr": func(t *testing.T, k *registrykinds.Kind, all []string) {
			if a := list(t, k, "?n=1001"); a.status != 400 {
				t.Fatalf("n=1001: %+v", a)
			}
			if a := list(t, k, "?last=t01"); a.status != 400 {
				t.Fatalf("a tag as last: %+v", a)
			}
			a := list(t, k, "?n=4")
			if len(a.tags) != 4 || sort.StringsAreSorted(a.tags) || a.link == "" {
				t.Fatalf("first page: %+v", a)
			}
			var got []string
			for q := "?n=4"; ; {
				a := list(t, k, q)
				got = append(got, a.tags...)
				if a.link == "" {
					break
				}
				q = "?" + strings.SplitN(strings.Trim(strings.Split(a.link, ";")[0], "<>"), "?", 2)[1]
			}
			sort.Strings(got)
			if strings.Join(got, ",") != strings.Join(all, ",") {
				t.Fatalf("Link paging gave %v, want %v", got, all)
			}
		},
		"ignores-paging": func(t *testing.T, k *registrykinds.Kind, all []string) {
			if a := list(t, k, "?n=1&last=t05"); len(a.tags) != len(all) || a.link != "" {
				t.Fatalf("%+v", a)
			}
			if resp, _ := http.Get(k.URL() + "/v2/kinds/app/referrers/sha256:" + strings.Repeat("0", 64)); resp == nil || resp.StatusCode != 404 {
				t.Fatal("referrers API answered")
			}
		},
		"unsorted": func(t *testing.T, k *registrykinds.Kind, all []string) {
			if a := list(t, k, "?n=5"); sort.StringsAreSorted(a.tags) || a.link == "" {
				t.Fatalf("%+v", a)
			}
		},
		"distribution-3.1.0": func(t *testing.T, k *registrykinds.Kind, all []string) {
			if a := list(t, k, "?n=1001"); a.status != 400 || !strings.Contains(a.body, "PAGINATION_NUMBER_INVALID") {
				t.Fatalf("n=1001: %+v", a)
			}
			if a := list(t, k, "?n=2&last=t01x"); strings.Join(a.tags, ",") != "t02,t03" {
				t.Fatalf("any last: %+v", a)
			}
		},
		"harbor-2.4": func(t *testing.T, k *registrykinds.Kind, all []string) {
			if a := list(t, k, "?n=2&last=t01x"); a.status != 400 {
				t.Fatalf("last not a tag: %+v", a)
			}
			if a := list(t, k, "?n=2&last=t01"); strings.Join(a.tags, ",") != "t02,t03" {
				t.Fatalf("last a tag: %+v", a)
			}
		},
		"quay": func(t *testing.T, k *registrykinds.Kind, all []string) {
			if a := list(t, k, "?n=2&last=t01x"); strings.Join(a.tags, ",") != "t02,t03" {
				t.Fatalf("any last: %+v", a)
			}
		},
	}
	registrykinds.ForEach(t, func(t *testing.T, k *registrykinds.Kind) {
		all := seed(t, k, 12)
		if c := check[k.Name]; c != nil {
			c(t, k, all)
		}
	})
}

func TestQuayCapsPagesAt100(t *testing.T) {
	k := registrykinds.Start(t, "quay")
	seed(t, k, 1)
	k.Double.Fillers = 150
	if a := list(t, k, "?n=500"); len(a.tags) != 100 || a.link == "" {
		t.Fatalf("got %d tags, link %q", len(a.tags), a.link)
	}
}

func TestUntrustworthyListings(t *testing.T) {
	registrykinds.ForEachUntrustworthy(t, func(t *testing.T, k *registrykinds.Kind) {
		seed(t, k, 3)
		switch k.Name {
		case "empty-body":
			if a := list(t, k, ""); a.status != 200 || a.body != "" {
				t.Fatalf("%+v", a)
			}
		case "link-elsewhere":
			if a := list(t, k, "?n=2"); !strings.HasPrefix(a.link, "<http://127.0.0.2:9/") {
				t.Fatalf("%+v", a)
			}
		case "repeats-page":
			a := list(t, k, "?n=2")
			b := list(t, k, "?"+strings.SplitN(strings.Trim(strings.Split(a.link, ";")[0], "<>"), "?", 2)[1])
			if a.link == "" || strings.Join(a.tags, ",") != strings.Join(b.tags, ",") {
				t.Fatalf("%+v then %+v", a, b)
			}
		case "capped-10000":
			k.Double.Fillers = registrykinds.GARListingLimit
			a := list(t, k, "")
			// base and 9,999 fillers: the application's own tags t00… fall past the limit.
			if len(a.tags) != registrykinds.GARListingLimit || a.tags[len(a.tags)-1] != "filler-009998" {
				t.Fatalf("got %d tags", len(a.tags))
			}
		}
	})
}

// A double in front of a registry with the referrers API passes it through.
func TestDoubleInFrontOfAReferrersRegistry(t *testing.T) {
	backend := registrykinds.StartGGCR(t)
	k := registrykinds.StartOn(t, "zot", backend.URL(), true)
	all := seed(t, k, 3)
	if a := list(t, k, "?last=nope"); a.status != 404 {
		t.Fatalf("zot's listing lost: %+v", a)
	}
	digest := strings.TrimSpace(headDigest(t, k.URL()+"/v2/kinds/app/manifests/base"))
	resp, err := http.Get(k.URL() + "/v2/kinds/app/referrers/" + digest)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("referrers API not passed through: %v %v (tags %v)", resp, err, all)
	}
	resp.Body.Close()
}

func headDigest(t *testing.T, u string) string {
	req, _ := http.NewRequest(http.MethodHead, u, nil)
	req.Header.Set("Accept", "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.Header.Get("Docker-Content-Digest")
}
