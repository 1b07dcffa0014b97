// Command devstack runs shipgate's local world: `devstack demo` is `make demo` (the example
// pipeline from src/examples run end to end through the local runner against a real registry,
// an OIDC issuer, an STS emulator and stand-in services); `devstack up` starts the world and
// waits; `devstack stub NAME ...` implements the stubs put on PATH. A development tool, not
// part of the shipped helper.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/shipgate/shipgate/helper/dev/internal/devstack"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: devstack demo | up | stub NAME [ARGS...]")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "stub":
		if len(os.Args) < 3 {
			os.Exit(2)
		}
		os.Exit(devstack.RunStub(os.Args[2], os.Args[3:], os.Stdin, os.Stdout, os.Stderr))
	case "demo":
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		os.Exit(devstack.Demo(ctx, os.Stdout, selfPath()))
	case "up":
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		os.Exit(up(ctx))
	default:
		fmt.Fprintf(os.Stderr, "devstack: unknown command %q\n", os.Args[1])
		os.Exit(2)
	}
}

func selfPath() string {
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "devstack:", err)
		os.Exit(1)
	}
	abs, _ := filepath.Abs(self)
	return abs
}

func up(ctx context.Context) int {
	dir, err := os.MkdirTemp("", "shipgate-devstack-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "devstack:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	s, err := devstack.Start(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "devstack:", err)
		return 1
	}
	defer s.Close()
	fmt.Printf("registry        %s\n", s.Registry.URL)
	fmt.Printf("OIDC issuer     %s\n", s.Issuer.URL)
	fmt.Printf("STS emulator    %s\n", s.STS.URL)
	for _, env := range devstack.Environments {
		fmt.Printf("%-15s %s\n", env+" service", s.Apps[env].URL)
	}
	fmt.Println("running until interrupted (Ctrl-C)")
	<-ctx.Done()
	return 0
}
