#!/bin/bash
# Copies the release's digest into the target repository and exports SHIPGATE_IMAGE & co.
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
PARAM_FROM="$(expand_vars "${PARAM_FROM:-}")"
PARAM_TO="$(expand_vars "${PARAM_TO:-}")"
args=(promote)
if [ -n "${PARAM_FROM:-}" ]; then
  args+=(--from "${PARAM_FROM}")
else
  if [ ! -f "${PARAM_RELEASE}" ]; then
    echo "shipgate: release file ${PARAM_RELEASE} not found: attach the workspace that holds it, or set 'from' to REPO@DIGEST" >&2
    exit 2
  fi
  args+=(--release "${PARAM_RELEASE}")
fi
args+=(--to "${PARAM_TO}")
if [ -n "${PARAM_TAG:-}" ]; then
  args+=(--tag "${PARAM_TAG}")
fi
if [ -n "${PARAM_ENV:-}" ]; then
  args+=(--env "${PARAM_ENV}")
fi
if [ "${PARAM_FORCE:-0}" = 1 ]; then
  args+=(--force)
fi
if [ "${PARAM_EXPORT:-0}" = 1 ]; then
  args+=(--export-to "${BASH_ENV}")
fi
shipgate "${args[@]}"
