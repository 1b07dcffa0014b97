#!/bin/bash
# HTTP checks that gate a release; by default the answer must carry the release's version.
set -euo pipefail
# The orb's shared functions (scripts/prelude.sh) arrive in this step's SHIPGATE_PRELUDE; a file,
# not a pipe, so that bash 3.2 (macOS) sources it too.
shipgate_prelude="$(mktemp)"
printf '%s\n' "${SHIPGATE_PRELUDE:?this step lacks the orb prelude SHIPGATE_PRELUDE}" >"${shipgate_prelude}"
# shellcheck source-path=SCRIPTDIR source=prelude.sh
source "${shipgate_prelude}"
rm -f -- "${shipgate_prelude}"

expand_vars PARAM_URL
args=(smoke-test --url "${PARAM_URL}")
expect="${PARAM_EXPECT_VERSION:-}"
if [ -z "${expect}" ] && is_true "${PARAM_CHECK_VERSION:-0}"; then
  expect="${SHIPGATE_VERSION:-}"
fi
if [ -n "${expect}" ]; then
  args+=(--expect-version "${expect}")
fi
if [ -n "${PARAM_TIMEOUT:-}" ]; then
  args+=(--timeout "${PARAM_TIMEOUT}")
fi
if [ -n "${PARAM_INTERVAL:-}" ]; then
  args+=(--interval "${PARAM_INTERVAL}")
fi
if [ -n "${PARAM_SUCCESSES:-}" ]; then
  args+=(--successes "${PARAM_SUCCESSES}")
fi
if [ -n "${PARAM_JUNIT_DIR:-}" ]; then
  mkdir -p -- "${PARAM_JUNIT_DIR}"
  args+=(--junit "${PARAM_JUNIT_DIR}/smoke-test.xml")
fi
shipgate "${args[@]}"
