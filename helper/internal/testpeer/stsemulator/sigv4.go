package stsemulator

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// VerifySigV4 checks a SigV4-signed request against the sessions the emulator issued: the
// access key must be known and unexpired, the session token must match, and the signature must
// be the one the session's secret produces for the signed headers and body. Other test peers
// (the ECR endpoint) use it to accept only credentials this emulator handed out.
func (e *Emulator) VerifySigV4(r *http.Request, body []byte, service string) (Session, error) {
	auth := r.Header.Get("Authorization")
	const algo = "AWS4-HMAC-SHA256 "
	if !strings.HasPrefix(auth, algo) {
		return Session{}, sender(403, "MissingAuthenticationToken", "Request is missing Authentication Token")
	}
	fields := map[string]string{}
	for _, part := range strings.Split(strings.TrimPrefix(auth, algo), ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[k] = v
	}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 5 || scope[3] != service || scope[4] != "aws4_request" {
		return Session{}, sender(403, "IncompleteSignature", "Credential scope %q is not valid for service %s", fields["Credential"], service)
	}
	e.mu.Lock()
	s, ok := e.sessions[scope[0]]
	e.mu.Unlock()
	if !ok {
		return Session{}, sender(403, "InvalidClientTokenId", "The security token included in the request is invalid.")
	}
	if r.Header.Get("X-Amz-Security-Token") != s.SessionToken {
		return Session{}, sender(403, "InvalidClientTokenId", "The security token included in the request is invalid.")
	}
	if !e.Now().Before(s.Expiration) {
		return Session{}, sender(400, "ExpiredToken", "The security token included in the request is expired")
	}
	signingTime, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return Session{}, sender(403, "IncompleteSignature", "X-Amz-Date is missing or malformed")
	}
	// Re-sign a copy holding only the signed headers and compare signatures.
	clone, err := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return Session{}, err
	}
	clone.Host = r.Host
	clone.ContentLength = 0
	for _, h := range strings.Split(fields["SignedHeaders"], ";") {
		switch h {
		case "host":
		case "content-length":
			clone.ContentLength = int64(len(body))
		default:
			for _, v := range r.Header.Values(h) {
				clone.Header.Add(h, v)
			}
		}
	}
	clone.Header.Del("Authorization")
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: s.AccessKeyID, SecretAccessKey: s.SecretAccessKey, SessionToken: s.SessionToken}
	if err := v4.NewSigner().SignHTTP(r.Context(), creds, clone, hex.EncodeToString(sum[:]), service, scope[2], signingTime); err != nil {
		return Session{}, fmt.Errorf("re-signing: %w", err)
	}
	want := signature(clone.Header.Get("Authorization"))
	if want == "" || want != fields["Signature"] {
		return Session{}, sender(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.")
	}
	return s, nil
}

func signature(auth string) string {
	i := strings.Index(auth, "Signature=")
	if i < 0 {
		return ""
	}
	return auth[i+len("Signature="):]
}
