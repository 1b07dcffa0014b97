#!/bin/bash
# Ledger: a deploy of this digest started (status deploying) or finished (status deployed).
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
PARAM_IMAGE="$(expand_vars "${PARAM_IMAGE:-}")"
image="${PARAM_IMAGE:-${SHIPGATE_IMAGE:-}}"
if [ -z "${image}" ]; then
  echo "shipgate: no image to mark: set 'image' to REPO@DIGEST or run promote (or rollback) first in this job" >&2
  exit 2
fi
args=(mark-deployed --image "${image}" --env "${PARAM_ENV}")
if [ "${PARAM_STATUS:-deployed}" = deploying ]; then
  args+=(--status deploying)
fi
if [ -n "${PARAM_REASON:-}" ]; then
  args+=(--reason "${PARAM_REASON}")
fi
if [ -n "${PARAM_RELEASE:-}" ]; then
  args+=(--release "${PARAM_RELEASE}")
fi
shipgate "${args[@]}"
