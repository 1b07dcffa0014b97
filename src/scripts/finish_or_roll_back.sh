#!/bin/bash
# The release passed: mark it good and end the job here, skipping the rollback steps that follow.
# During a rollback this step does nothing and the redeploy steps run.
set -euo pipefail
if [ "${SHIPGATE_ROLLING_BACK:-0}" = 1 ]; then
  echo "shipgate: redeploying ${SHIPGATE_IMAGE:-?} to ${PARAM_ENV} (replacing ${SHIPGATE_ROLLBACK_FROM:-?})" >&2
  exit 0
fi
args=(mark-good --image "${SHIPGATE_IMAGE:-}" --env "${PARAM_ENV}")
if [ "${PARAM_FORCE:-0}" = 1 ]; then
  args+=(--force)
fi
shipgate "${args[@]}"
if [ "${PARAM_MARKER:-0}" = 1 ]; then
  circleci run release update --status=SUCCESS
fi
# Ends the job successfully; the steps after this one are the rollback path.
circleci-agent step halt
