package imageseed

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/shipgate/shipgate/helper/internal/testpeer/registryserver"
)

func TestPushToARealRegistry(t *testing.T) {
	srv := registryserver.StartT(t, registryserver.Options{})
	ref := srv.Repo("app/staging") + ":abc"
	d1, err := Push(context.Background(), http.DefaultClient, ref, "v1")
	if err != nil {
		t.Fatal(err)
	}
	host, repo, _, _ := split(ref)
	req, _ := http.NewRequest(http.MethodHead, "http://"+host+"/v2/"+repo+"/manifests/abc", nil)
	req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Docker-Content-Digest"); got != d1 {
		t.Errorf("registry has %s under the tag, Push returned %s", got, d1)
	}
	d2, err := Push(context.Background(), http.DefaultClient, ref, "v2")
	if err != nil || d2 == d1 {
		t.Errorf("a different content must give a different digest: %s %s %v", d1, d2, err)
	}
	if _, err := Push(context.Background(), http.DefaultClient, "no-tag", "x"); err == nil || !strings.Contains(err.Error(), "host/repository:tag") {
		t.Errorf("bad reference: %v", err)
	}
}
