/** What the browser remembers between visits (localStorage): the API key, the default threshold, the gallery. */

const KEYS = { apiKey: 'facerec.apiKey', threshold: 'facerec.threshold', gallery: 'facerec.gallery' };

/** @param {string} key */
function read(key) {
  try {
    return localStorage.getItem(key) ?? '';
  } catch {
    return ''; // storage disabled (private mode, file://): behave as a fresh browser
  }
}

/** @param {string} key @param {string} value */
function write(key, value) {
  try {
    if (value) localStorage.setItem(key, value);
    else localStorage.removeItem(key);
  } catch {
    // not persisted; the session keeps working
  }
}

export const store = {
  get apiKey() {
    return read(KEYS.apiKey);
  },
  set apiKey(value) {
    write(KEYS.apiKey, value.trim());
  },
  /** The default match threshold as a number, or undefined for the server's default. */
  get threshold() {
    const value = Number.parseFloat(read(KEYS.threshold));
    return Number.isFinite(value) && value > 0 ? value : undefined;
  },
  set threshold(value) {
    write(KEYS.threshold, value === undefined ? '' : String(value));
  },
  get gallery() {
    return read(KEYS.gallery) || 'default';
  },
  set gallery(value) {
    write(KEYS.gallery, value === 'default' ? '' : value);
  },
};
