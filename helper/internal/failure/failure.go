// Package failure is shipgate's catalogue of error classes. Domain packages mark an error with
// the class a user must act on (bad input, refused credentials, not found, ...); the app
// package turns the class into the process exit code, in exactly one place (app/exit.go).
package failure

import (
	"errors"
	"fmt"
)

// Kind is the class of a failure. Its numeric value is the documented exit code
// (docs/interface.md, "Exit codes").
type Kind int

const (
	// Internal is an unexpected error: a bug or an unclassified failure. Exit code 1.
	Internal Kind = 1
	// Usage is bad usage or invalid input; nothing was attempted. Exit code 2.
	Usage Kind = 2
	// Auth is an authentication or authorisation refusal (registry 401/403, STS AccessDenied,
	// expired token). Exit code 3.
	Auth Kind = 3
	// NotFound is a missing image, digest, ledger entry or rollback target. Exit code 4.
	NotFound Kind = 4
	// Safety is a refusal by a safety rule (digest mismatch, tag-only source, marked bad,
	// immutable conflict). Exit code 5.
	Safety Kind = 5
	// Unhealthy means the checked thing is unhealthy (smoke-test failed, lint found problems).
	// Exit code 6.
	Unhealthy Kind = 6
	// Unavailable means a dependency stayed unavailable after bounded retries. Exit code 7.
	Unavailable Kind = 7
)

func (k Kind) String() string {
	switch k {
	case Internal:
		return "internal error"
	case Usage:
		return "bad usage"
	case Auth:
		return "refused"
	case NotFound:
		return "not found"
	case Safety:
		return "refused by a safety rule"
	case Unhealthy:
		return "unhealthy"
	case Unavailable:
		return "unavailable"
	}
	return fmt.Sprintf("kind %d", int(k))
}

// Error is an error marked with a Kind. Msg is the one line a user reads; Err, when set, is the
// cause (kept for errors.Is/As, not printed twice).
type Error struct {
	Kind Kind
	Msg  string
	Err  error
	// Hint, when set, says what to do next; the CLI prints it on a second line.
	Hint string
	// cause is reachable through Unwrap but already part of Msg.
	cause error
}

func (e *Error) Error() string {
	if e.Err == nil {
		return e.Msg
	}
	if e.Msg == "" {
		return e.Err.Error()
	}
	return e.Msg + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error {
	if e.Err != nil {
		return e.Err
	}
	return e.cause
}

// New returns an error of kind k with a formatted message. A %w verb in format keeps the cause
// reachable through errors.Is/As; the message is printed once.
func New(k Kind, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	return &Error{Kind: k, Msg: err.Error(), cause: errors.Unwrap(err)}
}

// Wrap marks err with kind k and a message naming the operation. It returns nil for a nil err.
func Wrap(k Kind, err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return &Error{Kind: k, Msg: fmt.Sprintf(format, args...), Err: err}
}

// WithHint returns err, keeping its kind and message, with a hint saying what to do next.
func WithHint(err error, hint string) error {
	if err == nil {
		return nil
	}
	return &Error{Kind: KindOf(err), Msg: err.Error(), cause: err, Hint: hint}
}

// KindOf reports the Kind of err: the outermost marked error in its chain wins, and an unmarked
// error is Internal.
func KindOf(err error) Kind {
	var fe *Error
	if errors.As(err, &fe) {
		return fe.Kind
	}
	return Internal
}

// HintOf returns the hint attached anywhere in err's chain, or "".
func HintOf(err error) string {
	for err != nil {
		var fe *Error
		if !errors.As(err, &fe) {
			return ""
		}
		if fe.Hint != "" {
			return fe.Hint
		}
		err = fe.Unwrap()
	}
	return ""
}
