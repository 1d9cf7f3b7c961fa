/** The server's settings (GET /v1/settings), asked once: its threshold, enrollment gates and limits. */
/** @import { Settings } from './api.js' */
import { api } from './api.js';

/** @type {Promise<Settings> | undefined} */
let settings;

/** The settings, fetched on first use; a failed fetch is tried again next time. */
export function serverSettings() {
  settings ??= api.settings().catch((error) => {
    settings = undefined;
    throw error;
  });
  return settings;
}
