/** How one sample is stored, in the file and in memory. */
export type SampleType = 'uint8' | 'int8' | 'uint16' | 'int16' | 'uint32' | 'int32' | 'float32' | 'float64';

export type SampleArray =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float32Array
  | Float64Array;

/** What the file held before conversion to 8-bit: a sample type, or an RGB/palette layout. */
export type SourceType = SampleType | 'rgb8' | 'rgb16' | 'palette8';

/** Decoded pixels in native byte order, samples interleaved (RGBRGB…). */
export interface Raster {
  width: number;
  height: number;
  channels: 1 | 3;
  sampleType: SampleType;
  data: SampleArray;
}

export const SAMPLE_BYTES: Readonly<Record<SampleType, number>> = {
  uint8: 1,
  int8: 1,
  uint16: 2,
  int16: 2,
  uint32: 4,
  int32: 4,
  float32: 4,
  float64: 8,
};

const NATIVE_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function sampleArray(type: SampleType, buffer: ArrayBuffer, count: number): SampleArray {
  switch (type) {
    case 'uint8':
      return new Uint8Array(buffer, 0, count);
    case 'int8':
      return new Int8Array(buffer, 0, count);
    case 'uint16':
      return new Uint16Array(buffer, 0, count);
    case 'int16':
      return new Int16Array(buffer, 0, count);
    case 'uint32':
      return new Uint32Array(buffer, 0, count);
    case 'int32':
      return new Int32Array(buffer, 0, count);
    case 'float32':
      return new Float32Array(buffer, 0, count);
    case 'float64':
      return new Float64Array(buffer, 0, count);
  }
}

/**
 * Turns file-order sample bytes into a typed array, swapping bytes when the file's order is not the
 * machine's. With `owned`, `bytes` is a scratch buffer starting its own ArrayBuffer and is reused in
 * place (no second copy of a large image); otherwise it is copied, which also fixes the alignment of
 * odd file offsets and leaves the file's bytes untouched.
 */
export function samplesFromBytes(
  bytes: Uint8Array,
  type: SampleType,
  count: number,
  options: { littleEndian: boolean; owned: boolean },
): SampleArray {
  const size = SAMPLE_BYTES[type];
  const { littleEndian, owned } = options;
  // Not bytes.slice(): on a Node Buffer that is a view, not a copy.
  const own = owned && bytes.byteOffset === 0 ? bytes : new Uint8Array(bytes.subarray(0, count * size));
  if (size > 1 && littleEndian !== NATIVE_LITTLE_ENDIAN) swapBytes(own, size, count);
  return sampleArray(type, own.buffer as ArrayBuffer, count);
}

function swapBytes(bytes: Uint8Array, size: number, count: number): void {
  for (let i = 0, o = 0; i < count; i++, o += size) {
    for (let a = o, b = o + size - 1; a < b; a++, b--) {
      const t = bytes[a];
      bytes[a] = bytes[b];
      bytes[b] = t;
    }
  }
}
