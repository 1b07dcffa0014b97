#!/bin/bash
# Runs when a step of the deploy job failed before the release could be checked or rolled
# back in this job (deploy steps, promote, the rollback itself). Records what is known and says
# what to do; it never redeploys by itself because the user's deploy steps cannot run after a
# failed step in the same job.
set -euo pipefail
if [ "${PARAM_MARKER:-0}" = 1 ]; then
  circleci run release update --status=FAILED --failure-reason "deploy job failed" || true
fi
if [ -z "${SHIPGATE_IMAGE:-}" ]; then
  echo "shipgate: the job failed before a release was promoted to ${PARAM_ENV}; nothing was deployed" >&2
  exit 0
fi
echo "shipgate: the deploy of ${SHIPGATE_IMAGE} to ${PARAM_ENV} failed; run the rollback job (or pipeline) to redeploy the last good release" >&2
