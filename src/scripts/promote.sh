#!/bin/bash
# Copies the release's digest into the target repository and exports SHIPGATE_IMAGE & co.
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
expand_vars PARAM_FROM
expand_vars PARAM_TO
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
