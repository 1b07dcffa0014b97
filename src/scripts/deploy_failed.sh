#!/bin/bash
# Runs when a step of the deploy job failed: records the failure on the deploy marker and says
# what to do, by the job's phase (prelude.sh). It never redeploys by itself: CircleCI runs no
# ordinary step after a failed one, so the user's deploy steps cannot run again in this job.
set -euo pipefail
# The orb's shared functions (scripts/prelude.sh) arrive in this step's SHIPGATE_PRELUDE; a file,
# not a pipe, so that bash 3.2 (macOS) sources it too.
shipgate_prelude="$(mktemp)"
printf '%s\n' "${SHIPGATE_PRELUDE:?this step lacks the orb prelude SHIPGATE_PRELUDE}" >"${shipgate_prelude}"
# shellcheck source-path=SCRIPTDIR source=prelude.sh
source "${shipgate_prelude}"
rm -f -- "${shipgate_prelude}"
case "$(phase)" in
  rolled-back)
    # The deliberate end of a finished rollback: rollback_failed_release.sh said it all.
    exit 0
    ;;
  good)
    # The release was marked good; what failed after that is bookkeeping (a deploy marker).
    echo "shipgate: ${SHIPGATE_IMAGE:-the release} is deployed to ${PARAM_ENV} and marked good; a later step of the job failed (see above)" >&2
    exit 0
    ;;
esac
if is_true "${PARAM_MARKER:-0}"; then
  circleci run release update "$(marker_name)" --status=FAILED --failure-reason "deploy job failed" ||
    echo "shipgate: warning: could not mark the deploy marker failed" >&2
fi
if [ -z "${SHIPGATE_IMAGE:-}" ]; then
  echo "shipgate: the job failed before a release was promoted to ${PARAM_ENV}; nothing was deployed" >&2
elif [ "$(phase)" = rolling-back ]; then
  echo "shipgate: the automatic rollback of ${PARAM_ENV} to ${SHIPGATE_IMAGE} failed (${SHIPGATE_ROLLBACK_FROM:-the release} is marked bad); run the rollback job with a digest" >&2
else
  echo "shipgate: the deploy of ${SHIPGATE_IMAGE} to ${PARAM_ENV} failed; run the rollback job (or pipeline) to redeploy the last good release" >&2
fi
