import fs from 'node:fs/promises';
import type { ResultDocument } from './schema.ts';

/** What makes a result current: the image's content and the model's file. */
export interface ResultIdentity {
  imageSha256: string;
  modelSha256: string;
}

interface Entry extends ResultIdentity {
  mtimeMs: number;
}

/** Enough for every image of a long session; older entries are simply read again. */
const DEFAULT_CAPACITY = 20_000;

/**
 * The one place that answers "is this job done": a result document exists for exactly this image
 * content and model version. Ingest asks before it queues (no re-analysis after a restart) and the
 * pipeline before it runs (redelivered jobs). A document is parsed at most once per change: the
 * ledger remembers what each result file says, keyed by its path and modification time, and what
 * this process wrote itself. The cost of a question never grows with the results folder.
 */
export class ResultLedger {
  readonly #entries = new Map<string, Entry>();
  readonly #capacity: number;

  constructor(options: { capacity?: number } = {}) {
    this.#capacity = options.capacity ?? DEFAULT_CAPACITY;
  }

  /** True when the result document at `jsonPath` is for this image content and model version. */
  async isCurrent(jsonPath: string, want: ResultIdentity): Promise<boolean> {
    let mtimeMs: number;
    try {
      mtimeMs = (await fs.stat(jsonPath)).mtimeMs;
    } catch {
      this.#entries.delete(jsonPath);
      return false;
    }
    let entry = this.#entries.get(jsonPath);
    if (!entry || entry.mtimeMs !== mtimeMs) {
      entry = await readIdentity(jsonPath, mtimeMs);
      if (!entry) return false;
      this.#remember(jsonPath, entry);
    }
    return entry.imageSha256 === want.imageSha256 && entry.modelSha256 === want.modelSha256;
  }

  /** Records a result this process has just written, so the next question needs no read. */
  async record(jsonPath: string, identity: ResultIdentity): Promise<void> {
    try {
      const { mtimeMs } = await fs.stat(jsonPath);
      this.#remember(jsonPath, { ...identity, mtimeMs });
    } catch {
      this.#entries.delete(jsonPath);
    }
  }

  #remember(jsonPath: string, entry: Entry): void {
    this.#entries.delete(jsonPath);
    this.#entries.set(jsonPath, entry);
    if (this.#entries.size > this.#capacity) {
      this.#entries.delete(this.#entries.keys().next().value as string);
    }
  }
}

async function readIdentity(jsonPath: string, mtimeMs: number): Promise<Entry | undefined> {
  try {
    const doc = JSON.parse(await fs.readFile(jsonPath, 'utf8')) as Partial<ResultDocument>;
    const imageSha256 = doc.image?.sha256;
    const modelSha256 = doc.model?.sha256;
    if (typeof imageSha256 !== 'string' || typeof modelSha256 !== 'string') return undefined;
    return { imageSha256, modelSha256, mtimeMs };
  } catch {
    return undefined;
  }
}
