// Prompt processing and generation speed of llama.cpp's CPU build, driven through node-llama-cpp's API on a GGUF
// file: the prompt (pp tokens) in one evaluation, then tg tokens generated greedily one at a time. Prints one JSON
// line. Run by benchmarks/peer-llamacpp.sh from the temporary folder it installs the package into.
import {getLlama, LlamaLogLevel} from "node-llama-cpp";

const [modelPath, threads, pp, tg] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4]), Number(process.argv[5])];
const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error});
const model = await llama.loadModel({modelPath, gpuLayers: 0});
const context = await model.createContext({contextSize: pp + tg + 16, threads, batchSize: 512, sequences: 1});
const sequence = context.getSequence();
// Token ids spread over the vocabulary's ordinary range; the weights are random, so any ids do.
const prompt = Array.from({length: pp}, (_, i) => 1000 + (i * 7919) % 50000);

const t0 = performance.now();
await sequence.evaluateWithoutGeneratingNewTokens(prompt);
const ppSeconds = (performance.now() - t0) / 1000;

// The first generated token comes from the prompt's logits: time the tg tokens after it.
let generated = 0, t1 = 0;
for await (const token of sequence.evaluate([prompt[pp - 1]], {temperature: 0})) {
  if (generated === 0) t1 = performance.now();
  if (++generated > tg) break;
}
const tgSeconds = (performance.now() - t1) / 1000;
console.log(JSON.stringify({pp, pp_tps: pp / ppSeconds, tg, tg_tps: tg / tgSeconds, cpu: llama.systemInfo}));
await context.dispose();
await model.dispose();
await llama.dispose();
