#!/bin/bash
# Reached only after an automatic rollback: the rollback worked, the release did not.
set -euo pipefail
if [ "${SHIPGATE_ROLLING_BACK:-0}" != 1 ]; then
  exit 0
fi
# Tells the on_fail report that this failure is the deliberate end of a finished rollback.
printf 'export SHIPGATE_ROLLBACK_DONE=1\n' >>"${BASH_ENV}"
echo "shipgate: ${PARAM_ENV} was rolled back to ${SHIPGATE_IMAGE:-?}; the release ${SHIPGATE_ROLLBACK_FROM:-?} failed its smoke test and is marked bad" >&2
exit 6
