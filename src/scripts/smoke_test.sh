#!/bin/bash
# HTTP checks that gate a release; by default the answer must carry the release's version.
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
args=(smoke-test --url "${PARAM_URL}")
expect="${PARAM_EXPECT_VERSION:-}"
if [ -z "${expect}" ] && [ "${PARAM_CHECK_VERSION:-0}" = 1 ]; then
  expect="${SHIPGATE_VERSION:-}"
fi
if [ -n "${expect}" ]; then
  args+=(--expect-version "${expect}")
fi
if [ -n "${PARAM_TIMEOUT:-}" ]; then
  args+=(--timeout "${PARAM_TIMEOUT}")
fi
if [ -n "${PARAM_INTERVAL:-}" ]; then
  args+=(--interval "${PARAM_INTERVAL}")
fi
if [ -n "${PARAM_SUCCESSES:-}" ]; then
  args+=(--successes "${PARAM_SUCCESSES}")
fi
if [ -n "${PARAM_JUNIT_DIR:-}" ]; then
  mkdir -p "${PARAM_JUNIT_DIR}"
  args+=(--junit "${PARAM_JUNIT_DIR}/smoke-test.xml")
fi
SHIPGATE_EXPECT_VERSION="" shipgate "${args[@]}"
