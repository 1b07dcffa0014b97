package canary

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

func TestScanFindsEveryFormAtEveryAlignment(t *testing.T) {
	for name, value := range All() {
		blob, _ := json.Marshal(map[string]string{"auths": "user:" + value})
		cases := map[string]string{
			"plain":              "error: " + value + " refused",
			"query":              "GET /x?token=" + url.QueryEscape(value+"&/=+ ") + "&a=1",
			"base64 docker auth": base64.StdEncoding.EncodeToString(blob),
			"basic header":       "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("ci:"+value)),
		}
		for offset := 0; offset < 3; offset++ {
			prefix := strings.Repeat("p", offset)
			cases["std base64 +"+prefix] = base64.StdEncoding.EncodeToString([]byte(prefix + value + "suffix"))
			cases["url base64 +"+prefix] = base64.RawURLEncoding.EncodeToString([]byte(prefix + value + "tail!"))
		}
		for what, text := range cases {
			if len(Scan("clean line\n"+text+"\nclean")) == 0 {
				t.Errorf("%s: %s form not found in %q", name, what, text)
			}
		}
	}
}

func TestScanFindsSignedJWTs(t *testing.T) {
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT"}`))
	payload := base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"org/1/project/2","aud":"x"}`))
	token := header + "." + payload + "." + strings.Repeat("sIg_-", 10)
	if f := Scan("token=" + token); len(f) != 1 || f[0].Form != "jwt" {
		t.Errorf("findings %v, want one JWT", f)
	}
}

func TestScanPassesCleanOutput(t *testing.T) {
	clean := "=== RUN TestPromote\n--- PASS: TestPromote (0.01s)\nshipgate: promoted sha256:" + strings.Repeat("ab", 32) +
		"\nexport AWS_REGION='eu-west-1'\nAuthorization: Basic [redacted]\n" + base64.StdEncoding.EncodeToString([]byte("ci:other-password"))
	if f := Scan(clean); len(f) != 0 {
		t.Errorf("false positives: %v", f)
	}
}
