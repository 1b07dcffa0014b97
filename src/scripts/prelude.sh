#!/bin/bash
# The orb's shared prelude: every step that runs one of the orb's scripts carries this file in
# its environment as SHIPGATE_PRELUDE (the whole scalar is `<<include(scripts/prelude.sh)>>`,
# the way CircleCI's aws-ecr orb carries its SCRIPT_UTILS), and the script loads it first. It
# only defines functions: loading it runs nothing.
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

# is_true VALUE: a boolean parameter arrives through environment: as 1/0 (circleci-docs #5304),
# but a value set by hand or by another orb may say true/false: both spellings count.
is_true() {
  case "${1:-}" in
    1 | true | True | TRUE) return 0 ;;
    *) return 1 ;;
  esac
}

# The deploy job's phase, one variable across its steps (each step is a new shell that sources
# $BASH_ENV): empty while the release itself is deployed and tested; "good" once it is marked
# good; "rolling-back" once its smoke test failed and the rollback target is exported;
# "rolled-back" when the rollback is done and the job fails on purpose.
phase() {
  printf '%s' "${SHIPGATE_PHASE:-}"
}
set_phase() {
  SHIPGATE_PHASE="$1"
  printf 'export SHIPGATE_PHASE=%q\n' "$1" >>"${BASH_ENV}"
}

# marker_name: the deploy name of CircleCI's deploy marker that this job planned (exported by
# release_marker.sh). `circleci run release plan` without a name uses "default", which collides
# when one workflow plans two environments, or a job plans a rollback after its deploy.
marker_name() {
  printf '%s' "${SHIPGATE_MARKER_NAME:-${PARAM_COMPONENT:-${CIRCLE_PROJECT_REPONAME:-app}}-${PARAM_ENV:-deploy}}"
}
