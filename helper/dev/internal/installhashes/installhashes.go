// Package installhashes writes a helper release's SHA-256 hashes into the orb's install script, so
// the orb itself is the trust anchor: a checksum file downloaded next to the binary would be
// replaced together with it by whoever could replace the binary.
package installhashes

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

const (
	beginMarker = "# BEGIN RELEASE HASHES"
	endMarker   = "# END RELEASE HASHES"
)

var (
	versionRe  = regexp.MustCompile(`^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?$`)
	sha256Re   = regexp.MustCompile(`^[0-9a-f]{64}$`)
	platformRe = regexp.MustCompile(`^(linux|darwin)_(amd64|arm64)$`)
)

// ParseChecksums reads a goreleaser checksums file ("<sha256>  <file>" per line) and returns
// the hash of each binary asset shipgate_<version without v>_<os>_<arch>, keyed "<os>_<arch>".
// Other files (archives, SBOMs) are ignored; a malformed hash or a duplicate is an error.
func ParseChecksums(sums []byte, version string) (map[string]string, error) {
	if !versionRe.MatchString(version) {
		return nil, fmt.Errorf("version %q is not of the form v1.2.3", version)
	}
	prefix := "shipgate_" + strings.TrimPrefix(version, "v") + "_"
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(sums))
	for n := 1; sc.Scan(); n++ {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		if len(fields) != 2 {
			return nil, fmt.Errorf("checksums line %d: want \"<sha256>  <file>\"", n)
		}
		sum, file := fields[0], strings.TrimPrefix(fields[1], "*")
		platform, ok := strings.CutPrefix(file, prefix)
		if !ok || !platformRe.MatchString(platform) {
			continue
		}
		if !sha256Re.MatchString(sum) {
			return nil, fmt.Errorf("checksums line %d: %q is not a lower-case SHA-256", n, sum)
		}
		if _, dup := out[platform]; dup {
			return nil, fmt.Errorf("checksums line %d: second hash for %s", n, file)
		}
		out[platform] = sum
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no binary named %s<os>_<arch> in the checksums file", prefix)
	}
	return out, nil
}

// WriteHashes returns script with the block between the release-hash markers replaced by
// version and table. Every value is validated first, so nothing but a version and hex hashes
// can reach the script.
func WriteHashes(script []byte, version string, table map[string]string) ([]byte, error) {
	if !versionRe.MatchString(version) {
		return nil, fmt.Errorf("version %q is not of the form v1.2.3", version)
	}
	platforms := make([]string, 0, len(table))
	for p, sum := range table {
		if !platformRe.MatchString(p) || !sha256Re.MatchString(sum) {
			return nil, fmt.Errorf("refusing hash entry %q=%q", p, sum)
		}
		platforms = append(platforms, p)
	}
	sort.Strings(platforms)
	text := string(script)
	start := strings.Index(text, beginMarker)
	end := strings.Index(text, endMarker)
	if start < 0 || end < start {
		return nil, fmt.Errorf("the script has no %q ... %q block", beginMarker, endMarker)
	}
	lineStart := strings.LastIndex(text[:start], "\n") + 1
	var b strings.Builder
	b.WriteString(text[:lineStart])
	b.WriteString(beginMarker + ": written by `orbtool hashes` at release time; do not edit by hand.\n")
	fmt.Fprintf(&b, "pinned_version=%q\n", version)
	b.WriteString("pinned_sha256() {\n  case \"$1\" in\n")
	for _, p := range platforms {
		fmt.Fprintf(&b, "    %s) echo %q ;;\n", p, table[p])
	}
	b.WriteString("    *) echo \"\" ;;\n  esac\n}\n")
	b.WriteString(text[end:])
	return []byte(b.String()), nil
}
