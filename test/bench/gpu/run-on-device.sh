#!/usr/bin/env bash
# Runs on the lent GPU machine (device tool), in the repo root, after the CUDA
# provider parts were staged into /root/stage by earlier calls and the last call
# carried .device-gpu/p4 (node.xz, rt.tar.xz = node_modules + dist, models/).
# Writes everything under $OUT. See docs/performance-gpu.md.
set -u
OUT=${OUT:-/tmp/out}; S=/root/stage; mkdir -p "$OUT" "$S"
exec > >(tee "$OUT/run.log") 2>&1
echo "== $(date -u) $(hostname)"
mv .device-gpu/p4/* "$S"/ 2>/dev/null
nvidia-smi | tee "$OUT/nvidia-smi.txt"
nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv
nproc; lscpu | grep 'Model name'
cd "$S" && xz -dc -T0 node.xz > node && chmod +x node && cat cuda.a? | xz -dc -T0 | tar x && tar xJf rt.tar.xz && cd - >/dev/null
ls -la "$S"
export PATH="$S:$PATH"; node --version
rm -rf node_modules dist models && cp -r "$S/node_modules" "$S/dist" "$S/models" .
X=node_modules/onnxruntime-node/bin/napi-v6/linux/x64
cp "$S"/libonnxruntime_providers_*.so $X/ && ls -la $X
NV=$(find / -xdev -type d -path '*site-packages/nvidia/*/lib' 2>/dev/null | sort | tr '\n' ':')
echo "nvidia lib dirs: $NV"
export LD_LIBRARY_PATH="$PWD/$X:${NV}${LD_LIBRARY_PATH:-}"
echo "== ldd of the CUDA provider (missing ones):"; ldd $X/libonnxruntime_providers_cuda.so | grep -E 'not found|cudart|cublas|cudnn|cufft|curand' 
echo "== raw onnxruntime-node"
[ -n "${SKIP_RAW:-}" ] || timeout 240 node test/bench/gpu/gpu-check.mjs models > "$OUT/gpu-check.full.log" 2>&1; echo "gpu-check rc=$?"
grep -E '^(RESULT|ort versions|wide|fraud)' "$OUT/gpu-check.full.log"
echo "== EP assignment lines (first 40):"
grep -iE 'CUDAExecutionProvider|Node placements|placed on|assigned to' "$OUT/gpu-check.full.log" | head -40
grep -c . "$OUT/gpu-check.full.log"
[ -f "$OUT/gpu-check.full.log" ] && xz -T0 -6 "$OUT/gpu-check.full.log"
echo "== replica"
timeout 300 node test/bench/gpu/gpu-replica.mjs "$OUT" 5000; echo "gpu-replica rc=$?"
nvidia-smi --query-gpu=memory.used --format=csv
echo "== load from several processes (issue 10): LOOPS=${LOOPS:-1,2,4}"
[ -n "${SKIP_LOAD:-}" ] || LOOPS=${LOOPS:-1,2,4} timeout 420 node test/bench/gpu/gpu-load.mjs "$OUT" | tee "$OUT/gpu-load.txt"; echo "gpu-load rc=$?"
tar cJf "$OUT/replica-logs.tar.xz" -C "$OUT" $(cd "$OUT" && ls replica-*.log gpu-load-replica-*.log 2>/dev/null) && rm -f "$OUT"/replica-*.log "$OUT"/gpu-load-replica-*.log
if [ -f test/bench/inference.bench.ts ]; then echo "inference.bench.ts exists (not run: see docs/performance-gpu.md)"; fi
echo "== done $(date -u)"
