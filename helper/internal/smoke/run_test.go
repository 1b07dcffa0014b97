package smoke

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// fakeClock is a clock whose time moves only when the run sleeps or a fake probe takes time.
type fakeClock struct{ now time.Time }

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (f *fakeClock) Now() time.Time { return f.now }

func (f *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if d < 0 {
		panic(fmt.Sprintf("negative sleep %s", d))
	}
	f.now = f.now.Add(d)
	return ctx.Err()
}

// step is what a fake attempt does: take some time, then pass or fail. A duration longer
// than the request timeout is cut to it and fails, as a real request would.
type step struct {
	took time.Duration
	pass bool
}

// script answers the n-th attempt of a check (0-based).
type script func(check string, n int) step

// fakeRun runs checks named names against script on a fake clock and records each attempt.
type fakeRun struct {
	clock    *fakeClock
	attempts map[string][]time.Time // start times per check
	ends     []time.Time
	progress bytes.Buffer
	lines    []time.Time // fake time at which each progress line was written
}

func (f *fakeRun) Write(p []byte) (int, error) {
	for range bytes.Count(p, []byte("\n")) {
		f.lines = append(f.lines, f.clock.now)
	}
	return f.progress.Write(p)
}

func runFake(t *testing.T, opts Options, names []string, s script) (*Result, *fakeRun) {
	t.Helper()
	f := &fakeRun{clock: newFakeClock(), attempts: map[string][]time.Time{}}
	opts.Clock = f.clock
	opts.Progress = f
	for _, name := range names {
		opts.Checks = append(opts.Checks, CheckSpec{Name: name, URL: "http://service.invalid/" + name})
	}
	p, err := prepare(opts)
	if err != nil {
		t.Fatalf("prepare: %v", err)
	}
	probe := func(ctx context.Context, c *Check, timeout time.Duration) outcome {
		n := len(f.attempts[c.Name])
		f.attempts[c.Name] = append(f.attempts[c.Name], f.clock.now)
		st := s(c.Name, n)
		if st.took > timeout {
			f.clock.now = f.clock.now.Add(timeout)
			f.ends = append(f.ends, f.clock.now)
			return outcome{problem: "no answer within " + timeout.String()}
		}
		f.clock.now = f.clock.now.Add(st.took)
		f.ends = append(f.ends, f.clock.now)
		if st.pass {
			return outcome{status: 200}
		}
		return outcome{status: 503, problems: []string{"status 503, want 2xx"}}
	}
	start := f.clock.now
	res, err := p.run(context.Background(), probe)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if !res.Started.Equal(start) {
		t.Fatalf("result start %s, want %s", res.Started, start)
	}
	return res, f
}

func (f *fakeRun) elapsed(start time.Time) time.Duration { return f.clock.now.Sub(start) }

func neverAnswers(string, int) step { return step{took: time.Hour} }

func TestDeadlineHoldsWithinOneRequestTimeout(t *testing.T) {
	cases := []struct {
		name                              string
		timeout, interval, requestTimeout time.Duration
		successes                         int
		script                            script
		checks                            int
	}{
		{"hangs, short interval", time.Minute, time.Second, 10 * time.Second, 1, neverAnswers, 1},
		{"hangs, interval longer than request", time.Minute, 25 * time.Second, 7 * time.Second, 1, neverAnswers, 1},
		{"hangs, three checks", 2 * time.Minute, 5 * time.Second, 30 * time.Second, 2, neverAnswers, 3},
		{"slow answers just inside the request timeout", 45 * time.Second, time.Second, 10 * time.Second, 3,
			func(_ string, n int) step { return step{took: 9 * time.Second, pass: n%3 != 2} }, 1},
		{"deadline not a multiple of the interval", 61*time.Second + 300*time.Millisecond, 7 * time.Second, 13 * time.Second, 1, neverAnswers, 2},
		{"fails fast", 10 * time.Minute, 3 * time.Second, 5 * time.Second, 5,
			func(string, int) step { return step{took: 10 * time.Millisecond} }, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var names []string
			for i := range tc.checks {
				names = append(names, fmt.Sprintf("c%d", i))
			}
			start := newFakeClock().now
			res, f := runFake(t, Options{Timeout: tc.timeout, Interval: tc.interval, RequestTimeout: tc.requestTimeout, Successes: tc.successes}, names, tc.script)
			if res.Healthy {
				t.Fatalf("healthy, want unhealthy")
			}
			deadline := start.Add(tc.timeout)
			if limit := deadline.Add(tc.requestTimeout); f.clock.now.After(limit) {
				t.Errorf("run ended at +%s, after deadline + request timeout (+%s)", f.elapsed(start), limit.Sub(start))
			}
			total := 0
			for name, starts := range f.attempts {
				total += len(starts)
				for i, at := range starts {
					if !at.Before(deadline) {
						t.Errorf("%s attempt %d started at +%s, at or after the deadline", name, i+1, at.Sub(start))
					}
					if i > 0 && at.Sub(starts[i-1]) < tc.interval {
						t.Errorf("%s attempts %d and %d only %s apart", name, i, i+1, at.Sub(starts[i-1]))
					}
				}
			}
			if total == 0 {
				t.Fatal("no attempt was made")
			}
			if got := fmt.Sprintf("%.3f", res.ElapsedSeconds); got != fmt.Sprintf("%.3f", seconds(f.elapsed(start))) {
				t.Errorf("result elapsed %s, fake clock says %s", got, f.elapsed(start))
			}
		})
	}
}

func TestFlappingNeverCountsAsConsecutiveSuccesses(t *testing.T) {
	patterns := map[string]func(n int) bool{
		"alternate":            func(n int) bool { return n%2 == 0 },
		"two up one down":      func(n int) bool { return n%3 != 2 },
		"up, up, down, repeat": func(n int) bool { return n%3 != 0 },
	}
	for name, up := range patterns {
		t.Run(name, func(t *testing.T) {
			res, f := runFake(t, Options{Timeout: 5 * time.Minute, Interval: 2 * time.Second, RequestTimeout: time.Second, Successes: 3}, []string{"web"},
				func(_ string, n int) step { return step{took: 50 * time.Millisecond, pass: up(n)} })
			if res.Healthy {
				t.Fatalf("flapping service judged healthy after %d attempts", len(f.attempts["web"]))
			}
			if len(f.attempts["web"]) < 20 {
				t.Fatalf("only %d attempts in 5 minutes at a 2s interval", len(f.attempts["web"]))
			}
			if got := res.Checks[0].PassesInARow; got >= 3 {
				t.Errorf("passes in a row %d", got)
			}
			if !strings.Contains(res.Reason, "passes in a row") {
				t.Errorf("reason %q does not say why", res.Reason)
			}
		})
	}
}

func TestConsecutiveSuccessesAfterFlapping(t *testing.T) {
	// Flaps for 10 attempts, then stays up: healthy exactly at the third pass in a row.
	res, f := runFake(t, Options{Timeout: 5 * time.Minute, Interval: 2 * time.Second, RequestTimeout: time.Second, Successes: 3}, []string{"web"},
		func(_ string, n int) step { return step{took: 100 * time.Millisecond, pass: n >= 10 || n%2 == 0} })
	if !res.Healthy {
		t.Fatalf("unhealthy: %s", res.Reason)
	}
	if got := len(f.attempts["web"]); got != 13 {
		t.Errorf("%d attempts, want 13 (10 flapping, 3 passes)", got)
	}
	// The verdict comes at the end of the last attempt, not an interval later.
	if last := f.ends[len(f.ends)-1]; !f.clock.now.Equal(last) {
		t.Errorf("run ended %s after the deciding attempt", f.clock.now.Sub(last))
	}
}

func TestMaxFailuresStopsEarly(t *testing.T) {
	for _, max := range []int{1, 3, 7} {
		t.Run(fmt.Sprint(max), func(t *testing.T) {
			start := newFakeClock().now
			// Passes every third attempt: failures are not consecutive, and still count.
			res, f := runFake(t, Options{Timeout: 10 * time.Minute, Interval: 5 * time.Second, RequestTimeout: 2 * time.Second, Successes: 2, MaxFailures: max}, []string{"api", "web"},
				func(name string, n int) step {
					return step{took: 20 * time.Millisecond, pass: name == "web" || n%3 == 2}
				})
			if res.Healthy {
				t.Fatal("healthy")
			}
			if got := res.Checks[0].Failures; got != max {
				t.Errorf("stopped after %d failures, want %d", got, max)
			}
			if !strings.Contains(res.Reason, "--max-failures") {
				t.Errorf("reason %q", res.Reason)
			}
			attempts := len(f.attempts["api"])
			wantAttempts := max + (max-1)/2 // a pass after every two failures
			if attempts != wantAttempts {
				t.Errorf("%d attempts, want %d", attempts, wantAttempts)
			}
			if limit := time.Duration(attempts) * 5 * time.Second; f.elapsed(start) > limit {
				t.Errorf("took %s, want at most %s (well before the 10m deadline)", f.elapsed(start), limit)
			}
		})
	}
}

func TestVerdictAsSoonAsImpossible(t *testing.T) {
	// Deadline 60s, interval 10s, 3 passes needed: after a failure at 30s the three attempts
	// still needed would start at 40s, 50s and 60s, and none may start at the deadline, so
	// the run stops at once instead of probing on for 30 seconds in vain.
	start := newFakeClock().now
	res, f := runFake(t, Options{Timeout: time.Minute, Interval: 10 * time.Second, RequestTimeout: time.Second, Successes: 3}, []string{"web"},
		func(string, int) step { return step{took: 10 * time.Millisecond} })
	if res.Healthy {
		t.Fatal("healthy")
	}
	if got := len(f.attempts["web"]); got != 4 {
		t.Errorf("%d attempts, want 4 (at 0, 10, 20, 30s)", got)
	}
	if e := f.elapsed(start); e >= 31*time.Second {
		t.Errorf("verdict at +%s, want right after the attempt at 30s", e)
	}
	if !strings.Contains(res.Reason, "cannot start in time") {
		t.Errorf("reason %q", res.Reason)
	}
}

func TestHeartbeatAtLeastOnceAMinute(t *testing.T) {
	// A check that keeps failing the same way prints no attempt lines after the first; the
	// heartbeat must still keep the log alive, also across long intervals and hanging requests.
	cases := []struct {
		interval, requestTimeout time.Duration
		took                     time.Duration
	}{
		{time.Second, time.Second, 10 * time.Millisecond},
		{90 * time.Second, 30 * time.Second, time.Hour},
		{45 * time.Second, 30 * time.Second, 29 * time.Second},
		{5 * time.Minute, 5 * time.Second, time.Hour},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s/%s", tc.interval, tc.took), func(t *testing.T) {
			start := newFakeClock().now
			_, f := runFake(t, Options{Timeout: 12 * time.Minute, Interval: tc.interval, RequestTimeout: tc.requestTimeout, Successes: 1}, []string{"web"},
				func(string, int) step { return step{took: tc.took} })
			prev := start
			for i, at := range append(f.lines, f.clock.now) {
				if gap := at.Sub(prev); gap > time.Minute {
					t.Fatalf("no output for %s before line %d (+%s)\n%s", gap, i+1, at.Sub(start), f.progress.String())
				}
				prev = at
			}
			if attempts := len(f.attempts["web"]); len(f.lines) > attempts+int(12*time.Minute/HeartbeatEvery)+2 {
				t.Errorf("%d lines for %d attempts", len(f.lines), attempts)
			}
		})
	}
}

func TestOneLinePerAttemptAtMost(t *testing.T) {
	_, f := runFake(t, Options{Timeout: time.Minute, Interval: 100 * time.Millisecond, RequestTimeout: time.Second, Successes: 2}, []string{"a", "b"},
		func(name string, n int) step { return step{took: time.Millisecond, pass: name == "a" && n > 3} })
	attempts := len(f.attempts["a"]) + len(f.attempts["b"])
	// Lines: the start line, one per attempt at most, and heartbeats.
	if max := 1 + attempts + int(time.Minute/HeartbeatEvery) + 1; len(f.lines) > max {
		t.Errorf("%d lines for %d attempts", len(f.lines), attempts)
	}
	// A failure repeated 600 times is not printed 600 times.
	if len(f.lines) > 20 {
		t.Errorf("%d progress lines: repeated failures should be quiet\n%s", len(f.lines), f.progress.String())
	}
}

func TestSeveralChecksAllMustPass(t *testing.T) {
	res, f := runFake(t, Options{Timeout: time.Minute, Interval: time.Second, RequestTimeout: time.Second, Successes: 2}, []string{"a", "b", "c"},
		func(name string, n int) step { return step{took: time.Millisecond, pass: name != "b" || n >= 5} })
	if !res.Healthy {
		t.Fatalf("unhealthy: %s", res.Reason)
	}
	if got := len(f.attempts["b"]); got != 7 {
		t.Errorf("b: %d attempts, want 7", got)
	}
	for _, name := range []string{"a", "c"} {
		if got := len(f.attempts[name]); got != 2 {
			t.Errorf("%s: %d attempts, want 2 (a passed check is not probed again)", name, got)
		}
	}
	for _, c := range res.Checks {
		if c.Outcome != OutcomePassed {
			t.Errorf("%s: %s", c.Name, c.Outcome)
		}
	}
}

func TestUndecidedChecksWhenAnotherFails(t *testing.T) {
	res, _ := runFake(t, Options{Timeout: time.Minute, Interval: time.Second, RequestTimeout: time.Second, Successes: 5, MaxFailures: 2}, []string{"good", "bad"},
		func(name string, n int) step { return step{took: time.Millisecond, pass: name == "good"} })
	if res.Healthy {
		t.Fatal("healthy")
	}
	got := map[string]string{}
	for _, c := range res.Checks {
		got[c.Name] = c.Outcome
	}
	if got["bad"] != OutcomeFailed || got["good"] != OutcomeUndecided {
		t.Errorf("outcomes %v", got)
	}
}

func TestCancelledRunReturnsContextError(t *testing.T) {
	p, err := prepare(Options{Checks: []CheckSpec{{URL: "http://x.invalid/"}}, Clock: newFakeClock()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	_, err = p.run(ctx, func(context.Context, *Check, time.Duration) outcome {
		calls++
		cancel()
		return outcome{problem: "interrupted"}
	})
	if err != context.Canceled || calls != 1 {
		t.Fatalf("err %v after %d calls", err, calls)
	}
}

func TestTimingUsage(t *testing.T) {
	cases := []struct {
		opts Options
		want string
	}{
		{Options{Successes: 3, Interval: time.Minute, Timeout: 2 * time.Minute}, "needs more than --timeout"},
		{Options{RequestTimeout: time.Minute}, "at most 30s"},
		{Options{MaxFailures: -1}, "--max-failures"},
		{Options{Successes: -2}, "--successes"},
		{Options{Timeout: -time.Second}, "positive"},
	}
	for _, tc := range cases {
		tc.opts.Checks = []CheckSpec{{URL: "http://x.invalid/"}}
		_, err := prepare(tc.opts)
		if _, ok := err.(*UsageError); !ok || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err %v, want usage error with %q", tc.opts, err, tc.want)
		}
	}
}
