package lint

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// Disable comments: `# shipgate-lint: disable=…` for a job, `disable-file=…` for the file.

// scope is a part of the file a job-level disable applies to: a workflow entry or a job
// definition, with its leading comment lines.
type scope struct {
	job         string
	first, last int
}

var directivePattern = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`#\s*shipgate-lint:\s*(disable-file|disable)\s*=\s*([A-Za-z0-9_,\s]*)`)
})

// readDirectives collects `# shipgate-lint: disable=SG003,SG012` (the job the comment is in or
// directly above) and `# shipgate-lint: disable-file=SG011` (the whole file) comments.
func (l *linter) readDirectives() {
	for i, line := range l.lines {
		m := directivePattern().FindStringSubmatch(line)
		if m == nil {
			continue
		}
		lineNo := i + 1
		col := strings.Index(line, "#") + 1
		var ids []string
		for _, id := range strings.FieldsFunc(m[2], func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
			id = strings.ToUpper(id)
			if _, ok := LookupRule(id); !ok && id != "ALL" {
				l.add(RuleUnknownDirectiveRule, yamlPos(lineNo, col), nil,
					fmt.Sprintf("shipgate-lint comment names unknown rule %q", id), "")
				continue
			}
			ids = append(ids, id)
		}
		if m[1] == "disable-file" {
			for _, id := range ids {
				l.fileDisabled[id] = true
			}
			continue
		}
		l.directives[lineNo] = append(l.directives[lineNo], ids...)
	}
}

// commentOnly reports whether line n (1-based) holds only a comment.
func (l *linter) commentOnly(n int) bool {
	if n < 1 || n > len(l.lines) {
		return false
	}
	return strings.HasPrefix(strings.TrimSpace(l.lines[n-1]), "#")
}

// leadingFirst extends a span's first line upwards over the comment lines directly above it.
func (l *linter) leadingFirst(first int) int {
	for l.commentOnly(first - 1) {
		first--
	}
	return first
}

func (l *linter) disabledIn(sc scope, rule string) bool {
	for _, id := range l.opts.JobDisable[sc.job] {
		if strings.EqualFold(id, rule) || strings.EqualFold(id, "all") {
			return true
		}
	}
	for line := l.leadingFirst(sc.first); line <= sc.last; line++ {
		for _, id := range l.directives[line] {
			if id == rule || id == "ALL" {
				return true
			}
		}
	}
	return false
}

// entryScopes are the spans whose directives apply to findings about e: the workflow entry
// and, for a job defined in this file, its definition.
func entryScopes(e *entry) []scope {
	out := []scope{{job: e.name, first: e.first, last: e.last}}
	if e.def != nil && e.def.key != nil {
		out = append(out, scope{job: e.def.name, first: e.def.key.Line, last: e.def.last})
	}
	if e.group != nil && e.group.key != nil {
		out = append(out, scope{job: e.ref, first: e.group.key.Line, last: e.group.last})
	}
	return out
}
