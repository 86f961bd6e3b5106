#!/usr/bin/env bash
# Make headless Chromium available for the report-rendering test, or say in one line why
# not. Uses an installed chromium; otherwise, only as root on Debian, installs Debian's
# `chromium` package. Never fails: without a browser that one test skips with a reason.
set -uo pipefail

APT_LOG=/var/log/dapr-chaos-apt-chromium.log

if command -v chromium >/dev/null || command -v chromium-browser >/dev/null; then
    exit 0
fi
if [ "$(id -u)" != 0 ] || [ ! -f /etc/debian_version ]; then
    echo "browser: no chromium and not root on Debian: the HTML report test will skip"
    exit 0
fi
echo "browser: installing chromium from the Debian mirror (log: $APT_LOG)"
if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >$APT_LOG 2>&1; then
    apt-get update -q >>$APT_LOG 2>&1
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >>$APT_LOG 2>&1; then
        echo "browser: apt-get install chromium failed (see $APT_LOG): the HTML report test will skip"
    fi
fi
exit 0
