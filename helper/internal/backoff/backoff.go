// Package backoff is the bounded, jittered, context-cancellable wait between retries that
// shipgate's cloud calls share (STS, Google's token endpoints). The registry client has its own
// transport-level retry (registry/retry.go) because it also budgets time per request.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Policy bounds retries.
type Policy struct {
	// Attempts is the total number of tries, including the first.
	Attempts int
	// Base is the first backoff; each retry doubles it up to Max.
	Base, Max time.Duration
	// Sleep waits d or until ctx is done; tests replace it. The default is SleepContext.
	Sleep func(ctx context.Context, d time.Duration) error
}

// WithDefaults fills the zero fields of p from def, and Sleep with SleepContext.
func (p Policy) WithDefaults(def Policy) Policy {
	if p.Attempts <= 0 {
		p.Attempts = def.Attempts
	}
	if p.Base <= 0 {
		p.Base = def.Base
	}
	if p.Max <= 0 {
		p.Max = def.Max
	}
	if p.Sleep == nil {
		p.Sleep = def.Sleep
	}
	if p.Sleep == nil {
		p.Sleep = SleepContext
	}
	return p
}

// Delay is the wait before retry number n (0 for the first retry): "equal jitter", half the
// exponential step plus a random part of the other half, so parallel jobs spread out. A
// Retry-After from the server wins when it is longer, still capped at Max.
func (p Policy) Delay(n int, retryAfter time.Duration) time.Duration {
	step := p.Base << min(n, 20)
	if step > p.Max || step <= 0 {
		step = p.Max
	}
	d := step/2 + rand.N(step/2+1)
	if retryAfter > d {
		d = min(retryAfter, p.Max)
	}
	return d
}

// SleepContext waits d, or returns ctx's error as soon as ctx is done.
func SleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
