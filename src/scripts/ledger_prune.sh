#!/bin/bash
# Removes old ledger entries of one environment (shipgate ledger prune); a dry run unless
# PARAM_APPLY is true.
set -euo pipefail
# The orb's shared functions (scripts/prelude.sh) arrive in this step's SHIPGATE_PRELUDE; a file,
# not a pipe, so that bash 3.2 (macOS) sources it too.
shipgate_prelude="$(mktemp)"
printf '%s\n' "${SHIPGATE_PRELUDE:?this step lacks the orb prelude SHIPGATE_PRELUDE}" >"${shipgate_prelude}"
# shellcheck source-path=SCRIPTDIR source=prelude.sh
source "${shipgate_prelude}"
rm -f -- "${shipgate_prelude}"

expand_vars PARAM_REPO
expand_vars PARAM_LEDGER_REPO
args=(ledger prune --repo "${PARAM_REPO}" --env "${PARAM_ENV}" --keep "${PARAM_KEEP}" --keep-days "${PARAM_KEEP_DAYS}")
if [ -n "${PARAM_LEDGER_REPO:-}" ]; then
  args+=(--ledger-repo "${PARAM_LEDGER_REPO}")
fi
if is_true "${PARAM_APPLY:-0}"; then
  args+=(--apply)
fi
shipgate "${args[@]}"
