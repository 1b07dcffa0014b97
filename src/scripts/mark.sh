#!/bin/bash
# Ledger: one entry for the digest in the environment. PARAM_STATUS is deploying or deployed
# (mark_deployed), good (mark_good) or bad (mark_bad): the three commands share this script.
set -euo pipefail
# The orb's shared functions (scripts/prelude.sh) arrive in this step's SHIPGATE_PRELUDE; a file,
# not a pipe, so that bash 3.2 (macOS) sources it too.
shipgate_prelude="$(mktemp)"
printf '%s\n' "${SHIPGATE_PRELUDE:?this step lacks the orb prelude SHIPGATE_PRELUDE}" >"${shipgate_prelude}"
# shellcheck source-path=SCRIPTDIR source=prelude.sh
source "${shipgate_prelude}"
rm -f -- "${shipgate_prelude}"

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
if is_true "${PARAM_FORCE:-0}"; then
  args+=(--force)
fi
shipgate "${args[@]}"
