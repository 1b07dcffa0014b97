// Package artifact reads and writes release.json: the record of one built artifact (its
// digest, platforms and size, and the source and CircleCI context it was built from) that the
// build job persists to the workspace and every later job promotes by digest.
package artifact

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"

	"github.com/shipgate/shipgate/helper/internal/atomicfile"
	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/inputfile"
)

// SchemaVersion is the release.json format this package writes.
const SchemaVersion = 1

// Release is release.json. Unknown fields of a file read from disk are kept when it is
// written back.
type Release struct {
	SchemaVersion int      `json:"schemaVersion"`
	Image         string   `json:"image"`
	Repository    string   `json:"repository"`
	Digest        string   `json:"digest"`
	MediaType     string   `json:"mediaType"`
	Platforms     []string `json:"platforms,omitempty"`
	// Size is the bytes of every manifest and blob the digest needs.
	Size     int64    `json:"size"`
	Source   Source   `json:"source"`
	Pipeline Pipeline `json:"pipeline"`
	// ResolvedFrom is the tag the digest was resolved from, once.
	ResolvedFrom string `json:"resolvedFrom,omitempty"`
	CreatedAt    string `json:"createdAt,omitempty"`

	unknown map[string]json.RawMessage
}

// Source is where the artifact was built from.
type Source struct {
	Commit        string `json:"commit,omitempty"`
	Tree          string `json:"tree,omitempty"`
	Branch        string `json:"branch,omitempty"`
	Tag           string `json:"tag,omitempty"`
	RepositoryURL string `json:"repositoryUrl,omitempty"`
}

// Pipeline is the CircleCI context of a job.
type Pipeline struct {
	Number     string `json:"number,omitempty"`
	ID         string `json:"id,omitempty"`
	WorkflowID string `json:"workflowId,omitempty"`
	Job        string `json:"job,omitempty"`
	JobURL     string `json:"jobUrl,omitempty"`
	User       string `json:"user,omitempty"`
}

// Version is the release's version for smoke tests: the commit it was built from.
func (r *Release) Version() string { return r.Source.Commit }

// MaxFileSize bounds release.json: a real one is about 1 KiB.
const MaxFileSize = 1 << 20

// Read loads and validates release.json: a regular file of at most MaxFileSize, JSON without
// duplicate keys (encoding/json would keep the last silently), whose image, repository and
// digest agree (issue 14 class 5). Every refusal is a usage error naming the field.
func Read(path string) (*Release, error) {
	if _, err := os.Stat(path); os.IsNotExist(err) {
		return nil, failure.WithHint(failure.New(failure.Usage, "release file %q does not exist", path),
			"the build job writes it with `shipgate record-artifact` and persists it to the workspace; attach the workspace first")
	}
	data, err := inputfile.Read(path, "release file", MaxFileSize)
	if err != nil {
		return nil, err
	}
	if err := checkDuplicateKeys(data); err != nil {
		return nil, failure.Wrap(failure.Usage, err, "release file %q", path)
	}
	var r Release
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, failure.Wrap(failure.Usage, err, "parsing release file %q", path)
	}
	if err := json.Unmarshal(data, &r.unknown); err != nil {
		return nil, failure.Wrap(failure.Usage, err, "parsing release file %q", path)
	}
	for _, known := range []string{"schemaVersion", "image", "repository", "digest", "mediaType", "platforms", "size", "source", "pipeline", "resolvedFrom", "createdAt"} {
		delete(r.unknown, known)
	}
	if r.SchemaVersion != SchemaVersion {
		return nil, failure.New(failure.Usage, "release file %q has schemaVersion %d; this shipgate reads %d", path, r.SchemaVersion, SchemaVersion)
	}
	if r.Repository == "" || r.Digest == "" {
		return nil, failure.New(failure.Usage, "release file %q names no repository or digest", path)
	}
	if err := r.consistent(); err != nil {
		return nil, failure.Wrap(failure.Usage, err, "release file %q", path)
	}
	return &r, nil
}

var digestRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^sha256:[0-9a-f]{64}$`) })

// consistent checks that the fields naming the artifact agree: promote uses repository and
// digest, a reader of the file may well use image.
func (r *Release) consistent() error {
	if !digestRE().MatchString(r.Digest) {
		return fmt.Errorf("field \"digest\" %q: want sha256: and 64 lower-case hex digits", r.Digest)
	}
	if r.Image == "" {
		return nil // written by hand or by an older tool: repository and digest are enough
	}
	repo, digest, ok := strings.Cut(r.Image, "@")
	if !ok {
		return fmt.Errorf("field \"image\" %q is not pinned by digest (REPO@sha256:…)", r.Image)
	}
	if digest != r.Digest {
		return fmt.Errorf("field \"image\" has digest %s but field \"digest\" is %s", digest, r.Digest)
	}
	if repo != r.Repository {
		return fmt.Errorf("field \"image\" names repository %s but field \"repository\" is %s", repo, r.Repository)
	}
	return nil
}

// checkDuplicateKeys walks the JSON token stream and refuses an object that repeats a key,
// naming it with its path (.source.commit).
func checkDuplicateKeys(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	var walk func(path string) error
	walk = func(path string) error {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("parsing: %w", err)
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return fmt.Errorf("parsing: %w", err)
				}
				key, _ := k.(string)
				// encoding/json matches field names case-insensitively: "Digest" after
				// "digest" would silently win as well.
				folded := strings.ToLower(key)
				if seen[folded] {
					return fmt.Errorf("duplicate field %q", path+"."+key)
				}
				seen[folded] = true
				if err := walk(path + "." + key); err != nil {
					return err
				}
			}
			_, err = dec.Token() // '}'
			return err
		case json.Delim('['):
			for i := 0; dec.More(); i++ {
				if err := walk(fmt.Sprintf("%s[%d]", path, i)); err != nil {
					return err
				}
			}
			_, err = dec.Token() // ']'
			return err
		}
		return nil
	}
	return walk("")
}

// Write writes release.json atomically (a temporary file renamed into place), keeping the
// unknown fields of a file that was read.
func Write(path string, r *Release) error {
	r.SchemaVersion = SchemaVersion
	known, err := json.Marshal(r)
	if err != nil {
		return failure.Wrap(failure.Internal, err, "encoding release")
	}
	merged := map[string]json.RawMessage{}
	for k, v := range r.unknown {
		merged[k] = v
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(known, &fields); err != nil {
		return failure.Wrap(failure.Internal, err, "encoding release")
	}
	for k, v := range fields {
		merged[k] = v
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(merged); err != nil {
		return failure.Wrap(failure.Internal, err, "encoding release")
	}
	return atomicfile.Write(path, buf.Bytes(), 0o644)
}

// Context gathers the source and CircleCI context from CIRCLE_* variables and, where they are
// silent, from git in dir.
func Context(getenv func(string) string, dir string) (Source, Pipeline) {
	src := Source{
		Commit:        getenv("CIRCLE_SHA1"),
		Branch:        getenv("CIRCLE_BRANCH"),
		Tag:           getenv("CIRCLE_TAG"),
		RepositoryURL: getenv("CIRCLE_REPOSITORY_URL"),
	}
	if src.Commit == "" {
		src.Commit = git(dir, "rev-parse", "HEAD")
	}
	if src.Commit != "" {
		src.Tree = git(dir, "rev-parse", src.Commit+"^{tree}")
	}
	if src.Branch == "" && src.Tag == "" && src.Commit != "" {
		if branch := git(dir, "rev-parse", "--abbrev-ref", "HEAD"); branch != "HEAD" {
			src.Branch = branch
		}
	}
	// CircleCI has no environment variable for the pipeline number; the orb passes
	// << pipeline.number >> as SHIPGATE_PIPELINE_NUMBER.
	number := getenv("SHIPGATE_PIPELINE_NUMBER")
	if number == "" {
		number = getenv("CIRCLE_PIPELINE_NUMBER")
	}
	p := Pipeline{
		Number:     number,
		ID:         getenv("CIRCLE_PIPELINE_ID"),
		WorkflowID: getenv("CIRCLE_WORKFLOW_ID"),
		Job:        getenv("CIRCLE_JOB"),
		JobURL:     getenv("CIRCLE_BUILD_URL"),
		User:       getenv("CIRCLE_USERNAME"),
	}
	return src, p
}

// git runs a read-only git query; it returns "" when git or the repository is absent.
func git(dir string, args ...string) string {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

var fullSHA = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^([0-9a-f]{40}|[0-9a-f]{64})$`) })

// Override replaces the source fields given explicitly (record-artifact --commit, --tree,
// --branch: a build outside a git checkout, issue 18 point 7). Commit and tree must be full
// SHAs (find matches on them); a tree is looked up with git when only the commit is given and
// git knows it.
func (s *Source) Override(o Source, dir string) error {
	for _, f := range []struct{ name, value string }{{"--commit", o.Commit}, {"--tree", o.Tree}} {
		if f.value != "" && !fullSHA().MatchString(f.value) {
			return failure.New(failure.Usage, "%s %q: want a full SHA (40 or 64 lower-case hex digits)", f.name, f.value)
		}
	}
	if strings.ContainsFunc(o.Branch, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return failure.New(failure.Usage, "--branch %q: a branch name has no spaces or control characters", o.Branch)
	}
	if o.Commit != "" && o.Commit != s.Commit {
		s.Commit, s.Tree = o.Commit, ""
		if o.Tree == "" {
			s.Tree = git(dir, "rev-parse", "--verify", "--quiet", o.Commit+"^{tree}")
		}
	}
	if o.Tree != "" {
		s.Tree = o.Tree
	}
	if o.Branch != "" {
		s.Branch = o.Branch
	}
	return nil
}

// Gaps says what a later `shipgate find` cannot match this source by: no commit (find
// --commit), no tree (find --tree, which branch promotion uses).
func (s Source) Gaps() []string {
	var gaps []string
	if s.Commit == "" {
		gaps = append(gaps, "no source commit: `shipgate find --commit` cannot find this release (pass --commit, or run in a git checkout or with $CIRCLE_SHA1)")
	}
	if s.Tree == "" {
		gaps = append(gaps, "no source tree: `shipgate find --tree` cannot find this release (pass --tree, or run in a git checkout)")
	}
	return gaps
}
