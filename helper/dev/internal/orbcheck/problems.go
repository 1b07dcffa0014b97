package orbcheck

import (
	"fmt"
	"strings"
)

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

// adder returns the function the file-based checks report with: a problem at a file and a
// path inside it.
func adder(problems *[]Problem) func(file, path, rule, format string, args ...any) {
	return func(file, path, rule, format string, args ...any) {
		*problems = append(*problems, Problem{File: file, Path: path, Rule: rule, Message: fmt.Sprintf(format, args...)})
	}
}
