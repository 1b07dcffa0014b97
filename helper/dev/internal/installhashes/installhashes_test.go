package installhashes

import (
	"os"
	"strings"
	"testing"
)

const sumA = "1111111111111111111111111111111111111111111111111111111111111111"
const sumB = "2222222222222222222222222222222222222222222222222222222222222222"

func TestParseChecksums(t *testing.T) {
	sums := sumA + "  shipgate_1.2.3_linux_amd64\n" +
		sumB + "  shipgate_1.2.3_darwin_arm64\n" +
		sumB + "  shipgate_1.2.3_linux_amd64.sbom.json\n" +
		sumA + "  shipgate_1.2.2_linux_arm64\n"
	got, err := ParseChecksums([]byte(sums), "v1.2.3")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["linux_amd64"] != sumA || got["darwin_arm64"] != sumB {
		t.Errorf("got %v", got)
	}
}

func TestParseChecksumsRejects(t *testing.T) {
	tests := map[string]struct{ sums, version string }{
		"bad version":    {sumA + "  shipgate_1.2.3_linux_amd64\n", "1.2.3; rm -rf /"},
		"upper-case hex": {strings.Repeat("A", 64) + "  shipgate_1.2.3_linux_amd64\n", "v1.2.3"},
		"duplicate":      {sumA + "  shipgate_1.2.3_linux_amd64\n" + sumB + "  shipgate_1.2.3_linux_amd64\n", "v1.2.3"},
		"none":           {sumA + "  other_1.2.3_linux_amd64\n", "v1.2.3"},
		"three fields":   {sumA + "  a b\n", "v1.2.3"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if got, err := ParseChecksums([]byte(tt.sums), tt.version); err == nil {
				t.Errorf("accepted: %v", got)
			}
		})
	}
}

func TestWriteHashesIntoTheOrbScript(t *testing.T) {
	script, err := os.ReadFile("../../../../src/scripts/install.sh")
	if err != nil {
		t.Fatal(err)
	}
	table := map[string]string{"linux_amd64": sumA, "darwin_arm64": sumB}
	out, err := WriteHashes(script, "v1.2.3", table)
	if err != nil {
		t.Fatal(err)
	}
	text := string(out)
	for _, want := range []string{`pinned_version="v1.2.3"`, `linux_amd64) echo "` + sumA + `" ;;`, `darwin_arm64) echo "` + sumB + `" ;;`} {
		if !strings.Contains(text, want) {
			t.Errorf("written script lacks %q", want)
		}
	}
	// Writing again is idempotent: the block is replaced, not appended.
	again, err := WriteHashes(out, "v1.2.3", table)
	if err != nil || string(again) != text {
		t.Errorf("second write changed the script (err %v)", err)
	}
	// Everything outside the block is untouched.
	if !strings.HasSuffix(text, string(script[strings.Index(string(script), endMarker):])) {
		t.Error("text after the block changed")
	}
	if _, err := WriteHashes(script, "v1.2.3", map[string]string{"linux_amd64": "$(id)"}); err == nil {
		t.Error("accepted a hash that is not hex")
	}
	if _, err := WriteHashes([]byte("#!/bin/bash\n"), "v1.2.3", table); err == nil {
		t.Error("accepted a script without markers")
	}
}
