package stsemulator_test

import (
	"context"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/shipgate/shipgate/helper/internal/testpeer/oidcissuer"
	"github.com/shipgate/shipgate/helper/internal/testpeer/stsemulator"
)

const roleARN = "arn:aws:iam::123456789012:role/deploy"

func setup(t *testing.T) (*oidcissuer.Issuer, *stsemulator.Emulator) {
	t.Helper()
	issuer, err := oidcissuer.New("org1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(issuer.Close)
	emu := stsemulator.New()
	t.Cleanup(emu.Close)
	emu.AddProvider(stsemulator.Provider{IssuerURL: issuer.URL, ClientIDs: []string{"org1"}})
	emu.AddRole(stsemulator.Role{ARN: roleARN, Federated: issuer.URL, Aud: "org1", SubLike: []string{"org/org1/project/project-1/*"}})
	return issuer, emu
}

type errorResponse struct {
	XMLName xml.Name `xml:"https://sts.amazonaws.com/doc/2011-06-15/ ErrorResponse"`
	Error   struct {
		Type, Code, Message string
	}
	RequestID string `xml:"RequestId"`
}

func post(t *testing.T, emu *stsemulator.Emulator, form url.Values) (int, errorResponse, string) {
	t.Helper()
	resp, err := http.PostForm(emu.URL, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var e errorResponse
	if resp.StatusCode != 200 {
		if err := xml.Unmarshal(body, &e); err != nil {
			t.Fatalf("error body %q: %v", body, err)
		}
	}
	return resp.StatusCode, e, string(body)
}

func TestWireErrors(t *testing.T) {
	issuer, emu := setup(t)
	good, _ := issuer.Mint(oidcissuer.Token{})
	none, _ := issuer.Mint(oidcissuer.Token{AlgNone: true})
	stray, _ := issuer.Mint(oidcissuer.Token{UnknownKey: true})
	expired, _ := issuer.Mint(oidcissuer.Token{IssuedAt: time.Now().Add(-2 * time.Hour)})
	otherProject, _ := issuer.Mint(oidcissuer.Token{ProjectID: "project-2"})
	base := func(token, name, duration string) url.Values {
		v := url.Values{"Action": {"AssumeRoleWithWebIdentity"}, "Version": {"2011-06-15"}, "RoleArn": {roleARN},
			"RoleSessionName": {name}, "WebIdentityToken": {token}}
		if duration != "" {
			v.Set("DurationSeconds", duration)
		}
		return v
	}
	tests := []struct {
		name   string
		form   url.Values
		status int
		code   string
		msg    string
	}{
		{"session name with a space", base(good, "a b", ""), 400, "ValidationError", "roleSessionName"},
		{"session name too short", base(good, "a", ""), 400, "ValidationError", "length between 2 and 64"},
		{"duration too long", base(good, "ok", "50000"), 400, "ValidationError", "durationSeconds"},
		{"duration over role max", base(good, "ok", "7200"), 400, "ValidationError", "MaxSessionDuration"},
		{"alg none", base(none, "ok", ""), 400, "InvalidIdentityToken", "not a valid JWT"},
		{"not a JWT", base("garbage", "ok", ""), 400, "InvalidIdentityToken", "not a valid JWT"},
		{"unknown key", base(stray, "ok", ""), 400, "InvalidIdentityToken", "signature"},
		{"expired", base(expired, "ok", ""), 400, "ExpiredTokenException", "Token expired"},
		{"trust policy", base(otherProject, "ok", ""), 403, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity"},
		{"unknown action", url.Values{"Action": {"Nope"}, "Version": {"2011-06-15"}}, 400, "InvalidAction", "Nope"},
		{"unsigned GetCallerIdentity", url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2011-06-15"}}, 403, "MissingAuthenticationToken", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, e, body := post(t, emu, tt.form)
			if status != tt.status || e.Error.Code != tt.code || !strings.Contains(e.Error.Message, tt.msg) || e.Error.Type != "Sender" || e.RequestID == "" {
				t.Fatalf("got %d %+v (%s), want %d %s %q", status, e, body, tt.status, tt.code, tt.msg)
			}
		})
	}
	emu.Throttle(1, "2")
	resp, err := http.PostForm(emu.URL, base(good, "ok", ""))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 || resp.Header.Get("Retry-After") != "2" {
		t.Fatalf("throttle: %d %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if status, e, _ := post(t, emu, base(good, "ok", "")); status != 200 {
		t.Fatalf("after throttling: %d %+v", status, e)
	}
}

// TestSignedCalls checks the SigV4 verification with the real SDK: issued credentials work,
// a wrong secret does not.
func TestSignedCalls(t *testing.T) {
	issuer, emu := setup(t)
	token, _ := issuer.Mint(oidcissuer.Token{})
	client := sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(emu.URL), Retryer: aws.NopRetryer{}})
	out, err := client.AssumeRoleWithWebIdentity(context.Background(), &sts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String(roleARN), RoleSessionName: aws.String("session-1"), WebIdentityToken: aws.String(token)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.SubjectFromWebIdentityToken) == "" || aws.ToString(out.AssumedRoleUser.Arn) != "arn:aws:sts::123456789012:assumed-role/deploy/session-1" {
		t.Fatalf("output %+v", out)
	}
	c := out.Credentials
	for _, tt := range []struct {
		name   string
		secret string
		ok     bool
	}{{"right secret", aws.ToString(c.SecretAccessKey), true}, {"wrong secret", "wrong", false}} {
		signed := sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(emu.URL), Retryer: aws.NopRetryer{},
			Credentials: credentials.NewStaticCredentialsProvider(aws.ToString(c.AccessKeyId), tt.secret, aws.ToString(c.SessionToken))})
		id, err := signed.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
		if tt.ok != (err == nil) {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if tt.ok && aws.ToString(id.Account) != "123456789012" {
			t.Fatalf("%s: %+v", tt.name, id)
		}
		if !tt.ok && !strings.Contains(err.Error(), "SignatureDoesNotMatch") {
			t.Fatalf("%s: %v", tt.name, err)
		}
	}
}
