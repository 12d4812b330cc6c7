#!/usr/bin/env bash
# Checks every CUDA path of Vision Desk in one command on any machine with an NVIDIA GPU (under 8 minutes):
# the tests marked `gpu` (FP16 detection against FP32, an NVENC recording, colorize on CUDA against OpenCV DNN,
# EasyOCR on CUDA against the CPU) and the detection benchmark's GPU rows, then one summary.
#   ./setup.sh --test && scripts/gpu-check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
export PYTHONUNBUFFERED=1
log=$(mktemp -d)

if ! "$python" -c "import vision_desk" 2>/dev/null; then
  echo "gpu-check: Vision Desk is not installed in $python; run ./setup.sh --test first." >&2
  exit 2
fi
echo "== machine"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo "nvidia-smi: not found"
"$python" -c "import torch; print('torch', torch.__version__, '| CUDA', torch.version.cuda, '| available:', torch.cuda.is_available())"
"$python" -c "from vision_desk.weights import pick_device; print('pick_device(auto):', pick_device('auto'))"

echo "== gpu tests"
timeout 330 "$python" -m pytest -m gpu -rA -q -p no:cacheprovider tests 2>&1 | tee "$log/tests.txt" | grep -E "PASSED|FAILED|SKIPPED|ERROR|passed|failed|matched|^E " 
tests_rc=${PIPESTATUS[0]}

echo "== detection benchmark (GPU rows)"
timeout 240 "$python" -m vision_desk.cli bench --only detect --quick 2>&1 | tee "$log/bench.txt" | tail -15
bench_rc=${PIPESTATUS[0]}

echo "== summary"
echo "gpu tests: $(grep -E '(passed|failed|skipped|error)' "$log/tests.txt" | tail -1) (exit $tests_rc)"
echo "bench:     exit $bench_rc$( [ $bench_rc = 124 ] && echo ' (timed out)')"
[ "$tests_rc" = 0 ] && [ "$bench_rc" = 0 ]
