#!/bin/bash
# HTTP checks that gate a release; by default the answer must carry the release's version.
set -euo pipefail

# expand_vars prints $1 with each ${NAME} replaced by that environment variable's value, so
# parameters can name places kept in contexts (${REGISTRY}/app). Nothing else is interpreted:
# no eval, no command substitution, and an unset variable is an error.
# shellcheck disable=SC2016 # '${' is matched literally on purpose
expand_vars() {
  local rest="$1" out="" name
  while [[ "${rest}" == *'${'* ]]; do
    out+="${rest%%\$\{*}"
    rest="${rest#*\$\{}"
    name="${rest%%\}*}"
    if [[ "${rest}" != *'}'* || ! "${name}" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
      out+='${'
      continue
    fi
    if [ -z "${!name:-}" ]; then
      echo "shipgate: a parameter refers to \${${name}}, which is not set" >&2
      return 2
    fi
    out+="${!name}"
    rest="${rest#*\}}"
  done
  printf '%s' "${out}${rest}"
}
PARAM_URL="$(expand_vars "${PARAM_URL:-}")"
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
