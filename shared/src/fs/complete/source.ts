import type { FileHandle } from 'node:fs/promises';

/**
 * Bytes of a file read at positions, a block at a time: a completeness rule walks headers, chunk
 * lengths and offset tables, and must never hold the file (a 2 GB stack) in memory to do it.
 */
export interface ByteSource {
  readonly size: number;
  /** Up to `length` bytes from `at` (fewer only at the end of the file). */
  read(at: number, length: number): Promise<Uint8Array>;
}

/** The file ends before a structure it promises: truncated, or still being written. */
export class Truncated extends Error {}

/** The bytes cannot be shown complete: malformed, hostile, or more work than the check may do. */
export class NotProvable extends Error {}

/** One cached block: structures are read in small pieces, mostly in order. */
const BLOCK_BYTES = 64 * 1024;

/** Reading past this many bytes for one check gives up (the stability window decides instead). */
export const DEFAULT_BUDGET_BYTES = 256 * 1024 * 1024;

/**
 * Reads structural numbers from a `ByteSource` through one cached block, counting the bytes read
 * against a budget. Every read past the end throws `Truncated`; the budget running out throws
 * `NotProvable`.
 */
export class StructureReader {
  readonly size: number;
  readonly #source: ByteSource;
  #budget: number;
  #block: Uint8Array = new Uint8Array(0);
  #blockAt = 0;

  constructor(source: ByteSource, budgetBytes = DEFAULT_BUDGET_BYTES) {
    this.#source = source;
    this.size = source.size;
    this.#budget = budgetBytes;
  }

  /** `length` bytes at `at` (at most one block), or `Truncated` when the file ends first. */
  async bytes(at: number, length: number): Promise<Uint8Array> {
    if (!Number.isSafeInteger(at) || at < 0 || length > BLOCK_BYTES) throw new NotProvable('bad read');
    if (at + length > this.size) throw new Truncated(`ends before byte ${at + length}`);
    if (at < this.#blockAt || at + length > this.#blockAt + this.#block.length) await this.#load(at);
    return this.#block.subarray(at - this.#blockAt, at - this.#blockAt + length);
  }

  /** The block from `at` on (as much as is cached or one more block): for scanning forward. */
  async from(at: number): Promise<Uint8Array> {
    if (at >= this.size) throw new Truncated(`ends at byte ${this.size}`);
    if (at < this.#blockAt || at >= this.#blockAt + this.#block.length) await this.#load(at);
    return this.#block.subarray(at - this.#blockAt);
  }

  async u8(at: number): Promise<number> {
    return (await this.bytes(at, 1))[0];
  }

  async u16(at: number, littleEndian: boolean): Promise<number> {
    const b = await this.bytes(at, 2);
    return littleEndian ? b[0] | (b[1] << 8) : (b[0] << 8) | b[1];
  }

  async u32(at: number, littleEndian: boolean): Promise<number> {
    const b = await this.bytes(at, 4);
    return new DataView(b.buffer, b.byteOffset, 4).getUint32(0, littleEndian);
  }

  /** A 64-bit count or offset; past 2^53 it is no real file's and cannot be trusted to compare. */
  async u64(at: number, littleEndian: boolean): Promise<number> {
    const b = await this.bytes(at, 8);
    const value = new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, littleEndian);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new NotProvable('64-bit value out of range');
    return Number(value);
  }

  async ascii(at: number, length: number): Promise<string> {
    return String.fromCharCode(...(await this.bytes(at, length)));
  }

  async #load(at: number): Promise<void> {
    const length = Math.min(BLOCK_BYTES, this.size - at);
    this.#budget -= length;
    if (this.#budget < 0) throw new NotProvable('read budget spent');
    const block = await this.#source.read(at, length);
    if (block.length < length) throw new Truncated(`ends before byte ${at + length}`);
    this.#block = block;
    this.#blockAt = at;
  }
}

/** A `ByteSource` over an open file, read at positions; `size` is the size the caller saw. */
export function fileSource(handle: FileHandle, size: number): ByteSource {
  return {
    size,
    async read(at, length) {
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buffer, 0, length, at);
      return buffer.subarray(0, bytesRead);
    },
  };
}

/** A `ByteSource` over bytes in memory (tests, and files already read). */
export function memorySource(bytes: Uint8Array): ByteSource {
  return { size: bytes.length, read: async (at, length) => bytes.subarray(at, at + length) };
}
