package awsrole

import (
	"context"
	"math/rand/v2"
	"time"
)

// Retry is the bounded, jittered, context-cancellable backoff shipgate applies to STS calls.
// The SDK's own retryer is switched off so that exactly one policy decides (STYLE.md: the raw
// client does not retry InvalidIdentityToken; we decide explicitly which codes are transient).
type Retry struct {
	// Attempts is the total number of tries, including the first. The default is 5.
	Attempts int
	// Base is the first backoff; each retry doubles it up to Max. Defaults: 500ms and 10s.
	Base, Max time.Duration
	// Sleep waits d or until ctx is done; tests replace it. The default uses a timer.
	Sleep func(ctx context.Context, d time.Duration) error
}

// DefaultRetry is the policy used when Options.Retry is the zero value.
var DefaultRetry = Retry{Attempts: 5, Base: 500 * time.Millisecond, Max: 10 * time.Second}

func (r Retry) withDefaults() Retry {
	if r.Attempts <= 0 {
		r.Attempts = DefaultRetry.Attempts
	}
	if r.Base <= 0 {
		r.Base = DefaultRetry.Base
	}
	if r.Max <= 0 {
		r.Max = DefaultRetry.Max
	}
	if r.Sleep == nil {
		r.Sleep = sleepContext
	}
	return r
}

// delay is the wait before retry number n (0 for the first retry): "equal jitter", half the
// exponential step plus a random part of the other half, so parallel jobs spread out. A
// Retry-After from the server wins when it is longer, still capped at Max.
func (r Retry) delay(n int, retryAfter time.Duration) time.Duration {
	step := r.Base << min(n, 20)
	if step > r.Max || step <= 0 {
		step = r.Max
	}
	d := step/2 + rand.N(step/2+1)
	if retryAfter > d {
		d = min(retryAfter, r.Max)
	}
	return d
}

func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
