package registry_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/registry"
)

// keychain answers the same credentials for every registry.
type keychain struct{ user, password string }

func (k keychain) Resolve(authn.Resource) (authn.Authenticator, error) {
	return authn.FromConfig(authn.AuthConfig{Username: k.user, Password: k.password}), nil
}

const (
	testUser     = "ci-robot"
	testPassword = `Pa55/w0rd+Canary=7781<"u>`
)

// storage is the object store a registry redirects blob downloads to; it records every
// Authorization it is sent.
func storage(t *testing.T, content []byte) (*httptest.Server, *atomic.Int32) {
	var leaked atomic.Int32
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			leaked.Add(1)
		}
		w.Write(content)
	}))
	t.Cleanup(s.Close)
	return s, &leaked
}

// TestCredentialsNeverFollowARedirectToAnotherOrigin: a registry on 127.0.0.1:A redirects a
// blob download to storage on 127.0.0.1:B (the same host name, another port, which net/http
// treats as the same host). The storage receives no credential, Basic or Bearer.
func TestCredentialsNeverFollowARedirectToAnotherOrigin(t *testing.T) {
	content := []byte("layer bytes")
	digest, _, _ := v1.SHA256(strings.NewReader(string(content)))
	for _, scheme := range []string{"basic", "bearer"} {
		t.Run(scheme, func(t *testing.T) {
			store, leaked := storage(t, content)
			const token = "tok-Zx8Qm2Lp9Rt4Vw7Yb3Nc6Kd1"
			var reg *httptest.Server
			reg = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/token" {
					user, password, _ := r.BasicAuth()
					if user != testUser || password != testPassword {
						w.WriteHeader(http.StatusUnauthorized)
						return
					}
					json.NewEncoder(w).Encode(map[string]string{"token": token})
					return
				}
				want := "Basic " + base64.StdEncoding.EncodeToString([]byte(testUser+":"+testPassword))
				challenge := `Basic realm="test"`
				if scheme == "bearer" {
					want = "Bearer " + token
					challenge = fmt.Sprintf(`Bearer realm="%s/token",service="test"`, reg.URL)
				}
				if r.Header.Get("Authorization") != want {
					w.Header().Set("WWW-Authenticate", challenge)
					w.WriteHeader(http.StatusUnauthorized)
					return
				}
				http.Redirect(w, r, store.URL+"/bucket/blob?X-Amz-Signature=abc", http.StatusTemporaryRedirect)
			}))
			t.Cleanup(reg.Close)
			host := strings.TrimPrefix(reg.URL, "http://")
			client := registry.New(registry.Options{Keychain: keychain{testUser, testPassword}})
			body, _, err := client.OpenBlob(context.Background(), registry.Repository{Registry: host, Path: "app"}, digest)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(body)
			body.Close()
			if err != nil || string(got) != string(content) {
				t.Fatalf("blob: %q %v", got, err)
			}
			if n := leaked.Load(); n != 0 {
				t.Fatalf("the storage on another port received the %s credential %d times", scheme, n)
			}
		})
	}
}

// TestRegistryErrorTextIsRedactedAndCut: a registry whose refusal repeats the Authorization it
// received (some proxies do), in plain, base64, URL- and JSON-escaped forms, with control
// characters and a flood of text. The error names the refusal and holds none of it.
func TestRegistryErrorTextIsRedactedAndCut(t *testing.T) {
	basic := base64.StdEncoding.EncodeToString([]byte(testUser + ":" + testPassword))
	echoes := []string{
		"Basic " + basic,
		basic,
		testUser + ":" + testPassword,
		testPassword,
		url.QueryEscape(testPassword),
		url.PathEscape(testPassword),
		strings.Trim(mustJSON(testPassword), `"`),
		"line one\nline two\x1b[31m red",
		strings.Repeat("flood ", 2000),
	}
	for i, echo := range echoes {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			reg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Authorization") == "" {
					w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
					w.WriteHeader(http.StatusUnauthorized)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusForbidden)
				json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]string{{"code": "DENIED", "message": "you sent " + echo}}})
			}))
			defer reg.Close()
			client := registry.New(registry.Options{Keychain: keychain{testUser, testPassword}})
			_, err := client.GetManifest(context.Background(), registry.Reference{
				Repository: registry.Repository{Registry: strings.TrimPrefix(reg.URL, "http://"), Path: "app"}, Tag: "v1"})
			if failure.KindOf(err) != failure.Auth {
				t.Fatalf("kind %v (%v), want auth", failure.KindOf(err), err)
			}
			text := err.Error() + " " + failure.HintOf(err)
			for _, secret := range []string{testPassword, basic, url.QueryEscape(testPassword), "w0rd", "Canary"} {
				if strings.Contains(text, secret) {
					t.Errorf("error shows %q: %s", secret, text)
				}
			}
			if strings.ContainsAny(text, "\n\x1b") {
				t.Errorf("error carries control characters: %q", text)
			}
			if len(text) > 800 {
				t.Errorf("error is %d bytes long", len(text))
			}
			if !strings.Contains(text, "DENIED") {
				t.Errorf("error lost the registry's code: %s", text)
			}
		})
	}
}

func mustJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
