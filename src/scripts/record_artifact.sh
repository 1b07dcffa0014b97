#!/bin/bash
# Resolves the image to its digest once and writes the release file later jobs promote.
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
args=(record-artifact --image "${PARAM_IMAGE}" --out "${PARAM_OUT}")
if [ "${PARAM_EXPORT:-0}" = 1 ]; then
  args+=(--export-to "${BASH_ENV}")
fi
shipgate "${args[@]}"
