package app

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/ledger"
	"github.com/shipgate/shipgate/helper/internal/registry"
)

// Short digests and short commits are what people copy from a terminal (`docker images`,
// `git log --oneline`, the 19-character DIGEST column of `shipgate releases`). They are hinted
// at everywhere, and resolved where the answer is unambiguous and local: a short --digest
// against the ledger being read (rollback), a short --commit/--tree against the local git
// repository (find). Issue 18 point 6.

var shortDigestRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(sha256:)?([0-9a-f]{7,63})$`) })

// shortDigestPrefix returns the hex prefix of a short digest ("sha256:abc1234" or "abc1234"),
// or "" when value is not one.
func shortDigestPrefix(value string) string {
	m := shortDigestRE().FindStringSubmatch(value)
	if m == nil {
		return ""
	}
	return m[2]
}

// withDigestHint adds a hint to a refused reference whose digest part is too short.
func withDigestHint(err error, value string) error {
	if err == nil {
		return nil
	}
	if _, d, ok := strings.Cut(value, "@"); ok && shortDigestPrefix(d) != "" || shortDigestPrefix(value) != "" {
		return failure.WithHint(err, "a digest is sha256: and all 64 hex digits: copy it from release.json or `shipgate releases --output json`")
	}
	return err
}

// resolveShortDigest finds the one digest of env's ledger that starts with prefix.
func resolveShortDigest(ctx context.Context, l *ledger.Ledger, env, prefix string) (v1.Hash, error) {
	history, _, err := l.History(ctx, env, 0)
	if err != nil {
		return v1.Hash{}, err
	}
	seen := map[string]v1.Hash{}
	for _, r := range history {
		if strings.HasPrefix(r.Digest.Hex, prefix) {
			seen[r.Digest.String()] = r.Digest
		}
	}
	switch len(seen) {
	case 1:
		for _, d := range seen {
			return d, nil
		}
	case 0:
		return v1.Hash{}, failure.WithHint(failure.New(failure.NotFound, "no digest of the %s ledger starts with %s", env, prefix),
			"give the full digest (sha256: and 64 hex digits)")
	}
	names := make([]string, 0, len(seen))
	for d := range seen {
		names = append(names, d)
	}
	return v1.Hash{}, failure.New(failure.Usage, "--digest %s is ambiguous in the %s ledger: %s", prefix, env, strings.Join(names, ", "))
}

// parseRollbackDigest reads --digest: a full digest, or a prefix left for resolveShortDigest.
func parseRollbackDigest(value string) (v1.Hash, string, error) {
	d, err := registry.ParseDigest(value)
	if err == nil {
		return d, "", nil
	}
	if prefix := shortDigestPrefix(value); prefix != "" {
		return v1.Hash{}, prefix, nil
	}
	return v1.Hash{}, "", withDigestHint(err, value)
}

var shortSHARE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9a-fA-F]{4,11}$`) })

// expandShortSHA resolves a short commit or tree SHA (kind "commit" or "tree") with the local
// git repository; it returns value unchanged when it is not short or git cannot resolve it
// uniquely (the caller's own validation then says what is wrong, with a hint).
func expandShortSHA(ctx context.Context, value, kind string) (string, bool) {
	if !shortSHARE().MatchString(value) {
		return value, false
	}
	out, err := exec.CommandContext(ctx, "git", "rev-parse", "--verify", "--quiet", "--end-of-options", value+"^{"+kind+"}").Output()
	full := strings.TrimSpace(string(out))
	if err != nil || len(full) < 40 {
		return value, false
	}
	return full, true
}

// shortSHAHint explains a refused short SHA.
func shortSHAHint(err error, flag, value string) error {
	if err == nil || !shortSHARE().MatchString(value) {
		return err
	}
	return failure.WithHint(err, fmt.Sprintf("give the full SHA (git rev-parse %s), or run where git can resolve %s", value, flag))
}
