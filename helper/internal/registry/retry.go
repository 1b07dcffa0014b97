package registry

import (
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
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
}

// DefaultRetry is the policy used when Options.Retry is zero.
var DefaultRetry = RetryPolicy{Attempts: 4, Initial: 250 * time.Millisecond, Max: 10 * time.Second, Budget: 30 * time.Second}

var errRetryBudget = errors.New("still failing after bounded retries")

type retryTransport struct {
	next   http.RoundTripper
	policy RetryPolicy
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var spent time.Duration
	for attempt := 1; ; attempt++ {
		if attempt > 1 && req.Body != nil && req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			req.Body = body
		}
		resp, err := t.next.RoundTrip(req)
		retryable := err != nil || retryableStatus(resp.StatusCode)
		// A request whose body cannot be replayed is tried once.
		canReplay := req.Body == nil || req.GetBody != nil
		if !retryable || !canReplay || req.Context().Err() != nil {
			return resp, err
		}
		wait := t.backoff(attempt, resp)
		if attempt >= t.policy.Attempts || spent+wait > t.policy.Budget {
			if err != nil {
				return nil, errors.Join(errRetryBudget, err)
			}
			return resp, nil
		}
		if resp != nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		timer := time.NewTimer(wait)
		select {
		case <-req.Context().Done():
			timer.Stop()
			return nil, req.Context().Err()
		case <-timer.C:
		}
		spent += wait
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
