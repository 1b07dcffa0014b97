package circleci

import (
	"slices"
	"sort"
)

// ExampleUsageKeys are the keys of an orb example's `usage` that `circleci orb pack` keeps
// (circleci-cli v0.1.30995; FACTS.md): anything else, `parameters:` included, is dropped
// from the published orb, so an example that needs it does not compile as published.
var ExampleUsageKeys = []string{"version", "setup", "orbs", "jobs", "workflows"}

// PublishedUsage is an example's `usage` as `circleci orb pack` publishes it: only the keys
// in ExampleUsageKeys survive (comments are lost too, since the packer re-serialises). dropped
// lists, sorted, the keys the packer removes.
func PublishedUsage(usage map[string]any) (published map[string]any, dropped []string) {
	published = map[string]any{}
	for k, v := range usage {
		if slices.Contains(ExampleUsageKeys, k) {
			published[k] = v
			continue
		}
		dropped = append(dropped, k)
	}
	sort.Strings(dropped)
	return published, dropped
}
