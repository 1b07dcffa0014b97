package registry_test

import (
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/registry"
)

// Seeds: the shapes users type, and the shapes an attacker or a typo produces. The committed
// corpus in testdata/fuzz holds more.
var referenceSeeds = []string{
	"registry.example.com/team/app:1.2",
	"127.0.0.1:5000/app@sha256:" + strings.Repeat("a", 64),
	"127.0.0.1:5000/app:v1@sha256:" + strings.Repeat("b", 64),
	"app:tag",
	"localhost/app:latest",
	"[::1]:5000/app:v1",
	"app",
	"app@sha256:short",
	"app@md5:" + strings.Repeat("a", 32),
	"App/UPPER:tag",
	"registry.example.com/../etc/passwd:x",
	"registry.example.com/app:tag?x=1",
	"registry.example.com/app:tag#frag",
	"registry.example.com/app%2fx:tag",
	"registry.example.com/app:" + strings.Repeat("t", 129),
	" app:tag",
	"app:tag\n",
	"app:ta g",
	"app:-tag",
	"user:pass@registry.example.com/app:tag",
	"registry.example.com:99999/app:tag",
	"",
}

// pathComponent is the distribution grammar for one repository path component.
var pathComponent = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*$`)

// FuzzParseReference: parsing never panics; a refusal is a usage error (exit code 2) that names
// the input; an accepted reference is safe to put into a URL (no whitespace, control
// characters, '?', '#', '%', or dot-dot path components), has a tag or a digest, a valid tag,
// a sha256 digest, and reads back to itself.
func FuzzParseReference(f *testing.F) {
	for _, s := range referenceSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ref, err := registry.ParseReference(s)
		if err != nil {
			if failure.KindOf(err) != failure.Usage {
				t.Fatalf("refusal of %q is %v, want a usage error: %v", s, failure.KindOf(err), err)
			}
			return
		}
		if ref.Tag == "" && !ref.HasDigest() {
			t.Fatalf("%q accepted with neither tag nor digest", s)
		}
		if ref.Tag != "" && !registry.ValidTag(ref.Tag) {
			t.Fatalf("%q accepted with invalid tag %q", s, ref.Tag)
		}
		if ref.HasDigest() && (ref.Digest.Algorithm != "sha256" || len(ref.Digest.Hex) != 64) {
			t.Fatalf("%q accepted with digest %q", s, ref.Digest)
		}
		checkRepository(t, s, ref.Repository)
		again, err := registry.ParseReference(ref.String())
		if err != nil || again != ref {
			t.Fatalf("%q → %q → %+v, %v: not a fixed point", s, ref.String(), again, err)
		}
	})
}

// FuzzParseRepository: a repository never carries a tag or digest, and is URL-safe.
func FuzzParseRepository(f *testing.F) {
	for _, s := range referenceSeeds {
		f.Add(s)
		f.Add(strings.SplitN(s, ":", 2)[0])
	}
	f.Fuzz(func(t *testing.T, s string) {
		repo, err := registry.ParseRepository(s)
		if err != nil {
			if failure.KindOf(err) != failure.Usage {
				t.Fatalf("refusal of %q is %v, want a usage error", s, failure.KindOf(err))
			}
			return
		}
		checkRepository(t, s, repo)
		again, err := registry.ParseRepository(repo.String())
		if err != nil || again != repo {
			t.Fatalf("%q → %q → %+v, %v: not a fixed point", s, repo.String(), again, err)
		}
	})
}

// FuzzParseDigest: an accepted digest is canonical sha256 and prints as it was given.
func FuzzParseDigest(f *testing.F) {
	for _, s := range []string{"sha256:" + strings.Repeat("0", 64), "sha256:" + strings.Repeat("A", 64),
		"sha512:" + strings.Repeat("0", 128), "sha256:", "sha256:" + strings.Repeat("0", 65), "sha256:../../x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := registry.ParseDigest(s)
		if err != nil {
			if failure.KindOf(err) != failure.Usage {
				t.Fatalf("refusal of %q is %v, want a usage error", s, failure.KindOf(err))
			}
			return
		}
		if h.String() != s || h.Algorithm != "sha256" || len(h.Hex) != 64 || strings.Trim(h.Hex, "0123456789abcdef") != "" {
			t.Fatalf("%q accepted as %q", s, h)
		}
	})
}

func checkRepository(t *testing.T, input string, repo registry.Repository) {
	t.Helper()
	if repo.Registry == "" || repo.Path == "" {
		t.Fatalf("%q accepted with an empty registry or path: %+v", input, repo)
	}
	for _, r := range repo.Registry + "/" + repo.Path {
		if unicode.IsSpace(r) || unicode.IsControl(r) || strings.ContainsRune("?#%@\\", r) || r > unicode.MaxASCII {
			t.Fatalf("%q accepted with %q in %q", input, r, repo)
		}
	}
	for _, component := range strings.Split(repo.Path, "/") {
		if !pathComponent.MatchString(component) {
			t.Fatalf("%q accepted with path component %q", input, component)
		}
	}
}

// TestFuzzFindingsAreRefused keeps what the fuzz targets found refused, with exit code 2.
func TestFuzzFindingsAreRefused(t *testing.T) {
	for _, tc := range []struct {
		parse func(string) error
		input string
	}{
		{parseRef, "registry.example.com/../etc/passwd:x"},
		{parseRef, "registry.example.com/team/./app:x"},
		{parseRef, "app:-tag"},
		{parseRef, "app:.tag"},
		{parseRef, "app@sha512:" + strings.Repeat("0", 128)},
		{parseRef, "\x98.x/app:v1"},
		{parseRef, "registry.example.com:0/app:v1"},
		{parseRepo, "registry.example.com/../etc/passwd"},
		{parseRepo, "\x98./0"},
		{parseDigest, "sha512:" + strings.Repeat("0", 128)},
	} {
		err := tc.parse(tc.input)
		if err == nil || failure.KindOf(err) != failure.Usage {
			t.Errorf("%q: %v, want a usage error", tc.input, err)
		}
	}
}

func parseRef(s string) error    { _, err := registry.ParseReference(s); return err }
func parseRepo(s string) error   { _, err := registry.ParseRepository(s); return err }
func parseDigest(s string) error { _, err := registry.ParseDigest(s); return err }
