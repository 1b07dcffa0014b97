#!/bin/bash
# Writes a GCP external_account credentials file backed by the job's OIDC token.
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
expand_vars PARAM_PROVIDER
expand_vars PARAM_SERVICE_ACCOUNT
expand_vars PARAM_OUT
args=(gcp credentials --export-to "${BASH_ENV}")
if [ -n "${PARAM_PROVIDER:-}" ]; then
  args+=(--provider "${PARAM_PROVIDER}")
fi
if [ -n "${PARAM_PROJECT_NUMBER:-}" ]; then
  args+=(--project-number "${PARAM_PROJECT_NUMBER}")
fi
if [ -n "${PARAM_POOL:-}" ]; then
  args+=(--pool "${PARAM_POOL}")
fi
if [ -n "${PARAM_PROVIDER_ID:-}" ]; then
  args+=(--provider-id "${PARAM_PROVIDER_ID}")
fi
if [ -n "${PARAM_SERVICE_ACCOUNT:-}" ]; then
  args+=(--service-account "${PARAM_SERVICE_ACCOUNT}")
fi
if [ -n "${PARAM_TOKEN_ENV:-}" ]; then
  args+=(--token-env "${PARAM_TOKEN_ENV}")
fi
if [ -n "${PARAM_AUDIENCE:-}" ]; then
  args+=(--audience "${PARAM_AUDIENCE}")
fi
if [ -n "${PARAM_OUT:-}" ]; then
  args+=(--out "${PARAM_OUT}")
fi
if [ -n "${PARAM_LIFETIME:-}" ]; then
  args+=(--lifetime "${PARAM_LIFETIME}")
fi
shipgate "${args[@]}"
