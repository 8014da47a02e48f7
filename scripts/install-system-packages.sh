#!/usr/bin/env bash
# Install the Debian packages the tests use as real peers: SIPp, baresip and PostgreSQL, and
# Chromium, the headless browser that renders the status report in its test; and gcc, which
# compiles pbxd's mypyc build (make compiled).
# Does nothing (in well under a second) when they are all present.
set -eu
packages=(sip-tester baresip postgresql chromium gcc)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null; then
  echo "error: the tests need the Debian packages ${missing[*]}, and there is no apt-get here." >&2
  echo "Install SIPp, baresip, PostgreSQL, Chromium and gcc with your system's package manager." >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "error: installing ${missing[*]} needs root; run: sudo apt-get install ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "installing Debian packages: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
