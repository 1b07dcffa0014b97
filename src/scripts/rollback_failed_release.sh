#!/bin/bash
# Reached only after an automatic rollback: the rollback worked, the release did not.
set -euo pipefail
if [ "${SHIPGATE_ROLLING_BACK:-0}" != 1 ]; then
  exit 0
fi
echo "shipgate: ${PARAM_ENV} was rolled back to ${SHIPGATE_IMAGE:-?}; the release ${SHIPGATE_ROLLBACK_FROM:-?} failed its smoke test and is marked bad" >&2
exit 6
