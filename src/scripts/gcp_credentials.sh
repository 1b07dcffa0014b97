#!/bin/bash
# Writes a GCP external_account credentials file backed by the job's OIDC token.
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
PARAM_PROVIDER="$(expand_vars "${PARAM_PROVIDER:-}")"
PARAM_SERVICE_ACCOUNT="$(expand_vars "${PARAM_SERVICE_ACCOUNT:-}")"
args=(gcp credentials --provider "${PARAM_PROVIDER}" --export-to "${BASH_ENV}")
if [ -n "${PARAM_SERVICE_ACCOUNT:-}" ]; then
  args+=(--service-account "${PARAM_SERVICE_ACCOUNT}")
fi
shipgate "${args[@]}"
