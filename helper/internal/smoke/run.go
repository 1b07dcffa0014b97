// Package smoke runs the HTTP checks that gate a release (shipgate smoke-test): it requests
// each check's URL until the check has passed a number of times in a row, a check has failed
// too often, or the deadline has passed, and returns a verdict with the evidence.
//
// Timing. Attempts of a check start every Interval (a slow response delays the next attempt;
// attempts never overlap). Checks run one after another in a single loop. No attempt starts
// at or after the deadline (start + Timeout), and every attempt is bounded by RequestTimeout,
// so a run ends no later than deadline + RequestTimeout. It ends earlier as soon as the verdict
// is known: every check has passed Successes times in a row (healthy), or one check has failed
// MaxFailures times, or one check can no longer reach Successes passes in a row before the
// deadline (unhealthy).
//
// Output. Progress goes to Options.Progress: one line per attempt at most (an attempt that
// repeats the previous one's outcome for its check prints nothing) and a heartbeat whenever
// nothing was printed for HeartbeatEvery, so CircleCI's no-output timeout never fires.
// Secrets never reach the output: header values taken from the environment and anything in a
// response that looks like a credential are replaced with [REDACTED].
package smoke

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/shipgate/shipgate/helper/internal/safetext"
)

// Defaults, documented where they are defined.
const (
	// DefaultTimeout is how long a run may take in total.
	DefaultTimeout = 5 * time.Minute
	// DefaultInterval is the time between the starts of two attempts of a check.
	DefaultInterval = 5 * time.Second
	// DefaultRequestTimeout bounds one request, body included.
	DefaultRequestTimeout = 10 * time.Second
	// MaxRequestTimeout caps RequestTimeout so that, with HeartbeatEvery, some line is printed
	// at least once a minute even while a request hangs.
	MaxRequestTimeout = 30 * time.Second
	// DefaultSuccesses is how many passes in a row a check needs: one pass behind a load
	// balancer may come from the one instance already updated.
	DefaultSuccesses = 3
	// HeartbeatEvery is the longest quiet time between progress lines outside a request.
	HeartbeatEvery = 30 * time.Second
)

// Clock is the time source of a run; tests pass a fake one.
type Clock interface {
	Now() time.Time
	// Sleep waits for d or until ctx is done, whichever comes first, and returns ctx.Err()
	// in the latter case.
	Sleep(ctx context.Context, d time.Duration) error
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Options configure a run. The zero value of each timing field means its default.
type Options struct {
	// Checks are the checks from the command line, in order.
	Checks []CheckSpec
	// ChecksFile, when set, adds the checks of that YAML file (see checksFile).
	ChecksFile string
	// Version is the version checks expect by default ("" checks none): --expect-version,
	// else SHIPGATE_VERSION (the version recorded for the digest being deployed).
	Version string
	// Getenv reads the environment variables that header values name (env:NAME).
	Getenv func(string) string

	// CAFile adds the PEM certificates in it to the system roots; Insecure skips TLS
	// verification (explicitly, never by default).
	CAFile   string
	Insecure bool

	Timeout        time.Duration
	Interval       time.Duration
	RequestTimeout time.Duration
	// Successes is how many passes in a row each check needs (default DefaultSuccesses).
	Successes int
	// MaxFailures stops the run as unhealthy when one check has failed that many attempts
	// (not necessarily in a row); 0 means no limit but the deadline.
	MaxFailures int

	// UserAgent is sent with every request.
	UserAgent string
	// Progress receives progress lines; nil discards them.
	Progress io.Writer
	// Clock is the time source; nil means the real clock.
	Clock Clock
}

// Run validates every check (all of it before any request: a usage problem returns
// *UsageError) and then runs them until the verdict is known. The error is nil whenever a
// verdict was reached, healthy or not; it is the context's error when ctx ended first.
func Run(ctx context.Context, opts Options) (*Result, error) {
	plan, err := prepare(opts)
	if err != nil {
		return nil, err
	}
	transport, err := newTransport(transportOptions{caFile: opts.CAFile, insecure: opts.Insecure})
	if err != nil {
		return nil, &UsageError{Err: err}
	}
	prober := &httpProber{transport: transport, userAgent: plan.userAgent, red: plan.red}
	return plan.run(ctx, prober.probe)
}

// UsageError is bad usage found before any request: a malformed URL, regular expression, JSON
// path or status, a header naming an unset variable, an unreadable checks or CA file.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// plan is a validated run.
type plan struct {
	checks         []*Check
	timeout        time.Duration
	interval       time.Duration
	requestTimeout time.Duration
	successes      int
	maxFailures    int
	userAgent      string
	red            *redactor
	clock          Clock
	progress       io.Writer
}

// prepare validates opts and compiles every check.
func prepare(opts Options) (*plan, error) {
	usage := func(format string, args ...any) (*plan, error) {
		return nil, &UsageError{Err: fmt.Errorf(format, args...)}
	}
	p := &plan{
		timeout: orDefault(opts.Timeout, DefaultTimeout), interval: orDefault(opts.Interval, DefaultInterval),
		requestTimeout: orDefault(opts.RequestTimeout, DefaultRequestTimeout),
		successes:      opts.Successes, maxFailures: opts.MaxFailures,
		userAgent: opts.UserAgent, red: &redactor{}, clock: opts.Clock, progress: opts.Progress,
	}
	if p.successes == 0 {
		p.successes = DefaultSuccesses
	}
	if p.userAgent == "" {
		p.userAgent = "shipgate-smoke-test"
	}
	if p.clock == nil {
		p.clock = realClock{}
	}
	if p.progress == nil {
		p.progress = io.Discard
	}
	switch {
	case p.timeout < 0 || p.interval < 0 || p.requestTimeout < 0:
		return usage("--timeout, --interval and --request-timeout must be positive")
	case p.requestTimeout > MaxRequestTimeout:
		return usage("--request-timeout %s: at most %s (a smoke-test request that takes longer has failed)", p.requestTimeout, MaxRequestTimeout)
	case p.successes < 0 || p.successes > 1000:
		return usage("--successes %d: want 1 to 1000", p.successes)
	case p.maxFailures < 0:
		return usage("--max-failures %d: want 0 (no limit) or more", p.maxFailures)
	case time.Duration(p.successes-1)*p.interval >= p.timeout:
		return usage("--successes %d with --interval %s needs more than --timeout %s", p.successes, p.interval, p.timeout)
	}

	env := compileEnv{getenv: opts.Getenv, version: strings.TrimSpace(opts.Version), red: p.red}
	if env.getenv == nil {
		env.getenv = func(string) string { return "" }
	}
	for _, spec := range opts.Checks {
		c, err := compile(spec, "--url "+redactURLText(spec.URL), env)
		if err != nil {
			return nil, &UsageError{Err: err}
		}
		p.checks = append(p.checks, c)
	}
	if opts.ChecksFile != "" {
		specs, err := LoadChecksFile(opts.ChecksFile)
		if err != nil {
			return nil, &UsageError{Err: err}
		}
		for _, spec := range specs {
			c, err := compile(spec, fmt.Sprintf("checks file %s: check %q", opts.ChecksFile, spec.Name), env)
			if err != nil {
				return nil, &UsageError{Err: err}
			}
			p.checks = append(p.checks, c)
		}
	}
	if len(p.checks) == 0 {
		return usage("nothing to check: give --url URL or --checks FILE")
	}
	names := map[string]int{}
	for _, c := range p.checks {
		names[c.Name]++
		if n := names[c.Name]; n > 1 {
			c.Name = fmt.Sprintf("%s #%d", c.Name, n)
		}
	}
	return p, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// checkState is the progress of one check during a run.
type checkState struct {
	check      *Check
	attempts   int
	inARow     int // consecutive passes
	failures   int // failed attempts in total
	nextDue    time.Time
	last       *outcome
	lastLine   string
	passed     bool
	failed     bool
	reason     string
	finishedAt time.Time
}

func (s *checkState) pending() bool { return !s.passed && !s.failed }

// runner is one run in progress.
type runner struct {
	*plan
	probe     probeFunc
	states    []*checkState
	start     time.Time
	deadline  time.Time
	lastPrint time.Time
}

func (p *plan) run(ctx context.Context, probe probeFunc) (*Result, error) {
	r := &runner{plan: p, probe: probe}
	r.start = p.clock.Now()
	r.deadline = r.start.Add(p.timeout)
	states := make([]*checkState, len(p.checks))
	for i, c := range p.checks {
		states[i] = &checkState{check: c, nextDue: r.start}
	}
	r.states = states
	r.say("checking %d URL(s) until %d passes in a row each; deadline in %s, %s between attempts, %s per request",
		len(states), p.successes, p.timeout, p.interval, p.requestTimeout)

	verdict := ""
	for verdict == "" {
		next, reason := r.decide(states)
		if next == nil {
			verdict = reason
			break
		}
		due := next.nextDue
		if now := p.clock.Now(); now.After(due) {
			due = now
		}
		if err := r.sleepUntil(ctx, due); err != nil {
			return nil, err
		}
		r.attempt(ctx, next)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	return r.result(states, verdict), nil
}

// decide returns the pending check to attempt next, or nil and the verdict when it is known.
func (r *runner) decide(states []*checkState) (*checkState, string) {
	now := r.clock.Now()
	var next *checkState
	allPassed := true
	for _, s := range states {
		if s.failed {
			return nil, fmt.Sprintf("check %q failed: %s", s.check.Name, s.reason)
		}
		if s.passed {
			continue
		}
		allPassed = false
		due := s.nextDue
		if now.After(due) {
			due = now
		}
		// The earliest the check could complete its run of passes: the remaining attempts
		// start an interval apart, and none may start at or after the deadline.
		need := r.successes - s.inARow
		if !due.Add(time.Duration(need-1) * r.interval).Before(r.deadline) {
			s.fail(now, r.timeoutReason(s, need))
			return nil, fmt.Sprintf("check %q failed: %s", s.check.Name, s.reason)
		}
		if next == nil || s.nextDue.Before(next.nextDue) {
			next = s
		}
	}
	if allPassed {
		return nil, ""
	}
	return next, ""
}

func (r *runner) timeoutReason(s *checkState, need int) string {
	if !r.clock.Now().Before(r.deadline) {
		return fmt.Sprintf("deadline of %s passed without %d passes in a row", r.timeout, r.successes)
	}
	return fmt.Sprintf("no %d passes in a row before the %s deadline: the %d more needed cannot start in time", r.successes, r.timeout, need)
}

func (s *checkState) fail(at time.Time, reason string) {
	s.failed, s.reason, s.finishedAt = true, reason, at
}

// attempt makes one attempt of s and records it.
func (r *runner) attempt(ctx context.Context, s *checkState) {
	start := r.clock.Now()
	o := r.probe(ctx, s.check, r.requestTimeout)
	end := r.clock.Now()
	s.attempts++
	s.last = &o
	s.nextDue = start.Add(r.interval)
	if s.nextDue.Before(end) {
		s.nextDue = end
	}
	var tally string
	if o.passed() {
		s.inARow++
		tally = fmt.Sprintf("pass %d/%d", s.inARow, r.successes)
		if s.inARow >= r.successes {
			s.passed, s.finishedAt = true, end
		}
	} else {
		s.inARow = 0
		s.failures++
		tally = fmt.Sprintf("fail %d", s.failures)
		if r.maxFailures > 0 {
			tally += fmt.Sprintf("/%d", r.maxFailures)
		}
		if r.maxFailures > 0 && s.failures >= r.maxFailures {
			s.fail(end, fmt.Sprintf("%d failed attempts (--max-failures %d)", s.failures, r.maxFailures))
		}
	}
	verdictOf := "fail"
	if o.passed() {
		verdictOf = "pass"
	}
	summary := verdictOf + ": " + o.summary()
	// Print every pass (a run of passes is short) and every change; a repeated failure
	// prints nothing and the heartbeat shows the run is alive.
	if o.passed() || summary != s.lastLine || s.failed {
		r.say("%s #%d: %s [%s]", s.check.Name, s.attempts, o.summary(), tally)
	} else if end.Sub(r.lastPrint) >= HeartbeatEvery {
		r.heartbeat()
	}
	s.lastLine = summary
}

// sleepUntil waits until t, printing a heartbeat whenever nothing was printed for HeartbeatEvery.
func (r *runner) sleepUntil(ctx context.Context, t time.Time) error {
	for {
		now := r.clock.Now()
		if !now.Before(t) {
			return nil
		}
		beat := r.lastPrint.Add(HeartbeatEvery)
		if !beat.After(now) {
			r.heartbeat()
			continue
		}
		wake := t
		if beat.Before(wake) {
			wake = beat
		}
		if err := r.clock.Sleep(ctx, wake.Sub(now)); err != nil {
			return err
		}
		if !r.clock.Now().Before(r.lastPrint.Add(HeartbeatEvery)) {
			r.heartbeat()
		}
	}
}

// heartbeat prints a line that says the run is alive and what it is waiting for.
func (r *runner) heartbeat() {
	left := r.deadline.Sub(r.clock.Now()).Round(time.Second)
	var waiting []string
	for _, s := range r.states {
		if s.pending() && s.last != nil && !s.last.passed() {
			waiting = append(waiting, fmt.Sprintf("%s: %d attempts, last %s", s.check.Name, s.attempts, s.last.summary()))
		}
	}
	line := fmt.Sprintf("still checking, %s left", left)
	if len(waiting) > 0 {
		line += "; " + strings.Join(waiting, "; ")
	}
	r.say("%s", line)
}

// say prints one progress line, redacted, stamped with the time since the run started.
func (r *runner) say(format string, args ...any) {
	now := r.clock.Now()
	r.lastPrint = now
	elapsed := now.Sub(r.start).Truncate(time.Second)
	line := safetext.Escape(r.red.String(fmt.Sprintf(format, args...)))
	fmt.Fprintf(r.progress, "shipgate: smoke-test %s %s\n", clockText(elapsed), line)
}

func clockText(d time.Duration) string {
	s := int(d / time.Second)
	return fmt.Sprintf("%02d:%02d", s/60, s%60)
}
