// Package iamcond holds IAM policy condition operators that both the helper (awsrole, checking a
// token against a trust policy) and the STS emulator (enforcing one) apply: one matcher, so the
// emulator cannot drift from the helper (issue 12 point 9). It imports nothing of shipgate, so
// either side can use it without an import cycle.
package iamcond

// StringLike is IAM's StringLike operator: `*` matches any run of characters (slashes
// included), `?` exactly one, over the whole value, case-sensitively.
func StringLike(pattern, value string) bool {
	p, v := []rune(pattern), []rune(value)
	pi, vi, star, mark := 0, 0, -1, 0
	for vi < len(v) {
		switch {
		// A '*' in the pattern is always a wildcard, also where the value holds a literal '*'
		// (a fuzzing finding: "*" must match "*0").
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, vi
			pi++
		case pi < len(p) && (p[pi] == '?' || p[pi] == v[vi]):
			pi++
			vi++
		case star >= 0:
			pi = star + 1
			mark++
			vi = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
