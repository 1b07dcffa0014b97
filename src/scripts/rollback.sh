#!/bin/bash
# Chooses the rollback target (read-only) and exports it as SHIPGATE_IMAGE for the redeploy.
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
PARAM_REPO="$(expand_vars "${PARAM_REPO:-}")"
repo="${PARAM_REPO:-${SHIPGATE_REPOSITORY:-}}"
if [ -z "${repo}" ]; then
  echo "shipgate: no repository to roll back: set 'repo' (the environment's repository)" >&2
  exit 2
fi
args=(rollback --repo "${repo}" --env "${PARAM_ENV}")
if [ -n "${PARAM_DIGEST:-}" ]; then
  args+=(--digest "${PARAM_DIGEST}")
fi
if [ "${PARAM_FORCE:-0}" = 1 ]; then
  args+=(--force)
fi
args+=(--export-to "${BASH_ENV}")
# promote exported SHIPGATE_DIGEST (the release being replaced); the helper would read it as
# --digest, so it is blanked here: an empty SHIPGATE_<FLAG> counts as unset.
SHIPGATE_DIGEST="" SHIPGATE_STEPS="" shipgate "${args[@]}"
