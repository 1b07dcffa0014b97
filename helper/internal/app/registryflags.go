package app

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/urfave/cli/v2"

	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/ledger"
	"github.com/shipgate/shipgate/helper/internal/registry"
)

// registryAuthProvider adds credentials for some registries (ECR through an assumed role,
// Artifact Registry through workload identity) in front of the Docker config keychain.
type registryAuthProvider struct {
	flags    func() []cli.Flag
	keychain func(c *cli.Context, s *streams) (authn.Keychain, error)
}

// registryAuthProviders are the cloud keychains, in the order they are asked (wired here, not
// registered by init functions in file-name order).
var registryAuthProviders = []registryAuthProvider{awsRegistryAuth, gcpRegistryAuth}

// registryFlags are the flags every command that talks to a registry shares.
func registryFlags() []cli.Flag {
	flags := []cli.Flag{
		&cli.BoolFlag{Name: "insecure", Usage: "allow plain HTTP to non-loopback registries (loopback registries always use HTTP)"},
		registryTimeoutFlag{&cli.DurationFlag{Name: timeoutFlag, Value: defaultTimeout, Usage: "give up the whole operation (retries included) after `DURATION` (exit code 7)"}},
	}
	for _, p := range registryAuthProviders {
		flags = append(flags, p.flags()...)
	}
	return flags
}

const timeoutFlag = "timeout"

// registryTimeoutFlag is the registry commands' --timeout: its type marks the commands that
// applyTimeout runs under a deadline (smoke-test and aws have a --timeout of their own, which
// their domain packages apply).
type registryTimeoutFlag struct{ *cli.DurationFlag }

// defaultTimeout bounds one registry command: long enough for a multi-gigabyte cross-registry
// copy, short enough that a stuck registry fails the job well before CircleCI's own limits.
const defaultTimeout = 10 * time.Minute

// applyTimeout makes a command that has the registry --timeout flag run under that deadline: every request,
// retry and backoff of the operation ends when it passes. A failure caused by the deadline
// reads as such, with exit code 7 (a dependency stayed unavailable).
func applyTimeout(c *cli.Command) {
	has := false
	for _, f := range c.Flags {
		if _, ok := f.(registryTimeoutFlag); ok {
			has = true
		}
	}
	if !has || c.Action == nil {
		return
	}
	action := c.Action
	c.Action = func(ctx *cli.Context) error {
		limit := ctx.Duration(timeoutFlag)
		if limit <= 0 {
			return failure.New(failure.Usage, "--timeout %s: want a positive duration such as 10m", limit)
		}
		parent := ctx.Context
		deadline, cancel := context.WithTimeout(parent, limit)
		defer cancel()
		ctx.Context = deadline
		defer func() { ctx.Context = parent }()
		err := action(ctx)
		if err != nil && errors.Is(deadline.Err(), context.DeadlineExceeded) && parent.Err() == nil {
			return failure.WithHint(failure.Wrap(failure.Unavailable, err, "gave up after --timeout %s", limit),
				"the registry was too slow or kept failing; retry later or raise --timeout")
		}
		return err
	}
}

// newRegistryClient builds the registry client from the shared flags: cloud keychains first,
// then the Docker config and its credential helpers.
func newRegistryClient(c *cli.Context, s *streams) (*registry.Client, error) {
	keychains := []authn.Keychain{}
	for _, p := range registryAuthProviders {
		k, err := p.keychain(c, s)
		if err != nil {
			return nil, err
		}
		if k != nil {
			keychains = append(keychains, k)
		}
	}
	keychains = append(keychains, authn.DefaultKeychain)
	heartbeat := time.Duration(0) // the client's default
	if c.Bool("quiet") {
		heartbeat = -1
	}
	return registry.New(registry.Options{
		Keychain:  authn.NewMultiKeychain(keychains...),
		Insecure:  c.Bool("insecure"),
		Log:       s.stderr,
		UserAgent: "shipgate/" + Version,
		Heartbeat: heartbeat,
	}), nil
}

// progressWriter is where a long operation's progress lines go: stderr, unless --quiet.
func progressWriter(c *cli.Context, s *streams) io.Writer {
	if c.Bool("quiet") {
		return nil
	}
	return s.stderr
}

// newLedger opens the ledger of the application repository repo (in its --ledger-repo when
// the command has that flag and it is set) with the command's registry client.
func newLedger(c *cli.Context, s *streams, repo registry.Repository) (*ledger.Ledger, error) {
	l, err := openLedger(c, s, repo)
	if err != nil {
		return nil, err
	}
	return l.Ledger, nil
}

// withFlags concatenates flag lists.
func withFlags(lists ...[]cli.Flag) []cli.Flag {
	var out []cli.Flag
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}
