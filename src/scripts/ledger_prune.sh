#!/bin/bash
# Removes old ledger entries of one environment (shipgate ledger prune); a dry run unless
# PARAM_APPLY is 1.
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
expand_vars PARAM_LEDGER_REPO
args=(ledger prune --repo "${PARAM_REPO}" --env "${PARAM_ENV}" --keep "${PARAM_KEEP}" --keep-days "${PARAM_KEEP_DAYS}")
if [ -n "${PARAM_LEDGER_REPO:-}" ]; then
  args+=(--ledger-repo "${PARAM_LEDGER_REPO}")
fi
if [ "${PARAM_APPLY:-0}" = 1 ]; then
  args+=(--apply)
fi
shipgate "${args[@]}"
