/** @scopehive/exporter: device metrics and the latest image, for `npm start` to compose in one process. */

export { composeExporter } from './compose.ts';
