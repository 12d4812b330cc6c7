#!/usr/bin/env bash
# Sets up Vision Desk on a fresh machine: system libraries (Debian/Ubuntu apt) and the Python package.
#   ./setup.sh          the app: zbar for barcodes, the X11/EGL libraries Qt needs, then `pip install -e .`
#   ./setup.sh --test   also what the tests use: Xvfb, the GStreamer RTSP server, and the test extras
# Run it inside the virtual environment you want Vision Desk in (or as is, for the current Python).
set -euo pipefail
cd "$(dirname "$0")"

with_tests=0
[ "${1:-}" = "--test" ] && with_tests=1

apt_packages=(libzbar0 libgl1 libegl1 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1
  libxcb-image0 libxcb-render-util0 libxcb-xinerama0 libxcb-shape0 libdbus-1-3 fonts-dejavu-core)
if [ $with_tests = 1 ]; then
  apt_packages+=(xvfb python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-good
    gstreamer1.0-plugins-ugly gstreamer1.0-plugins-bad gstreamer1.0-libav)
fi

if command -v apt-get >/dev/null 2>&1; then
  missing=()
  for p in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "setup: installing system packages: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
else
  echo "setup: no apt-get here; install zbar (libzbar) with your system's package manager for barcode reading." >&2
fi

python=${PYTHON:-python3}
extras=""; [ $with_tests = 1 ] && extras="[test]"
"$python" -m pip install -q -e ".${extras}"
echo "setup: done ($("$python" -c 'import vision_desk; print("vision-desk", vision_desk.__version__)'))"
