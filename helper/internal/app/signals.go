package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// StopGrace is how long a command may take to stop after SIGTERM or SIGINT before shipgate
// exits regardless (issue 14 class 6: every command ends within 2 s of the signal). Commands
// stop much sooner: every request, retry and backoff follows the context, and files are
// written whole through a temporary file and a rename, so stopping leaves nothing half-done.
const StopGrace = 1500 * time.Millisecond

// interrupted is the cancellation cause a signal leaves on the command's context.
type interrupted struct{ sig syscall.Signal }

func (i interrupted) Error() string { return "interrupted by " + signalName(i.sig) }

// exitCode is the shell's convention for a process stopped by a signal: 128 + its number
// (130 for SIGINT, 143 for SIGTERM), documented in docs/interface.md and the README.
func (i interrupted) exitCode() int { return 128 + int(i.sig) }

func signalName(sig syscall.Signal) string {
	switch sig {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return sig.String()
}

// Main runs shipgate as a process: os.Args, the standard streams, and SIGINT/SIGTERM turned
// into a cancelled context. It returns the exit code for os.Exit.
func Main() int {
	return runUntilSignalled(os.Args, os.Stdout, os.Stderr, os.Getenv)
}

func runUntilSignalled(args []string, stdout, stderr io.Writer, getenv env) int {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(signals)
	done := make(chan int, 1)
	go func() { done <- run(ctx, args, stdout, stderr, getenv) }()
	select {
	case code := <-done:
		return code
	case s := <-signals:
		cause := interrupted{sig: s.(syscall.Signal)}
		cancel(cause)
		select {
		case code := <-done:
			return code
		case <-signals: // a second signal: stop now
		case <-time.After(StopGrace):
			fmt.Fprintf(stderr, "shipgate: error: %s: still stopping after %s, exiting\n", cause, StopGrace)
		}
		return cause.exitCode()
	}
}

// interruptedBy returns the signal that cancelled ctx, if one did.
func interruptedBy(ctx context.Context) (interrupted, bool) {
	var i interrupted
	ok := errors.As(context.Cause(ctx), &i)
	return i, ok
}
