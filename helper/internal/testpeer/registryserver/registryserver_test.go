package registryserver

import (
	"net/http"
	"testing"
)

func TestStartAnswersV2(t *testing.T) {
	s := StartT(t, Options{})
	resp, err := http.Get(s.URL + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v2/: %d", resp.StatusCode)
	}
}

func TestBasicAuthRequired(t *testing.T) {
	s := StartT(t, Options{Users: map[string]string{"ci": "pw"}})
	resp, err := http.Get(s.URL + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("anonymous GET /v2/: %d, want 401", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/v2/", nil)
	req.SetBasicAuth("ci", "pw")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("authenticated GET /v2/: %d", resp.StatusCode)
	}
}
