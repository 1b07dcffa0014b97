package awsrole

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/shipgate/shipgate/helper/internal/failure"
)

// stsFailure is what shipgate understands of a failed STS call.
type stsFailure struct {
	code       string // STS error code, "" for a transport error
	message    string
	status     int
	requestID  string
	retryAfter time.Duration
	transient  bool
	err        error
}

// transientCodes are the STS error codes worth retrying (FACTS.md §2). InvalidIdentityToken is
// transient only in its "Couldn't retrieve verification key" form (aws-cli orb #136).
var transientCodes = map[string]bool{
	"IDPCommunicationError": true,
	"Throttling":            true,
	"ThrottlingException":   true,
	"RequestLimitExceeded":  true,
	"InternalFailure":       true,
	"ServiceUnavailable":    true,
}

// classify reads an error from the STS client.
func classify(err error) stsFailure {
	f := stsFailure{err: err}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.Response != nil {
		f.status = re.Response.StatusCode
		f.retryAfter = parseRetryAfter(re.Response.Header.Get("Retry-After"), time.Now())
		f.requestID = re.Response.Header.Get("X-Amzn-Requestid")
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		f.code, f.message = apiErr.ErrorCode(), apiErr.ErrorMessage()
		f.transient = transientCodes[f.code] || f.status >= 500 || f.status == http.StatusTooManyRequests ||
			(f.code == "InvalidIdentityToken" && strings.Contains(f.message, "retrieve verification key"))
		return f
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		// The exchange's own deadline is checked before this classification is used (do), so
		// a deadline here is one request's (http.Client.Timeout): STS stalled. Retry it.
		f.transient = true
		return f
	}
	// No answer from STS at all (refused connection, reset, DNS), a throttle or server error
	// without a readable body, or a 2xx whose body was cut or corrupted on the way (the fault
	// proxy found these were final): transient.
	f.transient = f.status == 0 || f.status == http.StatusTooManyRequests || f.status >= 500 || (f.status >= 200 && f.status < 300)
	return f
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// describe is the one line a user reads about f (never the token: STS does not echo it).
func (f stsFailure) describe() string {
	if f.code == "" {
		return fmt.Sprintf("no answer from STS: %v", rootCause(f.err))
	}
	s := f.code
	if f.message != "" {
		s += ": " + f.message
	}
	if f.requestID != "" {
		s += " (request ID " + f.requestID + ")"
	}
	return s
}

// kind maps a final (not retried, or retries exhausted) STS failure to an exit class.
func (f stsFailure) kind() failure.Kind {
	switch {
	case f.transient:
		return failure.Unavailable
	case f.code == "ValidationError":
		return failure.Usage
	case f.code == "":
		return failure.Unavailable
	case f.status == 401 || f.status == 403, strings.HasPrefix(f.code, "Invalid"), strings.HasPrefix(f.code, "Expired"),
		f.code == "IDPRejectedClaim", f.code == "AccessDenied", f.code == "RegionDisabledException",
		f.code == "PackedPolicyTooLarge", f.code == "MalformedPolicyDocument":
		return failure.Auth
	}
	return failure.Internal
}

// rootCause picks the most telling part of a transport error: the network error itself
// ("dial tcp ...: connection refused") rather than the SDK's operation wrapping.
func rootCause(err error) error {
	var netErr net.Error
	if errors.As(err, &netErr) {
		return netErr
	}
	return err
}
