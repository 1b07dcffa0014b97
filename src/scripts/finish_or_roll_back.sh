#!/bin/bash
# The release passed: mark it good and end the job here, skipping the rollback steps that follow.
# During a rollback this step does nothing and the redeploy steps run.
set -euo pipefail
# The orb's shared functions (scripts/prelude.sh) arrive in this step's SHIPGATE_PRELUDE; a file,
# not a pipe, so that bash 3.2 (macOS) sources it too.
shipgate_prelude="$(mktemp)"
printf '%s\n' "${SHIPGATE_PRELUDE:?this step lacks the orb prelude SHIPGATE_PRELUDE}" >"${shipgate_prelude}"
# shellcheck source-path=SCRIPTDIR source=prelude.sh
source "${shipgate_prelude}"
rm -f -- "${shipgate_prelude}"
if [ "$(phase)" = rolling-back ]; then
  echo "shipgate: redeploying ${SHIPGATE_IMAGE:-?} to ${PARAM_ENV} (replacing ${SHIPGATE_ROLLBACK_FROM:-?})" >&2
  exit 0
fi
args=(mark-good --image "${SHIPGATE_IMAGE:-}" --env "${PARAM_ENV}")
if is_true "${PARAM_FORCE:-0}"; then
  args+=(--force)
fi
shipgate "${args[@]}"
set_phase good
# The release is deployed and marked good: a deploy marker that cannot be updated is reported,
# but does not turn a good release into a failed deploy.
if is_true "${PARAM_MARKER:-0}"; then
  circleci run release update "$(marker_name)" --status=SUCCESS ||
    echo "shipgate: warning: the release is marked good, but the deploy marker $(marker_name) could not be set to SUCCESS" >&2
fi
# Ends the job successfully; the steps after this one are the rollback path.
circleci-agent step halt
