#!/usr/bin/env bash
# The explorer's browser test (test/e2e/explorer.test.ts) drives Debian's chromium with playwright-core, which cannot
# download a browser of its own here. Installs the package when it is missing and this is a root shell with apt-get
# (as on CI); otherwise says what to install and fails.
set -euo pipefail
[ -x /usr/bin/chromium ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get > /dev/null; then
  echo "pretest: installing Debian's chromium for the explorer's browser test"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium > /dev/null
else
  echo "pretest: /usr/bin/chromium is missing: install Debian's chromium package (sudo apt-get install chromium)" >&2
  exit 1
fi
