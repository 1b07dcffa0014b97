#!/bin/bash
# Runs when a step of the deploy job failed: records the failure on the deploy marker and says
# what to do. It never redeploys by itself: CircleCI runs no ordinary step after a failed one,
# so the user's deploy steps cannot run again in this job.
set -euo pipefail
if [ "${SHIPGATE_ROLLBACK_DONE:-0}" = 1 ]; then
  exit 0
fi
if [ "${PARAM_MARKER:-0}" = 1 ]; then
  circleci run release update --status=FAILED --failure-reason "deploy job failed" || true
fi
if [ -z "${SHIPGATE_IMAGE:-}" ]; then
  echo "shipgate: the job failed before a release was promoted to ${PARAM_ENV}; nothing was deployed" >&2
elif [ "${SHIPGATE_ROLLING_BACK:-0}" = 1 ]; then
  echo "shipgate: the automatic rollback of ${PARAM_ENV} to ${SHIPGATE_IMAGE} failed (${SHIPGATE_ROLLBACK_FROM:-the release} is marked bad); run the rollback job with a digest" >&2
else
  echo "shipgate: the deploy of ${SHIPGATE_IMAGE} to ${PARAM_ENV} failed; run the rollback job (or pipeline) to redeploy the last good release" >&2
fi
