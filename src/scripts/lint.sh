#!/bin/bash
# Checks a CircleCI config against shipgate's deployment rules and, when a policy bundle is
# given, against it with CircleCI's own policy engine. Both run; the step fails if either does.
set -euo pipefail
# The orb's shared functions (scripts/prelude.sh) arrive in this step's SHIPGATE_PRELUDE; a file,
# not a pipe, so that bash 3.2 (macOS) sources it too.
shipgate_prelude="$(mktemp)"
printf '%s\n' "${SHIPGATE_PRELUDE:?this step lacks the orb prelude SHIPGATE_PRELUDE}" >"${shipgate_prelude}"
# shellcheck source-path=SCRIPTDIR source=prelude.sh
source "${shipgate_prelude}"
rm -f -- "${shipgate_prelude}"
status=0
# "--" ends the options: a file name starting with "-" is still a file name.
shipgate lint -- "${PARAM_FILE}" || status=$?
if [ -n "${PARAM_POLICY_BUNDLE:-}" ]; then
  if ! command -v circleci >/dev/null 2>&1; then
    echo "shipgate lint: policy_bundle is set but the circleci CLI is not installed in this executor; install it first or leave policy_bundle empty" >&2
    exit 7
  fi
  decision="$(mktemp)"
  # --no-compile: the bundle reads the config as written (docs/policies.md) and no API is called;
  # the CLI still insists on a token being set, so a placeholder stands in when none is.
  # Not --strict: it replaces the decision (which rules failed, and why) with one line.
  decide_status=0
  CIRCLECI_CLI_TOKEN="${CIRCLECI_CLI_TOKEN:-unused-by-a-local-decision}" \
    circleci policy decide --input "${PARAM_FILE}" --no-compile --skip-update-check -- "${PARAM_POLICY_BUNDLE}" >"${decision}" || decide_status=$?
  cat "${decision}"
  if [ "${decide_status}" -ne 0 ]; then
    echo "shipgate lint: circleci policy decide could not judge ${PARAM_FILE} with ${PARAM_POLICY_BUNDLE} (exit ${decide_status})" >&2
    status=${decide_status}
  elif grep -q '"status": *"HARD_FAIL"' "${decision}"; then
    echo "shipgate lint: the config-policy bundle fails ${PARAM_FILE} (HARD_FAIL)" >&2
    status=6
  fi
  rm -f -- "${decision}"
fi
exit "${status}"
