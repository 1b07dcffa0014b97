#!/bin/bash
# Copies the release's digest into the target repository and exports SHIPGATE_IMAGE & co.
set -euo pipefail
# The orb's shared functions (scripts/prelude.sh) arrive in this step's SHIPGATE_PRELUDE; a file,
# not a pipe, so that bash 3.2 (macOS) sources it too.
shipgate_prelude="$(mktemp)"
printf '%s\n' "${SHIPGATE_PRELUDE:?this step lacks the orb prelude SHIPGATE_PRELUDE}" >"${shipgate_prelude}"
# shellcheck source-path=SCRIPTDIR source=prelude.sh
source "${shipgate_prelude}"
rm -f -- "${shipgate_prelude}"

expand_vars PARAM_FROM
expand_vars PARAM_TO
args=(promote)
if [ -n "${PARAM_FROM:-}" ]; then
  args+=(--from "${PARAM_FROM}")
else
  if [ ! -f "${PARAM_RELEASE}" ]; then
    echo "shipgate: release file ${PARAM_RELEASE} not found: attach the workspace that holds it, or set 'from' to REPO@DIGEST" >&2
    exit 2
  fi
  args+=(--release "${PARAM_RELEASE}")
fi
args+=(--to "${PARAM_TO}")
if [ -n "${PARAM_TAG:-}" ]; then
  args+=(--tag "${PARAM_TAG}")
fi
if [ -n "${PARAM_ENV:-}" ]; then
  args+=(--env "${PARAM_ENV}")
fi
if is_true "${PARAM_FORCE:-0}"; then
  args+=(--force)
fi
if is_true "${PARAM_EXPORT:-0}"; then
  args+=(--export-to "${BASH_ENV}")
fi
shipgate "${args[@]}"
