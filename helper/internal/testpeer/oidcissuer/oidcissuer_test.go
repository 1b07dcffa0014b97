package oidcissuer

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

func getJSON(t *testing.T, url string, dst any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(dst); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode
}

func TestIssuer(t *testing.T) {
	const org = "6a1e0b4e-1b5c-4f5e-9d3a-2f8c7b6a5d4e"
	i, err := New(org)
	if err != nil {
		t.Fatal(err)
	}
	defer i.Close()
	var disc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if getJSON(t, i.URL+"/.well-known/openid-configuration", &disc) != 200 || disc.Issuer != i.URL || !strings.HasPrefix(disc.JWKSURI, i.URL) {
		t.Fatalf("discovery %+v", disc)
	}
	var keys jose.JSONWebKeySet
	if getJSON(t, disc.JWKSURI, &keys) != 200 || len(keys.Keys) != 1 {
		t.Fatalf("jwks %+v", keys)
	}
	uuid := "0d9c8b7a-6f5e-4d3c-2b1a-0f9e8d7c6b5a"
	for _, version := range []int{1, 2} {
		raw, err := i.Mint(Token{Version: version, ProjectID: uuid, UserID: uuid})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
		if err != nil {
			t.Fatal(err)
		}
		var claims jwt.Claims
		if err := tok.Claims(&keys, &claims); err != nil {
			t.Fatalf("v%d: does not verify against the JWKS: %v", version, err)
		}
		// FACTS.md §1: the v1 sub of UUID IDs is exactly 127 bytes; v2 is longer.
		if version == 1 && len(claims.Subject) != 127 || version == 2 && len(claims.Subject) <= 127 {
			t.Errorf("v%d sub %q is %d bytes", version, claims.Subject, len(claims.Subject))
		}
		if claims.Issuer != i.URL || !claims.Audience.Contains(org) || claims.Expiry.Time().Sub(claims.IssuedAt.Time()).Hours() != 1 {
			t.Errorf("v%d claims %+v", version, claims)
		}
	}
	stray, _ := i.Mint(Token{UnknownKey: true})
	tok, _ := jwt.ParseSigned(stray, []jose.SignatureAlgorithm{jose.RS256})
	if err := tok.Claims(&keys, &jwt.Claims{}); err == nil {
		t.Error("a token signed with the unknown key verifies")
	}
	none, _ := i.Mint(Token{AlgNone: true})
	if _, err := jwt.ParseSigned(none, []jose.SignatureAlgorithm{jose.RS256}); err == nil || !strings.HasSuffix(none, ".") {
		t.Error("alg none token parses as signed")
	}
	i.FailJWKS(1)
	if code := getJSON(t, disc.JWKSURI, &keys); code != http.StatusServiceUnavailable {
		t.Errorf("FailJWKS: %d", code)
	}
	if code := getJSON(t, disc.JWKSURI, &keys); code != 200 || i.JWKSFetches() != 3 {
		t.Errorf("after FailJWKS: %d, %d fetches", code, i.JWKSFetches())
	}
}
