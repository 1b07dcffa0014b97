package artifact

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzRead: whatever release.json holds, Read never panics, and what it accepts is
// consistent: a well-formed digest, and an image (when given) that is exactly
// repository@digest (issue 14 class 5).
func FuzzRead(f *testing.F) {
	d := "sha256:" + strings.Repeat("a", 64)
	for _, seed := range []string{
		`{"schemaVersion":1,"image":"r/app@` + d + `","repository":"r/app","digest":"` + d + `"}`,
		`{"schemaVersion":1,"repository":"r/app","digest":"` + d + `","digest":"sha256:` + strings.Repeat("b", 64) + `"}`,
		`{"schemaVersion":1,"repository":"r/app","digest":"` + d + `","source":{"commit":"a","commit":"b"}}`,
		`{"schemaVersion":1,"repository":"r/app","digest":"` + d + `","x":[{"a":1},{"a":2,"a":3}]}`,
		`[]`, `{`, `null`,
	} {
		f.Add([]byte(seed))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "release.json")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		r, err := Read(path)
		if err != nil {
			return
		}
		if !digestRE().MatchString(r.Digest) {
			t.Fatalf("accepted digest %q", r.Digest)
		}
		if r.Image != "" && r.Image != r.Repository+"@"+r.Digest {
			t.Fatalf("accepted image %q for %s@%s", r.Image, r.Repository, r.Digest)
		}
	})
}
