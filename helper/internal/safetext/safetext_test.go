package safetext

import (
	"errors"
	"strings"
	"testing"
)

func TestEscape(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain text, é and 日本", "plain text, é and 日本"},
		{"smoke failed\n2026-01-01T00:00:00Z  good  sha256:aaaa (current)", `smoke failed\n2026-01-01T00:00:00Z  good  sha256:aaaa (current)`},
		{"ok\rFORGED", `ok\rFORGED`},
		{"\x1b[2K\x1b[1Agood", `\x1b[2K\x1b[1Agood`},
		{"nul\x00bell\x07del\x7f", `nul\x00bell\x07del\x7f`},
		{"c1 \u009b31m", `c1 \u009b31m`},
		{"bidi \u202eevil\u202c \u2066x\u2069 \u200f", `bidi \u202eevil\u202c \u2066x\u2069 \u200f`},
		{"sep\u2028line", `sep\u2028line`},
		{"bad utf8 \xff\xfe", `bad utf8 \xff\xfe`},
		{"tab\there", `tab\there`},
	} {
		if got := Escape(tc.in); got != tc.want {
			t.Errorf("Escape(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzEscape: whatever the input, the output has no control, bidi or
// separator character and no invalid UTF-8.
func FuzzEscape(f *testing.F) {
	for _, s := range []string{"a\nb", "\x1b]8;;http://x\x07", "\u202e", "\xc2\x9b", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Escape(s)
		if !cleanUnicode(out) {
			t.Fatalf("Escape(%q) = %q still holds an unsafe character", s, out)
		}
		if cleanUnicode(s) && out != s {
			t.Fatalf("Escape changed clean text %q to %q", s, out)
		}
	})
}

func TestFprintfEscapesArguments(t *testing.T) {
	var b strings.Builder
	Fprintf(&b, "%s|%v|%d|%s\n", "a\nb", []string{"c\rd"}, 7, errors.New("e\x1bf"))
	if got, want := b.String(), `a\nb|[c\rd]|7|e\x1bf`+"\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
