#!/usr/bin/env bash
# Install citewire and everything its tests need, on a fresh machine with Python 3.11+.
# One command for users and CI alike (.ci/run calls it).
set -euo pipefail
cd "$(dirname "$0")"
# llama-cpp-python compiles llama.cpp. Its default build targets the build machine's exact CPU
# (-march=native) and dies with SIGILL on VMs that advertise instructions they trap (AMX here):
# build for a portable AVX2 baseline instead. --no-binary-cache is not needed on a fresh machine.
export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON}"
python3 -m pip install -e '.[dev]'
