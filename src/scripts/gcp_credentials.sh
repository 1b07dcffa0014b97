#!/bin/bash
# Writes a GCP external_account credentials file backed by the job's OIDC token.
set -euo pipefail
# The orb's shared functions (scripts/prelude.sh) arrive in this step's SHIPGATE_PRELUDE; a file,
# not a pipe, so that bash 3.2 (macOS) sources it too.
shipgate_prelude="$(mktemp)"
printf '%s\n' "${SHIPGATE_PRELUDE:?this step lacks the orb prelude SHIPGATE_PRELUDE}" >"${shipgate_prelude}"
# shellcheck source-path=SCRIPTDIR source=prelude.sh
source "${shipgate_prelude}"
rm -f -- "${shipgate_prelude}"

expand_vars PARAM_PROVIDER
expand_vars PARAM_SERVICE_ACCOUNT
expand_vars PARAM_OUT
args=(gcp credentials --export-to "${BASH_ENV}")
if [ -n "${PARAM_PROVIDER:-}" ]; then
  args+=(--provider "${PARAM_PROVIDER}")
fi
if [ -n "${PARAM_PROJECT_NUMBER:-}" ]; then
  args+=(--project-number "${PARAM_PROJECT_NUMBER}")
fi
if [ -n "${PARAM_POOL:-}" ]; then
  args+=(--pool "${PARAM_POOL}")
fi
if [ -n "${PARAM_PROVIDER_ID:-}" ]; then
  args+=(--provider-id "${PARAM_PROVIDER_ID}")
fi
if [ -n "${PARAM_SERVICE_ACCOUNT:-}" ]; then
  args+=(--service-account "${PARAM_SERVICE_ACCOUNT}")
fi
if [ -n "${PARAM_TOKEN_ENV:-}" ]; then
  args+=(--token-env "${PARAM_TOKEN_ENV}")
fi
if [ -n "${PARAM_AUDIENCE:-}" ]; then
  args+=(--audience "${PARAM_AUDIENCE}")
fi
if [ -n "${PARAM_OUT:-}" ]; then
  args+=(--out "${PARAM_OUT}")
fi
if [ -n "${PARAM_LIFETIME:-}" ]; then
  args+=(--lifetime "${PARAM_LIFETIME}")
fi
shipgate "${args[@]}"
