/**
 * Imported first by main.ts, so evaluated before the rest of the CLI: for `analyze`, a session
 * thread starts loading ONNX Runtime now, on another core, while this thread loads the settings,
 * the logger and the pipeline (about 0.1 s of the start-up). The first model opened takes it.
 */
import { SessionThread } from '../model/session-thread.ts';

const [command] = process.argv.slice(2);
if (command === 'analyze' || command === 'analyse') SessionThread.prestart();
