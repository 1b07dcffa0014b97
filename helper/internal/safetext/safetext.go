// Package safetext escapes text that came from outside (a registry, a file, the environment, a
// service's answer) before it reaches a terminal or a CI log, so it cannot forge output: a
// newline in a ledger record's reason cannot add a fake row to `shipgate releases`, a CR cannot
// overwrite a line, an ESC sequence cannot recolour or hide text, a bidi override cannot reorder
// what the reader sees (CVE-2021-42574, "Trojan Source"). Issue 14 class 3.
//
// Only text output is escaped; JSON output is left as it is (encoding/json escapes control
// characters itself, and consumers want the exact value).
package safetext

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Escape returns s with every control character (C0, DEL, C1), every bidirectional formatting
// character and the Unicode line and paragraph separators replaced by a visible Go-style escape
// (\n, \r, \t, \x1b, \u202e), and invalid UTF-8 bytes by \xNN. Anything else, including the
// backslash, is unchanged: the point is that nothing invisible or line-breaking survives.
func Escape(s string) string {
	if clean(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafe(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// clean reports whether s needs no escaping (the common case, without allocating).
func clean(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c >= 0x80 {
			if c >= 0x80 {
				return cleanUnicode(s[i:])
			}
			return false
		}
	}
	return true
}

func cleanUnicode(s string) bool {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r < 0x20 || r == 0x7f || unsafe(r) {
			return false
		}
		i += size
	}
	return true
}

// unsafe is the C1 block and the invisible characters that reorder or break lines.
func unsafe(r rune) bool {
	switch {
	case r >= 0x80 && r <= 0x9f: // C1 controls (0x9b is a one-byte CSI on some terminals)
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f: // arabic letter mark, LRM, RLM
		return true
	case r >= 0x202a && r <= 0x202e: // LRE, RLE, PDF, LRO, RLO
		return true
	case r >= 0x2066 && r <= 0x2069: // LRI, RLI, FSI, PDI
		return true
	case r == 0x2028, r == 0x2029: // line and paragraph separators
		return true
	}
	return false
}

// Fprintf is fmt.Fprintf with every string, []string, error and fmt.Stringer argument escaped:
// the format is the program's own, the arguments are what came from outside.
func Fprintf(w io.Writer, format string, args ...any) (int, error) {
	return fmt.Fprintf(w, format, Args(args)...)
}

// Sprintf is Fprintf into a string.
func Sprintf(format string, args ...any) string {
	return fmt.Sprintf(format, Args(args)...)
}

// Args returns args with the textual ones escaped (numbers and other values unchanged).
func Args(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case string:
			out[i] = Escape(v)
		case []string:
			esc := make([]string, len(v))
			for j, s := range v {
				esc[j] = Escape(s)
			}
			out[i] = esc
		case error:
			out[i] = Escape(v.Error())
		case fmt.Stringer:
			out[i] = Escape(v.String())
		default:
			out[i] = a
		}
	}
	return out
}
