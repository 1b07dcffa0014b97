#!/bin/bash
# Exchanges the job's OIDC token for AWS credentials; they go to $BASH_ENV, never to the log.
set -euo pipefail
# The orb's shared functions (scripts/prelude.sh) arrive in this step's SHIPGATE_PRELUDE; a file,
# not a pipe, so that bash 3.2 (macOS) sources it too.
shipgate_prelude="$(mktemp)"
printf '%s\n' "${SHIPGATE_PRELUDE:?this step lacks the orb prelude SHIPGATE_PRELUDE}" >"${shipgate_prelude}"
# shellcheck source-path=SCRIPTDIR source=prelude.sh
source "${shipgate_prelude}"
rm -f -- "${shipgate_prelude}"

expand_vars PARAM_ROLE_ARN
args=(aws assume-role --role-arn "${PARAM_ROLE_ARN}" --write env --export-to "${BASH_ENV}")
if [ -n "${PARAM_REGION:-}" ]; then
  args+=(--region "${PARAM_REGION}")
fi
shipgate "${args[@]}"
