package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// RetryPolicy bounds retries of transient registry failures: 408, 429, 5xx and connection
// errors. go-containerregistry's own retry sleeps ignore the context and Retry-After; this one
// honours both and caps the total time spent waiting.
type RetryPolicy struct {
	// Attempts is the maximum number of tries per request, the first included. Default 4.
	Attempts int
	// Initial is the first backoff; each later one doubles, with full jitter. Default 250ms.
	Initial time.Duration
	// Max caps one backoff, Retry-After included. Default 10s.
	Max time.Duration
	// Budget caps the total backoff per request. Default 30s.
	Budget time.Duration
	// StallTimeout abandons (and retries) an attempt that makes no progress for this long: no
	// request body bytes sent, no response headers, no response body bytes. It bounds each
	// request without capping a large blob that keeps moving; the command's --timeout bounds
	// the whole operation. Default 60s (also when zero in a non-zero policy).
	StallTimeout time.Duration
}

// DefaultRetry is the policy used when Options.Retry is zero.
var DefaultRetry = RetryPolicy{Attempts: 4, Initial: 250 * time.Millisecond, Max: 10 * time.Second, Budget: 30 * time.Second,
	StallTimeout: 60 * time.Second}

// errStalled marks an attempt abandoned by the stall watchdog; it is retried like a reset.
var errStalled = errors.New("no progress (stalled)")

var errRetryBudget = errors.New("still failing after bounded retries")

type retryTransport struct {
	next   http.RoundTripper
	policy RetryPolicy
	// refused is told, before each wait, that req's connection was refused and how long the
	// transport will keep trying (a registry restarting); nil says nothing.
	refused func(req *http.Request, budget time.Duration)
}

// RoundTrip sends req, and again after a backoff while it fails in a way worth retrying
// and its body can be replayed, within the policy's attempts and budget.
func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var spent time.Duration
	for attempt := 1; ; attempt++ {
		if err := rewind(req, attempt); err != nil {
			return nil, err
		}
		resp, err := t.attempt(req)
		if !worthRetrying(req, resp, err) {
			return resp, err
		}
		wait := t.backoff(attempt, resp)
		// A refused connection is a registry that is down or restarting: it is retried for the
		// whole budget (tens of seconds), not just Attempts times (about 1 s with the default
		// backoff), so a restart during a deploy is waited out (issue 18).
		down := err != nil && errors.Is(err, syscall.ECONNREFUSED)
		if (attempt >= t.policy.Attempts && !down) || spent+wait > t.policy.Budget {
			return exhausted(resp, err)
		}
		if resp != nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		if down && t.refused != nil {
			t.refused(req, t.policy.Budget-spent)
		}
		if err := sleep(req.Context(), wait); err != nil {
			return nil, err
		}
		spent += wait
	}
}

// worthRetrying reports whether an attempt failed in a way worth another: a connection
// error or a retryable status, for a request whose body can be replayed (one that cannot is
// tried once) and whose context is still live.
func worthRetrying(req *http.Request, resp *http.Response, err error) bool {
	retryable := err != nil || retryableStatus(resp.StatusCode)
	canReplay := req.Body == nil || req.GetBody != nil
	return retryable && canReplay && req.Context().Err() == nil
}

// rewind gives a retried request a fresh copy of its body.
func rewind(req *http.Request, attempt int) error {
	if attempt == 1 || req.Body == nil || req.GetBody == nil {
		return nil
	}
	body, err := req.GetBody()
	if err != nil {
		return err
	}
	req.Body = body
	return nil
}

// exhausted is the answer once retries are spent: the last response as it is, or the last
// error marked as retried.
func exhausted(resp *http.Response, err error) (*http.Response, error) {
	if err != nil {
		return nil, errors.Join(errRetryBudget, err)
	}
	return resp, nil
}

// sleep waits d, or returns the context's error when it ends first.
func sleep(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

func retryableStatus(code int) bool {
	return code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500
}

// backoff is exponential with full jitter, or the registry's Retry-After when it gave one,
// capped by Max.
func (t *retryTransport) backoff(attempt int, resp *http.Response) time.Duration {
	if resp != nil {
		if after := retryAfter(resp.Header.Get("Retry-After")); after > 0 {
			return min(after, t.policy.Max)
		}
	}
	ceiling := t.policy.Initial << (attempt - 1)
	if ceiling <= 0 || ceiling > t.policy.Max {
		ceiling = t.policy.Max
	}
	return time.Duration(rand.Int64N(int64(ceiling)) + 1)
}

// retryAfter parses a Retry-After header: delay-seconds or an HTTP date.
func retryAfter(value string) time.Duration {
	if value == "" {
		return 0
	}
	if seconds, err := strconv.Atoi(value); err == nil && seconds >= 0 {
		return time.Duration(seconds) * time.Second
	}
	if when, err := http.ParseTime(value); err == nil {
		return time.Until(when)
	}
	return 0
}

// attempt sends req once under a watchdog: when neither the request body, the response headers
// nor the response body make progress for StallTimeout, the attempt's context is cancelled and
// the attempt fails with errStalled (net/http has no per-read timeout for a client).
func (t *retryTransport) attempt(req *http.Request) (*http.Response, error) {
	limit := t.policy.StallTimeout
	if limit <= 0 {
		limit = DefaultRetry.StallTimeout
	}
	ctx, cancel := context.WithCancel(req.Context())
	w := &watchdog{limit: limit, cancel: cancel}
	w.timer = time.AfterFunc(limit, w.fire)
	r := req.WithContext(ctx)
	if r.Body != nil && r.Body != http.NoBody && r.ContentLength > 0 {
		// Only bodies of known length are wrapped: net/http would send any other wrapped body
		// chunked.
		r.Body = &progressBody{ReadCloser: r.Body, w: w}
	}
	resp, err := t.next.RoundTrip(r)
	if err != nil {
		w.stop()
		if w.fired() {
			return nil, fmt.Errorf("%w: nothing for %s", errStalled, limit)
		}
		return nil, err
	}
	resp.Body = &progressBody{ReadCloser: resp.Body, w: w, response: true}
	return resp, nil
}

type watchdog struct {
	limit  time.Duration
	cancel context.CancelFunc
	timer  *time.Timer
	mu     sync.Mutex
	done   bool
	expiry bool
}

func (w *watchdog) fire() {
	w.mu.Lock()
	if !w.done {
		w.expiry = true
	}
	w.mu.Unlock()
	w.cancel()
}

func (w *watchdog) fired() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.expiry
}

// progress pushes the deadline back after bytes moved.
func (w *watchdog) progress() {
	w.mu.Lock()
	if !w.done && !w.expiry {
		w.timer.Reset(w.limit)
	}
	w.mu.Unlock()
}

// stop ends the watch (the attempt finished or failed) and releases its context.
func (w *watchdog) stop() {
	w.mu.Lock()
	w.done = true
	w.timer.Stop()
	w.mu.Unlock()
	w.cancel()
}

// progressBody feeds the watchdog from a request or response body.
type progressBody struct {
	io.ReadCloser
	w        *watchdog
	response bool
}

func (b *progressBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.w.progress()
	}
	if err != nil && err != io.EOF && b.w.fired() {
		return n, fmt.Errorf("%w: no bytes for %s: %v", errStalled, b.w.limit, err)
	}
	return n, err
}

func (b *progressBody) Close() error {
	err := b.ReadCloser.Close()
	if b.response {
		b.w.stop()
	}
	return err
}
