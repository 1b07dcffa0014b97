// Package circleci is shipgate's one model of a CircleCI configuration (version 2.1): decoding
// YAML as CircleCI reads it (YAML 1.1 booleans, anchors, merge keys, line numbers kept),
// parameters and their types, `when`/`unless` logic statements, config expressions, and
// `<< … >>` expansion, with partial evaluation (Unknown) for reading a config without running
// it. Beside the model sit the facts about CircleCI that the checks need, each with its
// source: built-in steps, retired pipeline values, what `circleci orb pack` publishes of an
// example, deploy-marker names, and what the cimg/* and machine images ship.
//
// Its clients are the linter (helper/internal/lint), which reads the config as written with
// positions, and the local runner and the orb checks (helper/dev), which compile it. Each
// rule lives here once, so they cannot drift apart (issue 12 point 1: there were two
// condition evaluators and only one knew YAML 1.1 booleans). It imports only the standard
// library and yaml.v3 (a test says so). Its patterns and tables are built on first use
// (sync.OnceValue), not at start-up: every shipgate command links this package (issue 15).
package circleci
