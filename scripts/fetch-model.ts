/**
 * `npm run fetch-model`: downloads a YOLO detection model (ONNX) into the models folder, with a
 * progress bar and a SHA-256 check, for machines that have internet. Offline it fails with one
 * clear line. The running service picks the new file up without a restart.
 *
 *   npm run fetch-model                                  # the default model
 *   npm run fetch-model -- --url <url> --sha256 <hex>    # another model
 *
 * Settings: SCOPEHIVE_MODEL_URL, SCOPEHIVE_MODEL_SHA256, SCOPEHIVE_MODELS_DIR (see README).
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '@scopehive/shared';
import { downloadModel } from './download-model.ts';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    sha256: { type: 'string' },
    name: { type: 'string' },
    timeout: { type: 'string', default: '30' },
  },
});

try {
  const { config } = loadConfig(['paths', 'fetch']);
  const url = values.url ?? config.fetch.modelUrl;
  const expected = values.sha256 ?? config.fetch.modelSha256;
  const file = await downloadModel({
    url,
    sha256: expected,
    modelsDir: config.paths.models,
    fileName: values.name,
    timeoutMs: Number(values.timeout) * 1000,
    progress: process.stderr,
  });
  process.stdout.write(`model saved to ${file}\n`);
} catch (err) {
  const lines = err instanceof ConfigError ? err.problems : [(err as Error).message];
  for (const line of lines) process.stderr.write(`fetch-model: ${line}\n`);
  process.exit(1);
}
