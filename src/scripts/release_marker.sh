#!/bin/bash
# CircleCI deploy markers (Deploys view): plan once per job, then update its status.
# PARAM_MARKER_ACTION: plan, plan_rollback, running, success or failed.
set -euo pipefail
# The orb's shared functions (scripts/prelude.sh) arrive in this step's SHIPGATE_PRELUDE; a file,
# not a pipe, so that bash 3.2 (macOS) sources it too.
shipgate_prelude="$(mktemp)"
printf '%s\n' "${SHIPGATE_PRELUDE:?this step lacks the orb prelude SHIPGATE_PRELUDE}" >"${shipgate_prelude}"
# shellcheck source-path=SCRIPTDIR source=prelude.sh
source "${shipgate_prelude}"
rm -f -- "${shipgate_prelude}"
component="${PARAM_COMPONENT:-${CIRCLE_PROJECT_REPONAME:-}}"
version="${SHIPGATE_VERSION:-${SHIPGATE_DIGEST:-}}"
case "${PARAM_MARKER_ACTION}" in
  plan | plan_rollback)
    # One deploy name per component, environment and kind, so two environments in a workflow
    # (or a rollback planned in the deploy's own job) never share the name "default".
    name="${component:-app}-${PARAM_ENV}"
    if [ "${PARAM_MARKER_ACTION}" = plan_rollback ]; then
      name+="-rollback"
    fi
    args=(run release plan "${name}" --environment-name "${PARAM_ENV}" --component-name "${component}" --target-version "${version}")
    if [ "${PARAM_MARKER_ACTION}" = plan_rollback ]; then
      args+=(--rollback)
    fi
    SHIPGATE_MARKER_NAME="${name}"
    printf 'export SHIPGATE_MARKER_NAME=%q\n' "${name}" >>"${BASH_ENV}"
    ;;
  running) args=(run release update "$(marker_name)" --status=RUNNING) ;;
  success) args=(run release update "$(marker_name)" --status=SUCCESS) ;;
  failed) args=(run release update "$(marker_name)" --status=FAILED --failure-reason "${PARAM_REASON:-the deploy failed}") ;;
  *)
    echo "shipgate: unknown marker action ${PARAM_MARKER_ACTION}" >&2
    exit 2
    ;;
esac
circleci "${args[@]}"
