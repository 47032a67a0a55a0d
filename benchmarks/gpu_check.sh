#!/usr/bin/env bash
# The GPU run, prepared: set-up, notebooks 06a and 06b, the benchmark's CUDA settings, tables to a folder.
#
#   benchmarks/gpu_check.sh                      # on a CUDA machine: the whole run
#   benchmarks/gpu_check.sh --data-dir ../shared/mnist --out gpu_run
#   benchmarks/gpu_check.sh --cpu-check          # anywhere: everything but CUDA, quickly
#   benchmarks/gpu_check.sh --cpu-check --skip-notebook -- --models mlp   # args after -- go to the benchmark
#   benchmarks/gpu_check.sh --cpu-check --python "$(command -v python)"  # no set-up: this Python
#
# On a CUDA machine it
#   1. sets up .venv/ the way `python3 run.py` does (installs mnistlab and PyTorch if needed),
#      unless --python names the Python to use instead (then nothing is installed);
#   2. writes machine.txt: date, nvidia-smi, PyTorch and CUDA versions;
#   3. executes chapter 06's notebooks (06a_gpu_devices, 06b_gpu_speed) on the offline sample
#      (as `run.py execute` does) into OUT/, leaving the repository's copies untouched, and
#      their printed output (the CPU-versus-GPU table among it) into OUT/06a_outputs.txt and
#      OUT/06b_outputs.txt;
#   4. runs the benchmark on the GPU (float32, mixed precision, channels-last, torch.compile)
#      into OUT/bench.txt and OUT/bench.json.
# With --cpu-check it runs the same steps on the CPU, with the benchmark in quick mode: a test
# of everything except CUDA itself (tests/test_benchmark.py runs it that way, with --python).
set -euo pipefail
cd "$(dirname "$0")/.."

out="build/gpu_check_$(date -u +%Y%m%d-%H%M)"  # build/ is git-ignored
data_dir=""
cpu_check=0
notebook=1
py=""
while [ $# -gt 0 ]; do
    case "$1" in
        --out) out="$2"; shift 2 ;;
        --data-dir) data_dir="$2"; shift 2 ;;
        --cpu-check) cpu_check=1; shift ;;
        --skip-notebook) notebook=0; shift ;;
        --python) py="$2"; shift 2 ;;
        --) shift; break ;;
        -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
        *) echo "gpu_check.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done

# 1. Set-up: what every run.py verb does first (create .venv/, install the project into it).
if [ -z "$py" ]; then
    python3 -c "import run; run.ensure_environment()"
    py=.venv/bin/python
    [ -x "$py" ] || py=.venv/Scripts/python.exe
fi

# One Python start answers both questions: is there a CUDA GPU, and which PyTorch is it.
probe="import torch; print('cuda' if torch.cuda.is_available() else 'cpu', torch.__version__, torch.version.cuda)"
if ! found=$("$py" -c "$probe"); then
    echo "gpu_check.sh: $py cannot import PyTorch (the error is above). Give --python a Python" >&2
    echo "  with mnistlab's dependencies installed, or leave --python out to set up .venv/." >&2
    exit 2
fi
read -r device torch_version cuda_version <<< "$found"
if [ "$device" = cuda ]; then
    bench_args=(--device cuda)
elif [ "$cpu_check" = 1 ]; then
    device=cpu
    bench_args=(--device cpu --quick)
else
    echo "gpu_check.sh: PyTorch finds no CUDA GPU here (torch.cuda.is_available() is False)." >&2
    echo "  Run it on a machine with an NVIDIA GPU, or add --cpu-check to test everything else." >&2
    exit 1
fi
if [ -n "$data_dir" ]; then
    bench_args+=(--data-dir "$data_dir")
fi
mkdir -p "$out"

# 2. The machine.
{
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "device: $device"
    if command -v nvidia-smi > /dev/null; then
        nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
    fi
    echo "PyTorch $torch_version | CUDA $cuda_version"
} > "$out/machine.txt"
cat "$out/machine.txt"

# 3. Chapter 06's notebooks, each executed into a copy (the kernel runs in notebooks/, as in
#    JupyterLab).
if [ "$notebook" = 1 ]; then
    for name in 06a_gpu_devices 06b_gpu_speed; do
        echo "gpu_check.sh: executing notebooks/$name.ipynb into $out/$name.ipynb"
        MNISTLAB_SAMPLE=1 "$py" -m jupyter nbconvert --to notebook --execute \
            --ExecutePreprocessor.timeout=600 --output-dir "$out" --output "$name.ipynb" \
            "notebooks/$name.ipynb"
        "$py" - "$out/$name.ipynb" > "$out/${name%%_*}_outputs.txt" <<'PYTHON'
import json, sys
cells = json.load(open(sys.argv[1]))["cells"]
for number, cell in enumerate(cells):
    for output in cell.get("outputs", []):
        text = output.get("text") or output.get("data", {}).get("text/plain")
        if text and output.get("name") != "stderr":
            print(f"--- cell {number}\n{''.join(text).rstrip()}")
PYTHON
    done
fi

# 4. The benchmark.
echo "gpu_check.sh: running the benchmark on $device"
"$py" -m benchmarks "${bench_args[@]}" --json "$out/bench.json" "$@" | tee "$out/bench.txt"
echo "gpu_check.sh: tables written to $out/"
