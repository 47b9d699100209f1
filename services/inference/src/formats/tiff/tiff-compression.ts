import { inflateRawSync, inflateSync } from 'node:zlib';
import { MicroscopyError } from '../../microscopy/errors.ts';

/** Names of the TIFF compression schemes an instrument might write, for readable refusals. */
const COMPRESSION_NAMES: Readonly<Record<number, string>> = {
  1: 'none',
  2: 'CCITT modified Huffman',
  3: 'CCITT Group 3 fax',
  4: 'CCITT Group 4 fax',
  5: 'LZW',
  6: 'old-style JPEG',
  7: 'JPEG',
  8: 'Deflate',
  9: 'JBIG',
  32773: 'PackBits',
  32946: 'Deflate',
  33003: 'JPEG 2000 (Aperio)',
  33005: 'JPEG 2000 (Aperio)',
  34661: 'JBIG',
  34676: 'SGI LogLuv',
  34677: 'SGI LogL',
  34712: 'JPEG 2000',
  34887: 'LERC',
  34892: 'lossy JPEG',
  34925: 'LZMA',
  50000: 'Zstandard',
  50001: 'WebP',
  50002: 'JPEG XL',
};

export const SUPPORTED_COMPRESSIONS: ReadonlySet<number> = new Set([1, 5, 8, 32773, 32946]);

export function compressionName(code: number): string {
  return COMPRESSION_NAMES[code] ?? 'unknown';
}

/** Throws the refusal the microscopist sees for a scheme scopehive does not decode. */
export function assertSupportedCompression(code: number): void {
  if (!SUPPORTED_COMPRESSIONS.has(code)) {
    throw new MicroscopyError(
      'unsupported',
      `unsupported TIFF compression ${code} (${compressionName(code)})`,
    );
  }
}

/**
 * Decodes one strip or tile into exactly `expected` bytes. Output never grows past `expected`
 * (a decompression bomb costs nothing); data that ends early is an error, not zero-filled.
 */
export function decompressChunk(
  compression: number,
  input: Uint8Array,
  expected: number,
  what: string,
): Uint8Array {
  assertSupportedCompression(compression);
  const out =
    compression === 1
      ? input.subarray(0, expected)
      : compression === 5
        ? lzwDecode(input, expected, what)
        : compression === 32773
          ? packBitsDecode(input, expected)
          : inflate(input, expected, what);
  if (out.length < expected) {
    throw new MicroscopyError(
      'truncated',
      `TIFF ${what} holds ${out.length} of ${expected} bytes (${compressionName(compression)}): the file is truncated or corrupt`,
    );
  }
  return out;
}

const CLEAR = 256;
const EOI = 257;

/** TIFF LZW: MSB-first codes of 9–12 bits, widths growing one code early (TIFF 6.0 §13). */
export function lzwDecode(input: Uint8Array, expected: number, what = 'strip'): Uint8Array {
  const out = new Uint8Array(expected);
  const prefix = new Uint16Array(4096);
  const suffix = new Uint8Array(4096);
  const first = new Uint8Array(4096);
  const length = new Uint16Array(4096);
  for (let i = 0; i < 256; i++) {
    suffix[i] = i;
    first[i] = i;
    length[i] = 1;
  }
  let acc = 0;
  let accBits = 0;
  let byte = 0;
  let width = 9;
  let next = 258;
  let prev = -1;
  let pos = 0;
  const write = (code: number): void => {
    const n = length[code];
    let c = code;
    for (let k = n - 1; k >= 0; k--) {
      if (pos + k < expected) out[pos + k] = suffix[c];
      c = prefix[c];
    }
    pos += n;
  };
  while (pos < expected) {
    // At most 11 bits remain between codes, so the accumulator never passes 19 bits.
    while (accBits < width && byte < input.length) {
      acc = (acc << 8) | input[byte++];
      accBits += 8;
    }
    if (accBits < width) break;
    accBits -= width;
    const code = (acc >>> accBits) & ((1 << width) - 1);
    acc &= (1 << accBits) - 1;
    if (code === EOI) break;
    if (code === CLEAR) {
      width = 9;
      next = 258;
      prev = -1;
      continue;
    }
    if (prev === -1) {
      if (code > 255)
        throw new MicroscopyError(
          'corrupt',
          `TIFF ${what}: corrupt LZW data (code ${code} where a literal byte must come)`,
        );
      write(code);
      prev = code;
      continue;
    }
    if (code > next || (code === next && next >= 4096)) {
      throw new MicroscopyError(
        'corrupt',
        `TIFF ${what}: corrupt LZW data (code ${code} before it was defined)`,
      );
    }
    if (next < 4096) {
      prefix[next] = prev;
      first[next] = first[prev];
      suffix[next] = code === next ? first[prev] : first[code];
      length[next] = length[prev] + 1;
      next++;
      if (next >= (1 << width) - 1 && width < 12) width++;
    }
    write(code);
    prev = code;
  }
  return out.subarray(0, Math.min(pos, expected));
}

/** Apple PackBits run-length coding. */
export function packBitsDecode(input: Uint8Array, expected: number): Uint8Array {
  const out = new Uint8Array(expected);
  let i = 0;
  let o = 0;
  while (o < expected && i < input.length) {
    const n = (input[i++] << 24) >> 24;
    if (n >= 0) {
      const end = Math.min(i + n + 1, input.length);
      const take = Math.min(end - i, expected - o);
      out.set(input.subarray(i, i + take), o);
      o += take;
      i = end;
    } else if (n !== -128) {
      if (i >= input.length) break;
      const run = Math.min(1 - n, expected - o);
      out.fill(input[i++], o, o + run);
      o += run;
    }
  }
  return out.subarray(0, o);
}

function inflate(input: Uint8Array, expected: number, what: string): Uint8Array {
  // A little slack: some writers pad the last strip. The cap still bounds a hostile stream.
  const maxOutputLength = expected * 2 + 1024;
  try {
    return inflateSync(input, { maxOutputLength }).subarray(0, expected);
  } catch (err) {
    const message = (err as Error).message;
    if (/incorrect header check/i.test(message)) {
      try {
        return inflateRawSync(input, { maxOutputLength }).subarray(0, expected);
      } catch {
        // Report the zlib error below; raw Deflate was only a fallback.
      }
    }
    const reason = /unexpected end/i.test(message) ? 'truncated' : 'corrupt';
    throw new MicroscopyError(reason, `TIFF ${what}: Deflate data could not be decoded (${message})`);
  }
}
