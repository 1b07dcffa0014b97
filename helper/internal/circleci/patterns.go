package circleci

// ReleaseMarkerPattern is the source of the pattern UnnamedReleaseMarkers applies: the policy
// bundle (helper/internal/policy) carries it into Rego so that its SG021 reads scripts with
// the same pattern as lint, not a copy.
func ReleaseMarkerPattern() string { return releaseMarker().String() }
