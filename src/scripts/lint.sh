#!/bin/bash
# Checks a CircleCI config against shipgate's deployment rules and, when a policy bundle is
# given, against it with CircleCI's own policy engine. Both run; the step fails if either does.
set -euo pipefail
status=0
shipgate lint "${PARAM_FILE}" || status=$?
if [ -n "${PARAM_POLICY_BUNDLE:-}" ]; then
  if ! command -v circleci >/dev/null 2>&1; then
    echo "shipgate lint: policy_bundle is set but the circleci CLI is not installed in this executor; install it first or leave policy_bundle empty" >&2
    exit 7
  fi
  # --no-compile: the bundle reads the config as written (docs/policies.md), no token needed.
  circleci policy decide "${PARAM_POLICY_BUNDLE}" --input "${PARAM_FILE}" --no-compile --strict || status=$?
fi
exit "${status}"
