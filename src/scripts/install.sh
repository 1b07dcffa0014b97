#!/bin/bash
# Installs the shipgate helper, verified against the SHA-256 hashes written into this orb by its
# release (a checksum file downloaded next to the binary would prove nothing). A binary whose
# hash differs is deleted before it is ever executed, also when it comes from the cache.
set -euo pipefail
# The orb's shared functions (scripts/prelude.sh) arrive in this step's SHIPGATE_PRELUDE; a file,
# not a pipe, so that bash 3.2 (macOS) sources it too.
shipgate_prelude="$(mktemp)"
printf '%s\n' "${SHIPGATE_PRELUDE:?this step lacks the orb prelude SHIPGATE_PRELUDE}" >"${shipgate_prelude}"
# shellcheck source-path=SCRIPTDIR source=prelude.sh
source "${shipgate_prelude}"
rm -f -- "${shipgate_prelude}"

expand_vars PARAM_BASE_URL
# A mirror (an internal artifact store, or the local demo) replaces the default download
# location for every job when SHIPGATE_RELEASE_BASE_URL is set; an explicit base_url wins.
default_base_url="https://github.com/shipgate/shipgate/releases/download"
if [ -n "${SHIPGATE_RELEASE_BASE_URL:-}" ] && [ "${PARAM_BASE_URL}" = "${default_base_url}" ]; then
  PARAM_BASE_URL="${SHIPGATE_RELEASE_BASE_URL}"
fi

# BEGIN RELEASE HASHES: written by `orbtool hashes` at release time; do not edit by hand.
pinned_version=""
pinned_sha256() {
  case "$1" in
    *) echo "" ;;
  esac
}
# END RELEASE HASHES

bin_dir="${PARAM_INSTALL_DIR:-}"
if [ -z "${bin_dir}" ]; then
  bin_dir="${HOME}/.local/shipgate/bin"
fi
mkdir -p -- "${bin_dir}"

export_path() {
  # ${PATH} is meant literally: it expands when bash sources $BASH_ENV in later steps.
  # shellcheck disable=SC2016
  printf 'export PATH=%q:"${PATH}"\n' "${bin_dir}" >>"${BASH_ENV}"
}

# A preinstalled helper: the binary parameter, or SHIPGATE_HELPER_PATH set in the project or
# an executor image, for every shipgate job at once. It is the user's own binary: not verified.
binary="${PARAM_BINARY:-${SHIPGATE_HELPER_PATH:-}}"
if [ -n "${binary}" ]; then
  if [ ! -f "${binary}" ] || [ ! -x "${binary}" ]; then
    echo "shipgate: preinstalled binary ${binary} is missing or not executable" >&2
    exit 2
  fi
  ln -sf -- "$(cd -- "$(dirname -- "${binary}")" && pwd)/$(basename -- "${binary}")" "${bin_dir}/shipgate"
  printf 'preinstalled\n' >/tmp/shipgate-helper-version
  export_path
  echo "shipgate: using the preinstalled helper ${binary}"
  exit 0
fi

version="${PARAM_VERSION:-${pinned_version}}"
if [ -z "${version}" ]; then
  # A dev: orb (or one packed from source) pins no release: only the release job writes the
  # hashes, and a helper downloaded without a pinned hash would prove nothing.
  echo "shipgate: this orb is not a release (a dev: orb or one packed from source): it pins no helper; set 'binary' (or SHIPGATE_HELPER_PATH) to a helper your pipeline built, or 'version' and 'sha256' of a release (docs/orb.md, Installing the helper)" >&2
  exit 2
fi
case "$(uname -s)" in
  Linux) os=linux ;;
  Darwin) os=darwin ;;
  *) echo "shipgate: unsupported OS $(uname -s)" >&2; exit 2 ;;
esac
case "$(uname -m)" in
  x86_64 | amd64) arch=amd64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "shipgate: unsupported architecture $(uname -m)" >&2; exit 2 ;;
esac

want="${PARAM_SHA256:-}"
if [ -z "${want}" ] && [ "${version}" = "${pinned_version}" ]; then
  want="$(pinned_sha256 "${os}_${arch}")"
fi
if [ -z "${want}" ]; then
  echo "shipgate: no SHA-256 known for shipgate ${version} ${os}/${arch}; this orb pins ${pinned_version:-no version}: set 'sha256' for another version" >&2
  exit 2
fi

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum -- "$1" | cut -d' ' -f1
  else
    shasum -a 256 -- "$1" | cut -d' ' -f1
  fi
}

cache_dir="${HOME}/.cache/shipgate"
# The cache key of the next step is the checksum of this file, so a new version is saved anew.
printf '%s %s %s\n' "${version}" "${os}" "${arch}" >/tmp/shipgate-helper-version
cached="${cache_dir}/${version}/${os}_${arch}/shipgate"
if [ -f "${cached}" ]; then
  if [ "$(sha256_of "${cached}")" = "${want}" ]; then
    install -m 0755 -- "${cached}" "${bin_dir}/shipgate"
    export_path
    echo "shipgate: ${version} ${os}/${arch} from the cache, SHA-256 verified"
    exit 0
  fi
  echo "shipgate: cached helper ${cached} does not match the pinned SHA-256; deleting it and downloading again" >&2
  rm -f -- "${cached}"
fi

asset="shipgate_${version#v}_${os}_${arch}"
url="${PARAM_BASE_URL%/}/${version}/${asset}"
tmp="$(mktemp -d)"
trap 'rm -rf -- "${tmp}"' EXIT
curl_args=(--fail --silent --show-error --location --retry 3 --output "${tmp}/shipgate")
if [ -n "${PARAM_TOKEN_VAR:-}" ] && [ -n "${!PARAM_TOKEN_VAR:-}" ]; then
  # The token goes through a file, never on the command line.
  (umask 077 && printf 'Authorization: Bearer %s\n' "${!PARAM_TOKEN_VAR}" >"${tmp}/header")
  curl_args+=(--header "@${tmp}/header")
fi
curl "${curl_args[@]}" "${url}"
got="$(sha256_of "${tmp}/shipgate")"
if [ "${got}" != "${want}" ]; then
  rm -f -- "${tmp}/shipgate"
  echo "shipgate: refusing ${url}: SHA-256 ${got} differs from the pinned ${want}" >&2
  exit 5
fi
mkdir -p -- "$(dirname -- "${cached}")"
install -m 0755 -- "${tmp}/shipgate" "${cached}"
install -m 0755 -- "${tmp}/shipgate" "${bin_dir}/shipgate"
export_path
echo "shipgate: installed ${version} ${os}/${arch}, SHA-256 verified"
