#!/bin/bash
# Resolves the image to its digest once and writes the release file later jobs promote.
set -euo pipefail
# The orb's shared functions (scripts/prelude.sh) arrive in this step's SHIPGATE_PRELUDE; a file,
# not a pipe, so that bash 3.2 (macOS) sources it too.
shipgate_prelude="$(mktemp)"
printf '%s\n' "${SHIPGATE_PRELUDE:?this step lacks the orb prelude SHIPGATE_PRELUDE}" >"${shipgate_prelude}"
# shellcheck source-path=SCRIPTDIR source=prelude.sh
source "${shipgate_prelude}"
rm -f -- "${shipgate_prelude}"

expand_vars PARAM_IMAGE
args=(record-artifact --image "${PARAM_IMAGE}" --out "${PARAM_OUT}")
if is_true "${PARAM_EXPORT:-0}"; then
  args+=(--export-to "${BASH_ENV}")
fi
shipgate "${args[@]}"
