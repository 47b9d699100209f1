import { describe, expect, it } from 'vitest';
import {
  engineCacheDir,
  engineCacheKey,
  gpuStackFromEnv,
  parseGpuDevices,
  providerName,
  providerSpec,
} from '../../src/model/providers.ts';

const sha = 'ab12cd34ef56ab78cd90ef12ab34cd56ef78ab90cd12ef34ab56cd78ef90ab12';
const orin = { deviceType: 'jetson-agx-orin-devkit', jetpack: '6.2', tensorrt: '10.3' };

describe('providerSpec', () => {
  it('TensorRT: FP16, engine and timing caches in the given folder, on the given GPU', () => {
    expect(providerSpec('tensorrt', { deviceId: 1, trtCacheDir: '/data/.cache/tensorrt/k' })).toEqual({
      name: 'tensorrt',
      deviceId: 1,
      trt_fp16_enable: '1',
      trt_engine_cache_enable: '1',
      trt_engine_cache_path: '/data/.cache/tensorrt/k',
      trt_timing_cache_enable: '1',
      trt_timing_cache_path: '/data/.cache/tensorrt/k',
    });
  });

  it('TensorRT without a cache folder: FP16 only, no cache options', () => {
    expect(providerSpec('tensorrt', { deviceId: 0 })).toEqual({
      name: 'tensorrt',
      deviceId: 0,
      trt_fp16_enable: '1',
    });
  });

  it('CUDA gets its GPU; CPU and unknown names stay plain names', () => {
    expect(providerSpec('cuda', { deviceId: 2 })).toEqual({ name: 'cuda', deviceId: 2 });
    expect(providerSpec('cpu', { deviceId: 2, trtCacheDir: '/x' })).toBe('cpu');
    expect(providerSpec('webgpu', { deviceId: 0 })).toBe('webgpu');
  });

  it('option values are strings, as UpdateTensorRTProviderOptions takes them', () => {
    const spec = providerSpec('tensorrt', { deviceId: 0, trtCacheDir: '/c' });
    for (const [key, value] of Object.entries(spec as object)) {
      if (key.startsWith('trt_')) expect(typeof value, key).toBe('string');
    }
    expect(providerName(spec)).toBe('tensorrt');
    expect(providerName('cpu')).toBe('cpu');
  });
});

describe('engineCacheKey', () => {
  it('names device type, JetPack, TensorRT, GPU and the model hash', () => {
    expect(engineCacheKey(orin, sha, 0)).toBe('jetson-agx-orin-devkit_jp6.2_trt10.3_gpu0_ab12cd34ef56ab78');
  });

  it('differs for every part an engine depends on', () => {
    const keys = new Set([
      engineCacheKey(orin, sha, 0),
      engineCacheKey({ ...orin, deviceType: 'jetson-orin-nx-xavier-nx-devkit' }, sha, 0),
      engineCacheKey({ ...orin, jetpack: '5.1.2' }, sha, 0),
      engineCacheKey({ ...orin, tensorrt: '8.5' }, sha, 0),
      engineCacheKey(orin, sha, 1),
      engineCacheKey(orin, `ff${sha.slice(2)}`, 0),
    ]);
    expect(keys.size).toBe(6);
  });

  it('x86-64 without JetPack or a known TensorRT still gets a key', () => {
    expect(engineCacheKey({ deviceType: 'x86-64' }, sha, 3)).toBe(
      'x86-64_jpnone_trtunknown_gpu3_ab12cd34ef56ab78',
    );
  });

  it('keeps every key one safe folder name', () => {
    const key = engineCacheKey({ deviceType: '../../etc', jetpack: '6/2', tensorrt: 'a b' }, sha, 0);
    expect(key).not.toContain('/');
    expect(key).not.toMatch(/^\./);
    expect(engineCacheDir('/data/.cache/tensorrt', { deviceType: '..' }, sha, 0)).toBe(
      '/data/.cache/tensorrt/unknown_jpnone_trtunknown_gpu0_ab12cd34ef56ab78',
    );
  });

  it('refuses what is not a model hash or a GPU index', () => {
    expect(() => engineCacheKey(orin, 'model.onnx', 0)).toThrow(/not a model hash/);
    expect(() => engineCacheKey(orin, sha, -1)).toThrow(/not a GPU index/);
    expect(() => engineCacheKey(orin, sha, 0.5)).toThrow(/not a GPU index/);
  });
});

describe('gpuStackFromEnv', () => {
  it('balena device type first, then the image’s own', () => {
    expect(
      gpuStackFromEnv({
        BALENA_DEVICE_TYPE: 'jetson-xavier',
        SCOPEHIVE_DEVICE_TYPE: 'other',
        SCOPEHIVE_JETPACK: '5.1.2',
        SCOPEHIVE_TENSORRT: '8.5',
      }),
    ).toEqual({ deviceType: 'jetson-xavier', jetpack: '5.1.2', tensorrt: '8.5' });
    expect(gpuStackFromEnv({ SCOPEHIVE_DEVICE_TYPE: 'x86-64-cuda' })).toEqual({
      deviceType: 'x86-64-cuda',
      jetpack: undefined,
      tensorrt: undefined,
    });
    expect(gpuStackFromEnv({}).deviceType).toBe('x86-64');
  });
});

describe('parseGpuDevices', () => {
  it('one session per listed GPU, GPU 0 by default', () => {
    expect(parseGpuDevices(undefined)).toEqual([0]);
    expect(parseGpuDevices(' ')).toEqual([0]);
    expect(parseGpuDevices('0, 1,3')).toEqual([0, 1, 3]);
    expect(parseGpuDevices('1,1')).toEqual([1]);
  });

  it('refuses anything but indices, naming the value', () => {
    expect(() => parseGpuDevices('0,gpu1')).toThrow(
      'SCOPEHIVE_GPU_DEVICES must list GPU indices such as 0,1 (got "0,gpu1")',
    );
    expect(() => parseGpuDevices('-1')).toThrow(/SCOPEHIVE_GPU_DEVICES/);
  });
});
