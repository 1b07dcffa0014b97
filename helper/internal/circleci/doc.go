// Package circleci is shipgate's one model of a CircleCI configuration (version 2.1): decoding
// YAML as CircleCI reads it (YAML 1.1 booleans, anchors, merge keys, line numbers kept),
// parameters and their types, `when`/`unless` logic statements, config expressions, and
// `<< … >>` expansion.
//
// Its clients are the linter (helper/internal/lint), which reads the config as written with
// positions, and the local runner and the orb checks (dev tooling), which compile it. Each
// rule lives here once, so they cannot drift apart (issue 12 point 1: there were two
// condition evaluators and only one knew YAML 1.1 booleans).
package circleci
