#!/bin/bash
# Keeps the rest of the job's ledger in a dedicated repository: every later shipgate call reads
# SHIPGATE_FLAG_LEDGER_REPO as its --ledger-repo (docs/ledger.md, "Where the ledger lives").
set -euo pipefail
# The orb's shared functions (scripts/prelude.sh) arrive in this step's SHIPGATE_PRELUDE; a file,
# not a pipe, so that bash 3.2 (macOS) sources it too.
shipgate_prelude="$(mktemp)"
printf '%s\n' "${SHIPGATE_PRELUDE:?this step lacks the orb prelude SHIPGATE_PRELUDE}" >"${shipgate_prelude}"
# shellcheck source-path=SCRIPTDIR source=prelude.sh
source "${shipgate_prelude}"
rm -f -- "${shipgate_prelude}"

expand_vars PARAM_REPO
if [ -z "${PARAM_REPO:-}" ]; then
  echo "shipgate: no ledger repository given" >&2
  exit 2
fi
# A repository reference has no quote, space or shell character; refusing anything else keeps
# the line written to BASH_ENV inert when bash sources it.
if [[ ! "${PARAM_REPO}" =~ ^[A-Za-z0-9._:/-]+$ ]]; then
  echo "shipgate: ledger repository ${PARAM_REPO} is not a repository reference" >&2
  exit 2
fi
printf "export SHIPGATE_FLAG_LEDGER_REPO='%s'\n" "${PARAM_REPO}" >>"${BASH_ENV}"
echo "shipgate: the ledger of this job is kept in ${PARAM_REPO} (SHIPGATE_FLAG_LEDGER_REPO)" >&2
