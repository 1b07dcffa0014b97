package registry

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/shipgate/shipgate/helper/internal/failure"
)

// Repository is a repository on a registry: Registry "host[:port]", Path "team/app".
type Repository struct {
	Registry string
	Path     string
}

func (r Repository) String() string { return r.Registry + "/" + r.Path }

// Digest returns the REPO@DIGEST reference of digest in r.
func (r Repository) Digest(digest v1.Hash) string { return r.String() + "@" + digest.String() }

// Reference is a parsed image reference: a repository and a tag, a digest, or both.
type Reference struct {
	Repository Repository
	Tag        string
	Digest     v1.Hash
}

// HasDigest reports whether the reference pins a digest.
func (r Reference) HasDigest() bool { return r.Digest.Hex != "" }

func (r Reference) String() string {
	s := r.Repository.String()
	if r.Tag != "" {
		s += ":" + r.Tag
	}
	if r.HasDigest() {
		s += "@" + r.Digest.String()
	}
	return s
}

// identifier is what goes after /manifests/: the digest when pinned, else the tag.
func (r Reference) identifier() string {
	if r.HasDigest() {
		return r.Digest.String()
	}
	return r.Tag
}

// ParseReference parses an image reference such as registry.example.com/team/app:1.2,
// 127.0.0.1:5000/app@sha256:…, or app:tag (Docker Hub). A reference without tag or digest
// is refused rather than silently meaning :latest.
func ParseReference(s string) (Reference, error) {
	if strings.TrimSpace(s) != s || s == "" {
		return Reference{}, failure.New(failure.Usage, "image reference %q is empty or has surrounding spaces", s)
	}
	var ref Reference
	rest := s
	if at := strings.LastIndex(s, "@"); at >= 0 {
		d, err := name.NewDigest(s, name.StrictValidation)
		if err != nil {
			// NewDigest accepts REPO[:TAG]@DIGEST only with strict digests; report plainly.
			return Reference{}, failure.Wrap(failure.Usage, err, "parsing image reference %q", s)
		}
		h, err := ParseDigest(d.DigestStr())
		if err != nil {
			return Reference{}, failure.Wrap(failure.Usage, err, "parsing image reference %q", s)
		}
		ref.Digest = h
		rest = s[:at]
	}
	named, err := name.ParseReference(rest, name.WeakValidation)
	if err != nil {
		return Reference{}, failure.Wrap(failure.Usage, err, "parsing image reference %q", s)
	}
	repo := named.Context()
	ref.Repository = Repository{Registry: repo.RegistryStr(), Path: repo.RepositoryStr()}
	if err := validRepository(ref.Repository); err != nil {
		return Reference{}, failure.Wrap(failure.Usage, err, "parsing image reference %q", s)
	}
	if tag, ok := named.(name.Tag); ok && tagExplicit(rest) {
		ref.Tag = tag.TagStr()
		if !ValidTag(ref.Tag) {
			// go-containerregistry's weak validation accepts a leading '-' or '.' (found by
			// FuzzParseReference); the distribution spec does not.
			return Reference{}, failure.New(failure.Usage, "image reference %q: tag %q is not a valid tag ([a-zA-Z0-9_][a-zA-Z0-9._-]{0,127})", s, ref.Tag)
		}
	}
	if ref.Tag == "" && !ref.HasDigest() {
		return Reference{}, failure.New(failure.Usage, "image reference %q names neither a tag nor a digest", s)
	}
	return ref, nil
}

// tagExplicit reports whether s carries a :tag after its last path segment (go-containerregistry
// fills in "latest" otherwise).
func tagExplicit(s string) bool {
	lastSlash := strings.LastIndex(s, "/")
	return strings.Contains(s[lastSlash+1:], ":")
}

// ParseRepository parses a repository reference without tag or digest.
func ParseRepository(s string) (Repository, error) {
	if strings.ContainsAny(s, "@") || tagExplicit(s) {
		return Repository{}, failure.New(failure.Usage, "repository %q must not carry a tag or digest", s)
	}
	repo, err := name.NewRepository(s, name.WeakValidation)
	if err != nil {
		return Repository{}, failure.Wrap(failure.Usage, err, "parsing repository %q", s)
	}
	r := Repository{Registry: repo.RegistryStr(), Path: repo.RepositoryStr()}
	if err := validRepository(r); err != nil {
		return Repository{}, failure.Wrap(failure.Usage, err, "parsing repository %q", s)
	}
	return r, nil
}

// pathComponentRE is the distribution spec's grammar for one component of a repository name.
// go-containerregistry's weak validation lets "." and ".." through (found by
// FuzzParseReference), which would walk out of the /v2/<name>/ URL space. It and registryRE
// are compiled on first use: --version and commands that name no registry never pay for them at
// start-up (issue 15).
var pathComponentRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*$`) })

// registryRE is a host name or bracketed IPv6 address with an optional port. go-containerregistry
// accepts any bytes before a '.' as a registry (FuzzParseRepository found "\x98.").
var registryRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::([0-9]{1,5}))?$`)
})

func validRepository(r Repository) error {
	m := registryRE().FindStringSubmatch(r.Registry)
	if m == nil {
		return fmt.Errorf("registry %q is not a host name or address", r.Registry)
	}
	if m[1] != "" {
		if port, _ := strconv.Atoi(m[1]); port == 0 || port > 65535 {
			return fmt.Errorf("registry %q: port out of range", r.Registry)
		}
	}
	return validPath(r.Path)
}

func validPath(path string) error {
	for _, component := range strings.Split(path, "/") {
		if !pathComponentRE().MatchString(component) {
			return fmt.Errorf("repository path component %q: want lower-case letters and digits, separated by '.', '_', '__' or dashes", component)
		}
	}
	return nil
}

// ParseDigest parses "sha256:<64 lower-case hex>". Other algorithms are refused: shipgate
// verifies every byte it moves against a sha256 digest (FuzzParseDigest found sha512 accepted,
// which would have failed later as a confusing "digest mismatch").
func ParseDigest(s string) (v1.Hash, error) {
	h, err := v1.NewHash(s)
	if err != nil {
		return v1.Hash{}, failure.Wrap(failure.Usage, err, "parsing digest %q", s)
	}
	if h.Algorithm != "sha256" || len(h.Hex) != 64 || strings.Trim(h.Hex, "0123456789abcdef") != "" {
		return v1.Hash{}, failure.New(failure.Usage, "digest %q: want sha256: and 64 lower-case hex digits", s)
	}
	return h, nil
}

// ValidTag reports whether tag matches the distribution grammar [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}.
func ValidTag(tag string) bool {
	if len(tag) == 0 || len(tag) > 128 {
		return false
	}
	for i := 0; i < len(tag); i++ {
		c := tag[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
		if !alnum && (i == 0 || (c != '.' && c != '-')) {
			return false
		}
	}
	return true
}
