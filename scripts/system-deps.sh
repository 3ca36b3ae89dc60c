#!/usr/bin/env bash
# Installs the Debian packages the registry needs when they are missing:
#   - Pango and HarfBuzz's subsetter for WeasyPrint (without libharfbuzz-subset0 WeasyPrint
#     falls back to fontTools and a Chinese document renders about ten times slower);
#   - a CJK font so Chinese PDFs embed real glyphs;
#   - Chromium for the browser tests (Playwright drives Debian's build, never its own download);
#   - Node.js and npm, when the machine has none, to install the front-end assets (ECharts).
# As root it installs them with apt-get; otherwise it names what is missing and stops.
set -euo pipefail

packages=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 fonts-noto-cjk
          fontconfig chromium)
missing=()
for pkg in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed"; then
        missing+=("$pkg")
    fi
done

if ! command -v npm >/dev/null 2>&1; then
    missing+=(nodejs npm)
fi

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "缺少系统软件包：${missing[*]}" >&2
    echo "请以 root 身份运行：apt-get install -y ${missing[*]}" >&2
    exit 1
fi

echo "安装系统软件包：${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Wait for another package manager run (an unattended upgrade at boot) instead of failing.
apt-get -o DPkg::Lock::Timeout=600 update -q
apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}"
fc-cache -f >/dev/null 2>&1 || true
