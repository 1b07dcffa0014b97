#!/bin/bash
# Chooses the rollback target (read-only) and exports it as SHIPGATE_IMAGE for the redeploy.
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
expand_vars PARAM_REPO
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
args+=(--out shipgate-rollback-release.json --export-to "${BASH_ENV}")
# promote exported SHIPGATE_DIGEST (the release being replaced); the helper would read it as
# --digest, so it is blanked here: an empty SHIPGATE_<FLAG> counts as unset.
SHIPGATE_DIGEST="" SHIPGATE_STEPS="" shipgate "${args[@]}"
