#!/usr/bin/env bash
# Debian packages Kameng's features need: Chromium for the browser tests, Noto CJK
# fonts for Chinese in PDFs, gettext for `make messages`. Installs the missing ones
# when it can (root + apt-get); otherwise says what to install and carries on.
set -uo pipefail

packages=(chromium fonts-noto-cjk gettext)
missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "Note: missing system packages (${missing[*]}); this is not Debian, install their"
  echo "      equivalents by hand. Browser tests skip without Chromium; PDFs lack CJK fonts."
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo="sudo"
  else
    echo "Note: missing Debian packages: ${missing[*]}."
    echo "      Run: sudo apt-get install -y ${missing[*]}"
    echo "      Until then browser tests skip and PDFs lack Chinese fonts."
    exit 0
  fi
fi
echo "Installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! { $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >/tmp/kameng-apt.log 2>&1; then
  echo "Could not install ${missing[*]} (see /tmp/kameng-apt.log)."
  [ "${CI:-}" = "true" ] && exit 1
fi
exit 0
