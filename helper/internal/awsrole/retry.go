package awsrole

import (
	"time"

	"github.com/shipgate/shipgate/helper/internal/backoff"
)

// Retry is the bounded, jittered, context-cancellable backoff shipgate applies to STS calls.
// The SDK's own retryer is switched off so that exactly one policy decides (STYLE.md: the raw
// client does not retry InvalidIdentityToken; we decide explicitly which codes are transient).
type Retry = backoff.Policy

// DefaultRetry is the policy used when Options.Retry is the zero value: 5 tries, backoff from
// 500ms up to 10s.
var DefaultRetry = Retry{Attempts: 5, Base: 500 * time.Millisecond, Max: 10 * time.Second}
