#!/bin/bash
# CircleCI deploy markers (Deploys view): plan once per job, then update its status.
# PARAM_MARKER_ACTION: plan, plan_rollback, running, success or failed.
set -euo pipefail
component="${PARAM_COMPONENT:-${CIRCLE_PROJECT_REPONAME:-}}"
version="${SHIPGATE_VERSION:-${SHIPGATE_DIGEST:-}}"
case "${PARAM_MARKER_ACTION}" in
  plan | plan_rollback)
    args=(run release plan --environment-name "${PARAM_ENV}" --component-name "${component}" --target-version "${version}")
    if [ "${PARAM_MARKER_ACTION}" = plan_rollback ]; then
      args+=(--rollback)
    fi
    ;;
  running) args=(run release update --status=RUNNING) ;;
  success) args=(run release update --status=SUCCESS) ;;
  failed) args=(run release update --status=FAILED --failure-reason "${PARAM_REASON:-the deploy failed}") ;;
  *)
    echo "shipgate: unknown marker action ${PARAM_MARKER_ACTION}" >&2
    exit 2
    ;;
esac
circleci "${args[@]}"
