package awsrole

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func TestSessionName(t *testing.T) {
	long := strings.Repeat("a", 70)
	tests := []struct {
		parts []string
		want  string
	}{
		{[]string{"acme-app", "42", "deploy"}, "acme-app-42-deploy"},
		{[]string{"my project", "7", "build/and test"}, "my-project-7-build-and-test"},
		{[]string{"app", "1", "déploiement ü"}, "app-1-d-ploiement"},
		{[]string{"x@y.z", "", "a+b=c,d"}, "x@y.z-a+b=c,d"},
	}
	for _, tt := range tests {
		if got := SessionName(tt.parts...); got != tt.want {
			t.Errorf("SessionName(%q) = %q, want %q", tt.parts, got, tt.want)
		}
	}
	// Truncated names keep a hash of the whole input, so they stay distinct.
	a, b := SessionName(long, "1", "job"), SessionName(long, "2", "job")
	if a == b || len(a) != 64 || len(b) != 64 || !strings.HasPrefix(a, strings.Repeat("a", 55)) {
		t.Errorf("long names %q and %q", a, b)
	}
	// Too short (a one-character job: aws-cli orb #172) and empty names get a hash suffix.
	for _, parts := range [][]string{{"j"}, {"", "/", " "}, nil} {
		got := SessionName(parts...)
		if err := ValidateSessionName(got); err != nil {
			t.Errorf("SessionName(%q) = %q: %v", parts, got, err)
		}
	}
	if SessionName("j") == SessionName("k") {
		t.Error("short names collide")
	}
	// Whatever goes in, a valid name comes out.
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []rune("ab/ _-+=,.@:;'\"$`\\\nü字")
	for i := 0; i < 500; i++ {
		parts := make([]string, r.IntN(4))
		for j := range parts {
			n := r.IntN(90)
			var sb strings.Builder
			for k := 0; k < n; k++ {
				sb.WriteRune(alphabet[r.IntN(len(alphabet))])
			}
			parts[j] = sb.String()
		}
		if got := SessionName(parts...); ValidateSessionName(got) != nil {
			t.Fatalf("SessionName(%q) = %q is invalid", parts, got)
		}
	}
}

func TestValidateSessionName(t *testing.T) {
	for name, ok := range map[string]bool{
		"ab": true, "a": false, strings.Repeat("x", 64): true, strings.Repeat("x", 65): false,
		"deploy job": false, "a/b": false, "user@example.com": true, "x=y,z+w.v-u_t": true,
	} {
		if err := ValidateSessionName(name); (err == nil) != ok {
			t.Errorf("ValidateSessionName(%q) = %v, want ok=%v", name, err, ok)
		}
	}
}

func TestValidateDuration(t *testing.T) {
	tests := []struct {
		d       time.Duration
		chained bool
		ok      bool
	}{
		{900 * time.Second, false, true}, {899 * time.Second, false, false}, {12 * time.Hour, false, true},
		{12*time.Hour + time.Second, false, false}, {time.Hour, true, true}, {time.Hour + time.Second, true, false},
		{1500 * time.Millisecond * 1000, false, true}, {time.Hour + 500*time.Millisecond, false, false},
	}
	for _, tt := range tests {
		if err := ValidateDuration(tt.d, tt.chained); (err == nil) != tt.ok {
			t.Errorf("ValidateDuration(%s, %v) = %v", tt.d, tt.chained, err)
		}
	}
}

func TestResolveEndpoint(t *testing.T) {
	tests := []struct {
		region, override string
		custom           bool
		want             string // "" means refused
	}{
		{"us-east-1", "", false, "https://sts.us-east-1.amazonaws.com"},
		{"eu-west-3", "", false, "https://sts.eu-west-3.amazonaws.com"},
		{"cn-north-1", "", false, "https://sts.cn-north-1.amazonaws.com.cn"},
		{"us-gov-west-1", "", false, "https://sts.us-gov-west-1.amazonaws.com"},
		{"us-iso-east-1", "", false, "https://sts.us-iso-east-1.c2s.ic.gov"},
		{"us-isob-east-1", "", false, "https://sts.us-isob-east-1.sc2s.sgov.gov"},
		{"eusc-de-east-1", "", false, "https://sts.eusc-de-east-1.amazonaws.eu"},
		{"us-east-1", "https://sts.amazonaws.com", false, "https://sts.amazonaws.com"},
		{"us-east-1", "https://sts-fips.us-east-2.amazonaws.com/", false, "https://sts-fips.us-east-2.amazonaws.com"},
		{"us-east-1", "https://sts.us-east-1.api.aws", false, "https://sts.us-east-1.api.aws"},
		{"us-east-1", "http://127.0.0.1:4566", false, "http://127.0.0.1:4566"},
		{"us-east-1", "http://localhost:4566", false, "http://localhost:4566"},
		{"us-east-1", "http://[::1]:4566", false, "http://[::1]:4566"},
		{"us-east-1", "http://sts.us-east-1.amazonaws.com", false, ""},
		{"us-east-1", "https://sts.us-east-1.amazonaws.com.evil.example", false, ""},
		{"us-east-1", "https://evil.example/sts.amazonaws.com", false, ""},
		{"us-east-1", "https://user:pw@sts.amazonaws.com", false, ""},
		{"us-east-1", "https://sts.internal.example", false, ""},
		{"us-east-1", "https://sts.internal.example", true, "https://sts.internal.example"},
		{"us-east-1", "ftp://127.0.0.1", true, ""},
	}
	for _, tt := range tests {
		got, err := ResolveEndpoint(tt.region, tt.override, tt.custom)
		if tt.want == "" {
			if err == nil {
				t.Errorf("ResolveEndpoint(%q, %v) = %q, want refusal", tt.override, tt.custom, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ResolveEndpoint(%q, %q, %v) = %q, %v; want %q", tt.region, tt.override, tt.custom, got, err, tt.want)
		}
	}
}

func TestRetryDelay(t *testing.T) {
	r := Retry{Base: 100 * time.Millisecond, Max: time.Second}.WithDefaults(DefaultRetry)
	for n, step := range []time.Duration{100, 200, 400, 800, 1000, 1000} {
		step *= time.Millisecond
		if n >= 4 {
			step = time.Second
		}
		for i := 0; i < 50; i++ {
			d := r.Delay(n, 0)
			if d < step/2 || d > step {
				t.Fatalf("delay(%d) = %s outside [%s, %s]", n, d, step/2, step)
			}
		}
	}
	if d := r.Delay(0, 700*time.Millisecond); d != 700*time.Millisecond {
		t.Errorf("Retry-After 700ms gave %s", d)
	}
	if d := r.Delay(0, time.Hour); d != time.Second {
		t.Errorf("Retry-After 1h gave %s, want the 1s cap", d)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if d := parseRetryAfter("Thu, 01 Jan 2026 00:00:05 GMT", now); d != 5*time.Second {
		t.Errorf("HTTP-date Retry-After gave %s", d)
	}
	if d := parseRetryAfter("soon", now); d != 0 {
		t.Errorf("bad Retry-After gave %s", d)
	}
}
