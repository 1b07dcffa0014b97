#!/bin/bash
# Exchanges the job's OIDC token for AWS credentials; they go to $BASH_ENV, never to the log.
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
PARAM_ROLE_ARN="$(expand_vars "${PARAM_ROLE_ARN:-}")"
args=(aws assume-role --role-arn "${PARAM_ROLE_ARN}" --write env --export-to "${BASH_ENV}")
if [ -n "${PARAM_REGION:-}" ]; then
  args+=(--region "${PARAM_REGION}")
fi
shipgate "${args[@]}"
