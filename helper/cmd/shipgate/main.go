// Command shipgate is the helper behind the shipgate CircleCI orb: promotion by digest, the
// known-good ledger, rollback, OIDC role assumption and smoke tests. See README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/shipgate/shipgate/helper/internal/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := app.Run(ctx, os.Args, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
