package localrunner

import (
	"fmt"

	"github.com/shipgate/shipgate/helper/internal/circleci"
)

// decide evaluates a substituted logic statement by CircleCI's rules (the one model in
// helper/internal/circleci). Everything is known when a pipeline runs; an undecided result
// would mean a value the runner failed to provide, so it is an error, never a guess.
func decide(cond any) (bool, error) {
	v, known, err := circleci.EvalCondition(cond)
	if err == nil && !known {
		return false, fmt.Errorf("condition depends on a value the local runner does not know")
	}
	return v, err
}

// describe names a value for error messages, the runner's compiled values included.
func describe(v any) string {
	switch v.(type) {
	case compiledSteps:
		return "steps"
	case *compiledExecutor:
		return "an executor"
	}
	return circleci.Describe(v)
}
