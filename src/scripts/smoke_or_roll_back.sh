#!/bin/bash
# Smoke-tests the release just deployed. With auto-rollback on, a failed check does not end the
# job: the digest is marked bad, the rollback target is exported as SHIPGATE_IMAGE and
# SHIPGATE_ROLLING_BACK=1 tells the next steps to redeploy it.
set -euo pipefail

# expand_vars NAME replaces each ${VAR} in the variable NAME by that environment variable's
# value, so parameters can name places kept in contexts (${REGISTRY}/app). Nothing else is
# interpreted: no eval, no command substitution, and an unset variable is an error.
# shellcheck disable=SC2016 # '${' is matched literally on purpose
expand_vars() {
  local _ev_rest="${!1:-}" _ev_out="" _ev_name
  while [[ "${_ev_rest}" == *'${'* ]]; do
    _ev_out+="${_ev_rest%%\$\{*}"
    _ev_rest="${_ev_rest#*\$\{}"
    _ev_name="${_ev_rest%%\}*}"
    if [[ "${_ev_rest}" != *'}'* || ! "${_ev_name}" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
      _ev_out+='${'
      continue
    fi
    if [ -z "${!_ev_name:-}" ]; then
      echo "shipgate: a parameter refers to \${${_ev_name}}, which is not set" >&2
      return 2
    fi
    _ev_out+="${!_ev_name}"
    _ev_rest="${_ev_rest#*\}}"
  done
  printf -v "$1" '%s' "${_ev_out}${_ev_rest}"
}
expand_vars PARAM_URL
expand_vars PARAM_REPO
args=(smoke-test --url "${PARAM_URL}")
if [ "${PARAM_CHECK_VERSION:-0}" = 1 ] && [ -n "${SHIPGATE_VERSION:-}" ]; then
  args+=(--expect-version "${SHIPGATE_VERSION}")
fi
args+=(--timeout "${PARAM_TIMEOUT}" --successes "${PARAM_SUCCESSES}")
status=0
SHIPGATE_EXPECT_VERSION="" shipgate "${args[@]}" || status=$?
if [ "${status}" = 0 ]; then
  exit 0
fi
if [ "${PARAM_AUTO_ROLLBACK:-0}" != 1 ]; then
  exit "${status}"
fi
failed="${SHIPGATE_IMAGE:-}"
echo "shipgate: the smoke test of ${failed} in ${PARAM_ENV} failed (exit ${status}); rolling back" >&2
shipgate mark-bad --image "${failed}" --env "${PARAM_ENV}" --reason "smoke test failed in job ${CIRCLE_BUILD_URL:-${CIRCLE_JOB:-?}}"
SHIPGATE_DIGEST="" SHIPGATE_STEPS="" shipgate rollback --repo "${SHIPGATE_REPOSITORY:-${PARAM_REPO}}" --env "${PARAM_ENV}" --out shipgate-rollback-release.json --export-to "${BASH_ENV}"
printf 'export SHIPGATE_ROLLING_BACK=1\n' >>"${BASH_ENV}"
