package ledger

import (
	"context"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/shipgate/shipgate/helper/internal/failure"
)

// RefuseBad is the rule "a digest marked bad in an environment is never deployed or promoted
// there again unless forced", for writers outside the ledger (promote), kept beside Append's
// own check of the same rule. It returns a safety error naming the digest, the environment
// and the repository when digest is marked bad in env, and nil otherwise.
func (l *Ledger) RefuseBad(ctx context.Context, env string, digest v1.Hash) error {
	if err := ValidateEnv(env); err != nil {
		return err
	}
	bad, err := l.IsBad(ctx, env, digest)
	if err != nil {
		return err
	}
	if bad {
		return failure.WithHint(failure.New(failure.Safety, "%s is marked bad in %s (%s)", digest, env, l.repo),
			"promote another digest, or pass --force")
	}
	return nil
}
