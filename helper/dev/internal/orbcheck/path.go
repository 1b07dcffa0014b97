package orbcheck

import "strings"

// path renders a location like jobs.deploy.steps[3].run.
func pathString(parts []string) string {
	var b strings.Builder
	for _, p := range parts {
		if strings.HasPrefix(p, "[") {
			b.WriteString(p)
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return b.String()
}
