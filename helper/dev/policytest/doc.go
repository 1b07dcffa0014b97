// Package policytest judges shipgate's config-policy bundle (helper/internal/policy) with
// CircleCI's own policy engine, github.com/CircleCI-Public/circle-policy-agent. It is a module
// of its own so that the engine (and OPA under it) never enters the shipped module's go.mod.
package policytest
