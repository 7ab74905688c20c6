// Raw onnxruntime-node on CUDA vs CPU: does the CUDA EP load, do outputs agree,
// and how many rows/s does one session give at each batch size (the GPU ceiling).
// Run on the device machine by run-on-device.sh: node test/bench/gpu/gpu-check.mjs <models dir>
import { readFileSync } from "node:fs";
import * as ort from "onnxruntime-node";

const dir = process.argv[2] ?? "models";
const BATCHES = [1, 8, 32, 64, 128, 256, 1024];
const say = (...a) => console.log(...a);
say("ort versions", JSON.stringify(ort.env.versions), "backends", JSON.stringify(ort.listSupportedBackends?.() ?? []));

function feeds(session, rows) {
  const out = {};
  for (const meta of session.inputMetadata) {
    const dims = meta.shape.map((d, i) => (i === 0 ? rows : typeof d === "number" ? d : 1));
    const n = dims.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = Math.sin(i * 0.37 + rows) * 0.5;
    out[meta.name] = new ort.Tensor("float32", data, dims);
  }
  return out;
}

async function timeRuns(session, input, minMs, maxRuns) {
  await session.run(input); // warm
  let runs = 0;
  const t0 = performance.now();
  while (runs < maxRuns && (runs < 3 || performance.now() - t0 < minMs)) {
    await session.run(input);
    runs++;
  }
  return (performance.now() - t0) / runs;
}

for (const name of ["wide", "fraud"]) {
  const bytes = readFileSync(`${dir}/${name}.onnx`);
  let gpu;
  const t = performance.now();
  try {
    // A verbose session only to show which EP each node was placed on; timing uses a quiet one.
    const verbose = await ort.InferenceSession.create(bytes, { executionProviders: [{ name: "cuda", deviceId: 0 }], logSeverityLevel: 0, logId: `${name}-cuda-verbose` });
    await verbose.run(feeds(verbose, 4));
    await verbose.release();
    say(`${name}: verbose CUDA session done in ${Math.round(performance.now() - t)} ms`);
    gpu = await ort.InferenceSession.create(bytes, { executionProviders: [{ name: "cuda", deviceId: 0 }], logSeverityLevel: 3 });
  } catch (error) {
    say(`${name}: CUDA session FAILED: ${error?.message ?? error}`);
    continue;
  }
  say(`${name}: CUDA session created in ${Math.round(performance.now() - t)} ms; inputs ${JSON.stringify(gpu.inputMetadata.map((m) => [m.name, m.shape]))}`);
  const cpu = await ort.InferenceSession.create(bytes, { executionProviders: ["cpu"], logSeverityLevel: 3 });
  for (const rows of BATCHES) {
    const input = feeds(gpu, rows);
    const g = await gpu.run(input);
    const c = await cpu.run(input);
    let diff = 0, scale = 0;
    for (const key of Object.keys(c)) {
      const a = g[key].data, b = c[key].data;
      for (let i = 0; i < b.length; i++) {
        diff = Math.max(diff, Math.abs(Number(a[i]) - Number(b[i])));
        scale = Math.max(scale, Math.abs(Number(b[i])));
      }
    }
    const gpuMs = await timeRuns(gpu, input, 1500, 5000);
    const cpuMs = await timeRuns(cpu, input, 1500, 5000);
    say(`RESULT ${name} batch=${rows} maxAbsDiff=${diff.toExponential(2)} maxAbsOut=${scale.toExponential(2)} gpu_ms=${gpuMs.toFixed(3)} gpu_rows_s=${Math.round((rows * 1000) / gpuMs)} cpu_ms=${cpuMs.toFixed(3)} cpu_rows_s=${Math.round((rows * 1000) / cpuMs)}`);
  }
  await gpu.release();
  await cpu.release();
}
