import fs from 'node:fs/promises';
import path from 'node:path';
import { isImageFile } from '@scopehive/shared';

/** A mistake in how the CLI was called: one line on stderr and exit code 2. */
export class UsageError extends Error {}

/** One file to analyse, named as the watcher would name it in an inbox holding what was given. */
export interface Input {
  /** The path results are filed under: the folder argument's name, then its tree; a file's own name. */
  image: string;
  file: string;
  /**
   * The folder playing the inbox's part: a folder argument's parent, a file argument's folder. Folder
   * settings (`scopehive.json`) are looked up from the image's folder up to here, as in the inbox.
   */
  root: string;
}

export async function collectInputs(args: readonly string[]): Promise<Input[]> {
  const inputs: Input[] = [];
  const taken = new Set<string>();
  const add = (file: string, root: string) => {
    const image = path.relative(root, path.resolve(file)).split(path.sep).join('/');
    let name = image;
    for (let i = 2; taken.has(name); i++) name = `${image}~${i}`;
    taken.add(name);
    inputs.push({ file, image: name, root });
  };
  for (const arg of args) {
    const stat = await fs.stat(arg).catch(() => undefined);
    if (!stat) throw new UsageError(`no such file or folder: ${arg}`);
    if (stat.isDirectory()) {
      const root = path.dirname(path.resolve(arg));
      for (const entry of await fs.readdir(arg, { recursive: true, withFileTypes: true })) {
        const file = path.join(entry.parentPath, entry.name);
        if (entry.isFile() && isImageFile(file) && !entry.name.startsWith('.')) add(file, root);
      }
    } else {
      add(arg, path.dirname(path.resolve(arg)));
    }
  }
  return inputs.sort((a, b) => a.image.localeCompare(b.image));
}

/** The model files to run: those named (a file, or a name in the models folder), or every one there. */
export async function resolveModelFiles(specs: readonly string[], modelsDir: string): Promise<string[]> {
  if (specs.length === 0) {
    const entries = await fs.readdir(modelsDir).catch(() => [] as string[]);
    const files = entries
      .filter((f) => f.toLowerCase().endsWith('.onnx'))
      .map((f) => path.join(modelsDir, f));
    if (files.length === 0) {
      throw new UsageError(
        `no model: put a .onnx in ${modelsDir} or pass --model <file.onnx> (npm run fetch-model gets one)`,
      );
    }
    return files.sort();
  }
  const files: string[] = [];
  for (const spec of specs.flatMap((s) => s.split(','))) {
    const candidates = [spec, path.join(modelsDir, spec), path.join(modelsDir, `${spec}.onnx`)];
    let found: string | undefined;
    for (const c of candidates) {
      if (c.toLowerCase().endsWith('.onnx') && (await fs.stat(c).catch(() => undefined))?.isFile()) {
        found = c;
        break;
      }
    }
    if (!found)
      throw new UsageError(`model not found: ${spec} (a .onnx file, or a model name in ${modelsDir})`);
    files.push(found);
  }
  return files;
}
