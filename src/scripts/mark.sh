#!/bin/bash
# Ledger: one entry for the digest in the environment. PARAM_STATUS is deploying or deployed
# (mark_deployed), good (mark_good) or bad (mark_bad): the three commands share this script.
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
expand_vars PARAM_IMAGE
image="${PARAM_IMAGE:-${SHIPGATE_IMAGE:-}}"
if [ -z "${image}" ]; then
  echo "shipgate: no image to mark ${PARAM_STATUS}: set 'image' to REPO@DIGEST or run promote (or rollback) first in this job" >&2
  exit 2
fi
case "${PARAM_STATUS}" in
  deploying | deployed) verb=mark-deployed ;;
  good) verb=mark-good ;;
  bad) verb=mark-bad ;;
  *)
    echo "shipgate: unknown ledger status ${PARAM_STATUS}" >&2
    exit 2
    ;;
esac
args=("${verb}" --image "${image}" --env "${PARAM_ENV}")
if [ "${PARAM_STATUS}" = deploying ]; then
  args+=(--status deploying)
fi
if [ -n "${PARAM_REASON:-}" ]; then
  args+=(--reason "${PARAM_REASON}")
fi
if [ -n "${PARAM_RELEASE:-}" ]; then
  args+=(--release "${PARAM_RELEASE}")
fi
if [ "${PARAM_FORCE:-0}" = 1 ]; then
  args+=(--force)
fi
shipgate "${args[@]}"
