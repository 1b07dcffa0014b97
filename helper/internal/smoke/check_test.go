package smoke

import (
	"strings"
	"testing"
)

func TestRedactURLTextDropsThePassword(t *testing.T) {
	if got := redactURLText("http://bob:hunter2@x/"); strings.Contains(got, "hunter2") {
		t.Errorf("%q", got)
	}
}
