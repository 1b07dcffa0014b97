#!/bin/bash
# Smoke-tests the release just deployed. With auto-rollback on, a failed check does not end the
# job: the digest is marked bad, the rollback target is exported as SHIPGATE_IMAGE and the
# phase "rolling-back" (prelude.sh) tells the next steps to redeploy it.
set -euo pipefail
# The orb's shared functions (scripts/prelude.sh) arrive in this step's SHIPGATE_PRELUDE; a file,
# not a pipe, so that bash 3.2 (macOS) sources it too.
shipgate_prelude="$(mktemp)"
printf '%s\n' "${SHIPGATE_PRELUDE:?this step lacks the orb prelude SHIPGATE_PRELUDE}" >"${shipgate_prelude}"
# shellcheck source-path=SCRIPTDIR source=prelude.sh
source "${shipgate_prelude}"
rm -f -- "${shipgate_prelude}"

if [ "${PARAM_SMOKE_TEST:-url}" = none ]; then
  echo "shipgate: ${PARAM_ENV} has no smoke test (smoke_test: none): the deploy steps that passed are the check"
  exit 0
fi
if [ -z "${PARAM_URL:-}" ]; then
  echo "shipgate: smoke_test is url but url is empty: set url, or smoke_test: none for a service with nothing to probe" >&2
  exit 2
fi
expand_vars PARAM_URL
expand_vars PARAM_REPO
args=(smoke-test --url "${PARAM_URL}")
if is_true "${PARAM_CHECK_VERSION:-0}" && [ -n "${SHIPGATE_VERSION:-}" ]; then
  args+=(--expect-version "${SHIPGATE_VERSION}")
fi
args+=(--timeout "${PARAM_TIMEOUT}" --successes "${PARAM_SUCCESSES}")
status=0
shipgate "${args[@]}" || status=$?
if [ "${status}" = 0 ]; then
  exit 0
fi
if ! is_true "${PARAM_AUTO_ROLLBACK:-0}"; then
  exit "${status}"
fi
failed="${SHIPGATE_IMAGE:-}"
echo "shipgate: the smoke test of ${failed} in ${PARAM_ENV} failed (exit ${status}); rolling back" >&2
shipgate mark-bad --image "${failed}" --env "${PARAM_ENV}" --reason "smoke test failed in job ${CIRCLE_BUILD_URL:-${CIRCLE_JOB:-?}}"
shipgate rollback --repo "${SHIPGATE_REPOSITORY:-${PARAM_REPO}}" --env "${PARAM_ENV}" --out shipgate-rollback-release.json --export-to "${BASH_ENV}"
set_phase rolling-back
