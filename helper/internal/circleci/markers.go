package circleci

import (
	"regexp"
	"strings"
	"sync"
)

// releaseMarker finds `circleci run release plan|update` (also as an argument array,
// `args=(run release plan …)`) and what follows it on the line.
var releaseMarker = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?:\bcircleci\s+|\(\s*)run\s+release\s+(?:plan|update)\b([^\n;&|)]*)`)
})

// UnnamedReleaseMarkers returns the offsets in a script of each `circleci run release plan`
// or `update` without a deploy name as its first argument. The name defaults to `default`, so
// two deploys planned in one workflow (two environments, or a rollback planned in the same
// job) collide on it, and an update must name the plan it updates (FACTS.md; issue 16
// point 6).
func UnnamedReleaseMarkers(script string) []int {
	var out []int
	for _, loc := range releaseMarker().FindAllStringSubmatchIndex(script, -1) {
		args := strings.Fields(script[loc[2]:loc[3]])
		if len(args) > 0 && !strings.HasPrefix(args[0], "-") && !strings.HasPrefix(args[0], "#") {
			continue
		}
		out = append(out, loc[0])
	}
	return out
}
