// Lets ONNX Runtime's Node binding pass TensorRT and CUDA provider options through. The released
// binding reads only `name` and `deviceId` of an execution provider entry (onnxruntime issue
// #26854; the ORT_TENSORRT_* environment variables are ignored too, issue #18380), so FP16 and the
// engine cache cannot be switched on from JavaScript. This edits js/node/src/session_options_helper.cc
// of the checked-out ONNX Runtime before the build: every other string property of a `tensorrt` or
// `cuda` entry is handed to ONNX Runtime's documented UpdateTensorRTProviderOptions /
// UpdateCUDAProviderOptions (option names as in its docs: trt_fp16_enable, trt_engine_cache_path, …).
// It refuses to run when the source does not look as expected, so a changed upstream file fails
// the image build instead of silently building a binding without the options.
// Usage: node ort-node-ep-options.mjs <onnxruntime checkout>/js/node/src/session_options_helper.cc
import { readFileSync, writeFileSync } from 'node:fs';

const HELPERS = `
// scopehive: provider options beyond deviceId (services/inference/docker/ort-node-ep-options.mjs).
static void ScopehiveCollectEpOptions(const Napi::Value& ep, std::vector<std::string>& keys,
                                      std::vector<std::string>& values) {
  if (!ep.IsObject()) return;
  auto obj = ep.As<Napi::Object>();
  auto names = obj.GetPropertyNames();
  for (uint32_t i = 0; i < names.Length(); i++) {
    std::string key = names.Get(i).As<Napi::String>().Utf8Value();
    Napi::Value value = obj.Get(key);
    if (key == "name" || key == "deviceId" || !value.IsString()) continue;
    keys.push_back(key);
    values.push_back(value.As<Napi::String>().Utf8Value());
  }
}
template <typename Options, typename Update>
static void ScopehiveApplyEpOptions(const Napi::Value& ep, Options* options, Update update) {
  std::vector<std::string> keys, values;
  ScopehiveCollectEpOptions(ep, keys, values);
  if (keys.empty()) return;
  std::vector<const char*> k, v;
  for (size_t i = 0; i < keys.size(); i++) {
    k.push_back(keys[i].c_str());
    v.push_back(values[i].c_str());
  }
  Ort::ThrowOnError((Ort::GetApi().*update)(options, k.data(), v.data(), k.size()));
}
`;

/** The edited source, or an Error naming the anchor that was not found as expected. */
export function addEpOptions(source) {
  if (source.includes('ScopehiveApplyEpOptions')) return source;
  const fn = 'void ParseExecutionProviders(';
  if (source.split(fn).length !== 2) throw new Error(`expected one "${fn}"`);
  const lines = source.split('\n');
  const out = [];
  let provider;
  let applied = 0;
  for (const line of lines) {
    if (line.startsWith(fn)) out.push(...HELPERS.split('\n'));
    const m = /}?\s*else if \(name == "(tensorrt|cuda)"\)/.exec(line);
    if (m) provider = m[1];
    else if (/else if \(name == "/.test(line)) provider = undefined;
    out.push(line);
    if (provider && line.trim() === 'options->device_id = deviceId;') {
      const indent = line.slice(0, line.indexOf('options'));
      const update =
        provider === 'tensorrt'
          ? '&OrtApi::UpdateTensorRTProviderOptions'
          : '&OrtApi::UpdateCUDAProviderOptions';
      out.push(`${indent}ScopehiveApplyEpOptions(epValue, options, ${update});`);
      applied++;
      provider = undefined;
    }
  }
  if (applied !== 2)
    throw new Error(`expected the tensorrt and cuda branches to set device_id (found ${applied})`);
  if (!source.includes('Napi::Value epValue = epList[i];'))
    throw new Error('expected "Napi::Value epValue = epList[i];"');
  return out.join('\n');
}

if (process.argv[2]) {
  const file = process.argv[2];
  try {
    writeFileSync(file, addEpOptions(readFileSync(file, 'utf8')));
    console.log(`${file}: tensorrt and cuda provider options passed through`);
  } catch (err) {
    console.error(`${file}: ${err.message}; the binding would ignore FP16 and the engine cache`);
    process.exit(1);
  }
}
