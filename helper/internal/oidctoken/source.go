// Package oidctoken finds a CircleCI OIDC token (from the environment, a file, or minted fresh
// with the circleci CLI) and decodes its claims without checking the signature, so a caller can
// say precisely what is wrong with a token before sending it anywhere. The token itself never
// appears in an error, a log line or a String method: only its claims do.
package oidctoken

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"regexp"
	"strings"
	"sync"

	"github.com/shipgate/shipgate/helper/internal/failure"
	"github.com/shipgate/shipgate/helper/internal/inputfile"
)

// The variables CircleCI injects into every job (FACTS.md §1). V2 carries the VCS origin and
// ref in `sub`, so it is preferred.
const (
	EnvV2 = "CIRCLE_OIDC_TOKEN_V2"
	EnvV1 = "CIRCLE_OIDC_TOKEN"
)

// Source yields a raw OIDC token. Token is called each time a token is needed: a minting source
// returns a fresh token on every call.
type Source interface {
	Token(ctx context.Context) (string, error)
	// Describe names where the token comes from ("$CIRCLE_OIDC_TOKEN_V2", "file x", ...) for
	// messages; it never includes the token.
	Describe() string
}

// EnvSource reads a token from an environment variable. With Name empty it reads
// $CIRCLE_OIDC_TOKEN_V2, else $CIRCLE_OIDC_TOKEN.
type EnvSource struct {
	Getenv func(string) string
	Name   string
}

// Token implements Source.
func (e EnvSource) Token(context.Context) (string, error) {
	if e.Name != "" {
		v := strings.TrimSpace(e.Getenv(e.Name))
		if v == "" {
			return "", failure.New(failure.Usage, "no OIDC token: $%s is empty or unset", e.Name)
		}
		return v, nil
	}
	for _, name := range []string{EnvV2, EnvV1} {
		if v := strings.TrimSpace(e.Getenv(name)); v != "" {
			return v, nil
		}
	}
	return "", failure.WithHint(
		failure.New(failure.Usage, "no OIDC token: $%s and $%s are both empty or unset", EnvV2, EnvV1),
		"run inside a CircleCI job (forked-PR builds get tokens only with \"pass secrets to forked PRs\"), or use --token-file / --token-env / --audience")
}

// Describe implements Source.
func (e EnvSource) Describe() string {
	if e.Name != "" {
		return "$" + e.Name
	}
	if e.Getenv != nil && strings.TrimSpace(e.Getenv(EnvV2)) != "" {
		return "$" + EnvV2
	}
	if e.Getenv != nil && strings.TrimSpace(e.Getenv(EnvV1)) != "" {
		return "$" + EnvV1
	}
	return "$" + EnvV2 + " / $" + EnvV1
}

// FileSource reads a token from a file (surrounding whitespace is ignored). The file is read on
// every call, so a file refreshed by another process yields the new token.
type FileSource struct {
	Path string
}

// maxTokenBytes bounds what is read from a token file or the circleci CLI: real tokens are a
// few kilobytes.
const maxTokenBytes = 64 << 10

// Token implements Source.
func (f FileSource) Token(context.Context) (string, error) {
	data, err := inputfile.Read(f.Path, "OIDC token file", maxTokenBytes)
	if err != nil {
		return "", err
	}
	v := strings.TrimSpace(string(data))
	if v == "" {
		return "", failure.New(failure.Usage, "OIDC token file %q is empty", f.Path)
	}
	return v, nil
}

// Describe implements Source.
func (f FileSource) Describe() string { return fmt.Sprintf("file %q", f.Path) }

// Runner runs a program with arguments (no shell) and returns its standard output. Standard
// error is returned separately so it can be summarised in an error without the output.
type Runner func(ctx context.Context, name string, args ...string) (stdout, stderr []byte, err error)

// ExecRunner runs a real program.
func ExecRunner(ctx context.Context, name string, args ...string) ([]byte, []byte, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()
	return stdout.Bytes(), stderr.Bytes(), err
}

// MintSource mints a fresh token with `circleci run oidc get --claims '{"aud":AUDIENCE}'` on
// every call. The CLI prints the token unmasked (FACTS.md §1), so its output is captured and
// never echoed.
type MintSource struct {
	Audience string
	// Run runs the circleci CLI; nil means ExecRunner.
	Run Runner
	// Program is the CLI to run; "" means "circleci".
	Program string
}

// Token implements Source.
func (m MintSource) Token(ctx context.Context) (string, error) {
	if m.Audience == "" {
		return "", failure.New(failure.Usage, "minting an OIDC token needs an audience")
	}
	claims, err := json.Marshal(map[string]string{"aud": m.Audience})
	if err != nil {
		return "", failure.Wrap(failure.Internal, err, "encoding claims")
	}
	run, program := m.Run, m.Program
	if run == nil {
		run = ExecRunner
	}
	if program == "" {
		program = "circleci"
	}
	stdout, stderr, err := run(ctx, program, "run", "oidc", "get", "--claims", string(claims))
	if err != nil {
		kind := failure.Unavailable
		if ctx.Err() == nil && isNotFound(err) {
			kind = failure.Usage
		}
		detail := summarise(stderr)
		if detail != "" {
			return "", failure.Wrap(kind, fmt.Errorf("%w: %s", err, detail), "minting an OIDC token for audience %q with `%s run oidc get`", m.Audience, program)
		}
		return "", failure.Wrap(kind, err, "minting an OIDC token for audience %q with `%s run oidc get`", m.Audience, program)
	}
	if len(stdout) > maxTokenBytes {
		return "", failure.New(failure.Unavailable, "`%s run oidc get` printed %d bytes: not a token", program, len(stdout))
	}
	token := strings.TrimSpace(string(stdout))
	if token == "" {
		return "", failure.New(failure.Unavailable, "`%s run oidc get` printed no token for audience %q", program, m.Audience)
	}
	return token, nil
}

// Describe implements Source.
func (m MintSource) Describe() string {
	return fmt.Sprintf("a token minted by `circleci run oidc get` for audience %q", m.Audience)
}

// isNotFound reports whether the program could not be started at all (not installed): that is
// a setup problem, not an unavailable service.
func isNotFound(err error) bool {
	var execErr *exec.Error
	return errors.As(err, &execErr) || errors.Is(err, fs.ErrNotExist)
}

// jwtLike matches anything shaped like a compact JWS, so a token that a failing CLI printed on
// its error stream is not repeated in our message.
var jwtLike = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*`)
})

// summarise returns the first line of a program's error output, with anything token-shaped
// redacted and the length bounded.
func summarise(stderr []byte) string {
	line := strings.TrimSpace(string(stderr))
	if i := strings.IndexByte(line, '\n'); i >= 0 {
		line = strings.TrimSpace(line[:i])
	}
	line = jwtLike().ReplaceAllString(line, "[redacted]")
	if len(line) > 200 {
		line = line[:200] + "…"
	}
	return line
}
