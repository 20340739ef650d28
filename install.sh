#!/usr/bin/env bash
# Install citewire and everything its tests need, on a fresh machine with Python 3.11+.
# One command for users and CI alike (.ci/run calls it).
set -euo pipefail
cd "$(dirname "$0")"
# llama-cpp-python compiles llama.cpp. Its default build targets the build machine's exact CPU
# (-march=native) and dies with SIGILL on VMs that advertise instructions they trap (AMX here):
# build for a portable AVX2 baseline instead.
export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON}"
python3 -m pip install -e '.[dev]'
# The browser tests drive Debian's chromium through its chromedriver (no browser download).
if ! { [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; }; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null 2>&1 \
    || { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null; }
fi
# pip reuses a cached wheel whatever CMAKE_ARGS says, so a wheel once built natively keeps dying
# with SIGILL: run one tiny completion, and rebuild without the cache if it crashes.
python3 -c 'from citewire.local_llm import LlamaWriter; LlamaWriter("smollm2", n_ctx=256, max_tokens=4).complete([{"role": "user", "content": "hi"}])' \
  || python3 -m pip install --no-cache-dir --force-reinstall --no-deps llama-cpp-python==0.3.36
