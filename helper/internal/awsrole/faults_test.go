package awsrole

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/testpeer/faultproxy"
	"github.com/shipgate/shipgate/helper/internal/testpeer/oidcissuer"
)

// TestEveryFaultInFrontOfSTSIsSurvived puts the fault proxy between shipgate and the STS
// emulator and injects one fault of each kind into the first STS request: the exchange retries
// and succeeds with credentials STS really issued. (Before, a 429 without an XML body, a reset
// after the headers, a stall, and a cut or corrupted body were final.)
func TestEveryFaultInFrontOfSTSIsSurvived(t *testing.T) {
	for _, fault := range faultproxy.All {
		t.Run(string(fault), func(t *testing.T) {
			f := newFixture(t)
			proxy := faultproxy.StartT(t, faultproxy.Options{Target: f.sts.URL, Rate: 1, Limit: 1,
				Faults: []faultproxy.Fault{fault}, Stall: time.Hour})
			o := f.options(f.token(t, oidcissuer.Token{}))
			o.Endpoint = proxy.URL
			// A per-request bound, as defaultHTTPClient has (30s), shortened for the test.
			o.HTTPClient = &http.Client{Timeout: 500 * time.Millisecond}
			res, err := Assume(context.Background(), o)
			if proxy.Injected() != 1 {
				t.Fatalf("injected %d faults, want 1", proxy.Injected())
			}
			if err != nil {
				t.Fatalf("after one %s: %v (exit %d)", fault, err, failure.KindOf(err))
			}
			issued := false
			for _, s := range f.sts.Sessions() {
				issued = issued || (s.AccessKeyID == res.Credentials.AccessKeyID && s.SecretAccessKey == res.Credentials.SecretAccessKey && s.SessionToken == res.Credentials.SessionToken)
			}
			if !issued {
				t.Fatalf("after %s: credentials STS never issued were returned", fault)
			}
		})
	}
}
