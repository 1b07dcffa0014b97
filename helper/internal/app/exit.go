package app

import (
	"fmt"
	"io"
	"strings"

	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/safetext"
)

// usageError marks a flag-parsing or argument error as bad usage (exit code 2).
func usageError(err error) error {
	if err == nil {
		return nil
	}
	if failure.KindOf(err) != failure.Internal {
		return err
	}
	return failure.Wrap(failure.Usage, err, "bad usage")
}

// exitCode is the one place that maps an error to the process exit code
// (docs/interface.md, "Exit codes").
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	// An interrupted command never reaches here: run returns 128+signal for it (signals.go).
	return int(failure.KindOf(err))
}

// reportError prints err as one line on stderr (plus an optional hint line) and returns the
// exit code. Multi-line causes are folded so a CI log shows a single error line.
func reportError(stderr io.Writer, err error) int {
	code := exitCode(err)
	if err == nil {
		return code
	}
	// Folded to one line, then escaped: a cause may quote a server's or a file's words.
	msg := strings.Join(strings.Fields(err.Error()), " ")
	fmt.Fprintf(stderr, "shipgate: error: %s\n", safetext.Escape(msg))
	if hint := failure.HintOf(err); hint != "" {
		fmt.Fprintf(stderr, "shipgate: hint: %s\n", safetext.Escape(hint))
	}
	return code
}
