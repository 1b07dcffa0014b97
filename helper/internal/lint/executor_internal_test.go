package lint

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shipgate/shipgate/helper/internal/circleci"
)

// The linter judges the shipgate orb's jobs on the image of the orb's default executor: keep
// the constant in step with src/executors/default.yml.
func TestShipgateDefaultImageMatchesTheOrb(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "src", "executors", "default.yml"))
	if err != nil {
		t.Fatal(err)
	}
	root, err := circleci.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	docker := circleci.Items(circleci.Get(root, "docker"))
	if len(docker) == 0 {
		t.Fatal("src/executors/default.yml has no docker image")
	}
	image := circleci.Scalar(circleci.Get(docker[0], "image"))
	if repo, _, _ := strings.Cut(image, ":"); repo != shipgateDefaultImage {
		t.Errorf("the orb's default executor runs %s; shipgateDefaultImage is %s", image, shipgateDefaultImage)
	}
}
