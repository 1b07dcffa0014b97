package backoff

import (
	"context"
	"testing"
	"time"
)

func TestDelayIsBoundedAndHonoursRetryAfter(t *testing.T) {
	p := Policy{Base: 100 * time.Millisecond, Max: time.Second}.WithDefaults(Policy{Attempts: 3})
	for n := 0; n < 30; n++ {
		step := min(p.Base<<min(n, 20), p.Max)
		for i := 0; i < 50; i++ {
			if d := p.Delay(n, 0); d < step/2 || d > step {
				t.Fatalf("retry %d: delay %s outside [%s, %s]", n, d, step/2, step)
			}
		}
	}
	if d := p.Delay(0, 700*time.Millisecond); d != 700*time.Millisecond {
		t.Fatalf("Retry-After not honoured: %s", d)
	}
	if d := p.Delay(0, time.Hour); d != time.Second {
		t.Fatalf("Retry-After not capped: %s", d)
	}
}

func TestSleepContextStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := SleepContext(ctx, time.Hour); err != context.Canceled {
		t.Fatalf("got %v", err)
	}
}
