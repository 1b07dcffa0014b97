#!/bin/bash
# Keeps the rest of the job's ledger in a dedicated repository: every later shipgate call reads
# SHIPGATE_LEDGER_REPO as its --ledger-repo (docs/ledger.md, "Where the ledger lives").
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
if [ -z "${PARAM_REPO:-}" ]; then
  echo "shipgate: no ledger repository given" >&2
  exit 2
fi
# A repository reference has no quote, space or shell character; refusing anything else keeps
# the line written to BASH_ENV inert when bash sources it.
if [[ ! "${PARAM_REPO}" =~ ^[A-Za-z0-9._:/-]+$ ]]; then
  echo "shipgate: ledger repository ${PARAM_REPO} is not a repository reference" >&2
  exit 2
fi
printf "export SHIPGATE_LEDGER_REPO='%s'\n" "${PARAM_REPO}" >>"${BASH_ENV}"
echo "shipgate: the ledger of this job is kept in ${PARAM_REPO} (SHIPGATE_LEDGER_REPO)" >&2
