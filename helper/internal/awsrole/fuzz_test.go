package awsrole

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzSessionName checks that any CircleCI context yields a valid, deterministic session name.
func FuzzSessionName(f *testing.F) {
	f.Add("acme-app", "42", "deploy")
	f.Add("", "", "j")
	f.Add("my project", "7", "build/and test")
	f.Add(strings.Repeat("x", 80), "1", "job")
	f.Add("ü字", "$(x)", "`y`\n")
	f.Fuzz(func(t *testing.T, project, number, job string) {
		name := SessionName(project, number, job)
		if err := ValidateSessionName(name); err != nil {
			t.Fatalf("SessionName(%q, %q, %q) = %q: %v", project, number, job, name, err)
		}
		if again := SessionName(project, number, job); again != name {
			t.Fatalf("not deterministic: %q then %q", name, again)
		}
	})
}

// FuzzStringLike compares IAM StringLike matching with the equivalent regular expression.
func FuzzStringLike(f *testing.F) {
	f.Add("org/*/project/p/user/*", "org/o/project/p/user/u/vcs-origin/x")
	f.Add("a?c", "abc")
	f.Add("**x*", "yxz")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, pattern, value string) {
		// IAM compares UTF-8 strings; invalid bytes have no defined meaning there.
		if len(pattern) > 64 || len(value) > 256 || !utf8.ValidString(pattern) || !utf8.ValidString(value) {
			return
		}
		var re strings.Builder
		re.WriteString(`(?s)\A`)
		for _, r := range pattern {
			switch r {
			case '*':
				re.WriteString(".*")
			case '?':
				re.WriteString(".")
			default:
				re.WriteString(regexp.QuoteMeta(string(r)))
			}
		}
		re.WriteString(`\z`)
		want := regexp.MustCompile(re.String()).MatchString(value)
		if got := StringLike(pattern, value); got != want {
			t.Fatalf("StringLike(%q, %q) = %v, regexp says %v", pattern, value, got, want)
		}
	})
}
