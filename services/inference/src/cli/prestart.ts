/**
 * For `analyze`, a session thread starts loading ONNX Runtime now, on another core, while this
 * thread reads the settings, the logger and the pipeline; the first model opened takes it. The
 * `scopehive` command imports this module on its own before main.js (a module runs only once its
 * whole import graph is read: about 70 ms sooner); main.ts imports it first too, for `node main.js`.
 */
import { SessionThread } from '../model/session-thread.ts';

const [command] = process.argv.slice(2);
if (command === 'analyze' || command === 'analyse') SessionThread.prestart();
