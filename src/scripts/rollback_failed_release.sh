#!/bin/bash
# Reached only after an automatic rollback: the rollback worked, the release did not.
set -euo pipefail
# The orb's shared functions (scripts/prelude.sh) arrive in this step's SHIPGATE_PRELUDE; a file,
# not a pipe, so that bash 3.2 (macOS) sources it too.
shipgate_prelude="$(mktemp)"
printf '%s\n' "${SHIPGATE_PRELUDE:?this step lacks the orb prelude SHIPGATE_PRELUDE}" >"${shipgate_prelude}"
# shellcheck source-path=SCRIPTDIR source=prelude.sh
source "${shipgate_prelude}"
rm -f -- "${shipgate_prelude}"
if [ "$(phase)" != rolling-back ]; then
  exit 0
fi
# Tells the on_fail report that this failure is the deliberate end of a finished rollback.
set_phase rolled-back
echo "shipgate: ${PARAM_ENV} was rolled back to ${SHIPGATE_IMAGE:-?}; the release ${SHIPGATE_ROLLBACK_FROM:-?} failed its smoke test and is marked bad" >&2
exit 6
