#!/usr/bin/env bash
# Install the Debian packages that tests and the demo need beyond the venv:
# PostgreSQL server binaries (throwaway test clusters), chromium (browser
# tests), CJK fonts (so zh_CN screenshots are not tofu) and gettext (msgfmt).
# Idempotent: when everything is present it only tests a few paths, so that
# `make test` can call it every time.
set -euo pipefail

lean=()  # installed with --no-install-recommends
full=()  # chromium keeps its recommends (fonts-liberation, libgl1-mesa-dri,
         # udev...): the configuration verified to run headless
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || lean+=(postgresql)
compgen -G '/usr/share/fonts/opentype/noto/NotoSansCJK-*' >/dev/null \
    || lean+=(fonts-noto-cjk)
command -v msgfmt >/dev/null || lean+=(gettext)
[[ -x /usr/bin/chromium ]] || full+=(chromium)

missing=("${lean[@]}" "${full[@]}")
if ((${#missing[@]} == 0)); then
    exit 0
fi
if ((EUID != 0)); then
    echo "Missing system packages: ${missing[*]}" >&2
    echo "Install them as root: apt-get install ${missing[*]}" >&2
    exit 1
fi

echo "Installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
if ((${#lean[@]})); then
    apt-get install -y -q --no-install-recommends "${lean[@]}"
fi
if ((${#full[@]})); then
    apt-get install -y -q "${full[@]}"
fi
