package registry

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestDetailDigests: a digest is taken from an error's detail as distribution writes it (the
// digest string) or wrapped in an object or array; nothing else a server wrote is kept.
func TestDetailDigests(t *testing.T) {
	d := "sha256:" + strings.Repeat("ab", 32)
	cases := map[string]int{
		`"` + d + `"`:                          1,
		`{"blob":"` + d + `"}`:                 1,
		`[{"digest":"` + d + `"},"` + d + `"]`: 2,
		`"sha256:short"`:                       0,
		`"password=hunter2"`:                   0,
		`{"Tag":"latest"}`:                     0,
		`not json`:                             0,
		``:                                     0,
	}
	for raw, want := range cases {
		if got := detailDigests(json.RawMessage(raw)); len(got) != want {
			t.Errorf("%s: %d digests, want %d", raw, len(got), want)
		}
	}
}
