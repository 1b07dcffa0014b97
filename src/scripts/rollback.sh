#!/bin/bash
# Chooses the rollback target (read-only) and exports it as SHIPGATE_IMAGE for the redeploy.
set -euo pipefail
# The orb's shared functions (scripts/prelude.sh) arrive in this step's SHIPGATE_PRELUDE; a file,
# not a pipe, so that bash 3.2 (macOS) sources it too.
shipgate_prelude="$(mktemp)"
printf '%s\n' "${SHIPGATE_PRELUDE:?this step lacks the orb prelude SHIPGATE_PRELUDE}" >"${shipgate_prelude}"
# shellcheck source-path=SCRIPTDIR source=prelude.sh
source "${shipgate_prelude}"
rm -f -- "${shipgate_prelude}"

expand_vars PARAM_REPO
repo="${PARAM_REPO:-${SHIPGATE_REPOSITORY:-}}"
if [ -z "${repo}" ]; then
  echo "shipgate: no repository to roll back: set 'repo' (the environment's repository)" >&2
  exit 2
fi
if is_true "${PARAM_ONLY_AFTER_FAILED_DEPLOY:-0}"; then
  # The newest ledger entry says how the deploy job ended: deploying (its deploy steps failed
  # after the release was recorded) or bad means a failed release is in place; anything else
  # means there is nothing to undo (it failed before deploying, or already rolled back).
  newest="$(shipgate releases --repo "${repo}" --env "${PARAM_ENV}" --limit 1 --output json)"
  status=""
  if [[ "${newest}" =~ \"status\":\ *\"([a-z]+)\" ]]; then
    status="${BASH_REMATCH[1]}"
  fi
  case "${status}" in
    deploying | bad) echo "shipgate: the newest ${PARAM_ENV} release is ${status}: rolling back" ;;
    *)
      echo "shipgate: the newest ${PARAM_ENV} release is ${status:-unknown}, not a failed deploy: nothing to roll back"
      circleci-agent step halt
      exit 0
      ;;
  esac
fi
args=(rollback --repo "${repo}" --env "${PARAM_ENV}")
if [ -n "${PARAM_DIGEST:-}" ]; then
  args+=(--digest "${PARAM_DIGEST}")
elif [ -n "${PARAM_VERSION:-}" ]; then
  # The version a rollback pipeline asks for is a source commit: the ledger knows which digest
  # was marked good in this environment for it.
  found="$(shipgate find --repo "${repo}" --env "${PARAM_ENV}" --commit "${PARAM_VERSION}" --status good)"
  args+=(--digest "${found##*@}")
fi
if is_true "${PARAM_FORCE:-0}"; then
  args+=(--force)
fi
args+=(--out shipgate-rollback-release.json --export-to "${BASH_ENV}")
shipgate "${args[@]}"
