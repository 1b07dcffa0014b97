#!/bin/bash
# Checks a CircleCI config against shipgate's deployment rules.
set -euo pipefail
shipgate lint "${PARAM_FILE}"
