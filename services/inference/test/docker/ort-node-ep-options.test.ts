import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs build script without type declarations
import { addEpOptions } from '../../docker/ort-node-ep-options.mjs';

/** The shape of the binding's provider parsing that the edit relies on (not upstream's text). */
const source = [
  '#include "common.h"',
  'void ParseExecutionProviders(const Napi::Array epList, Ort::SessionOptions& sessionOptions) {',
  '  for (uint32_t i = 0; i < epList.Length(); i++) {',
  '    Napi::Value epValue = epList[i];',
  '    if (name == "cpu") {',
  '#ifdef USE_CUDA',
  '    } else if (name == "cuda") {',
  '      OrtCUDAProviderOptionsV2* options;',
  '      options->device_id = deviceId;',
  '#endif',
  '#ifdef USE_TENSORRT',
  '    } else if (name == "tensorrt") {',
  '      OrtTensorRTProviderOptionsV2* options;',
  '      options->device_id = deviceId;',
  '#endif',
  '    } else if (name == "dml") {',
  '    }',
  '  }',
  '}',
].join('\n');

describe('ort-node-ep-options.mjs', () => {
  it('passes the other options of the cuda and tensorrt entries to ONNX Runtime', () => {
    const edited: string = addEpOptions(source);
    const lines = edited.split('\n');
    const at = (text: string) => lines.findIndex((l) => l.includes(text));
    expect(at('static void ScopehiveCollectEpOptions')).toBeLessThan(at('void ParseExecutionProviders('));
    expect(lines[at('OrtCUDAProviderOptionsV2* options;') + 2].trim()).toBe(
      'ScopehiveApplyEpOptions(epValue, options, &OrtApi::UpdateCUDAProviderOptions);',
    );
    expect(lines[at('OrtTensorRTProviderOptionsV2* options;') + 2].trim()).toBe(
      'ScopehiveApplyEpOptions(epValue, options, &OrtApi::UpdateTensorRTProviderOptions);',
    );
    expect(addEpOptions(edited)).toBe(edited);
  });

  it('refuses a source it does not recognise, so the image build fails', () => {
    expect(() => addEpOptions(source.replaceAll('options->device_id = deviceId;', ''))).toThrow(/found 0/);
    expect(() => addEpOptions('int main() {}')).toThrow(/ParseExecutionProviders/);
  });
});
