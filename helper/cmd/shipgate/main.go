// Command shipgate is the helper behind the shipgate CircleCI orb: promotion by digest, the
// known-good ledger, rollback, OIDC role assumption and smoke tests. See README.md.
package main

import (
	"os"

	"github.com/shipgate/shipgate/helper/internal/app"
)

func main() {
	// app.Main turns SIGINT/SIGTERM into a cancelled context and bounds the stop (signals.go).
	os.Exit(app.Main())
}
