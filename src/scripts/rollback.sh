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
