/** Settings: the API key and the default threshold (this browser only), links for developers, the server's state. */
import { api } from '../api.js';
import { $, errorMessage, h, loading, message, show, withBusy } from '../dom.js';
import { describeError } from '../messages.js';
import { store } from '../store.js';

/** @param {{ onChange: () => void }} app */
export function settingsView(app) {
  const form = /** @type {HTMLFormElement} */ ($('#settings-form'));
  const key = /** @type {HTMLInputElement} */ ($('#settings-key'));
  const toggle = /** @type {HTMLButtonElement} */ ($('#settings-key-toggle'));
  const threshold = /** @type {HTMLInputElement} */ ($('#settings-threshold'));
  const status = $('#settings-status');
  const testButton = /** @type {HTMLButtonElement} */ ($('#settings-test'));
  const server = $('#settings-server');

  toggle.addEventListener('click', () => {
    const showing = key.type === 'text';
    key.type = showing ? 'password' : 'text';
    toggle.textContent = showing ? 'Show' : 'Hide';
    toggle.setAttribute('aria-pressed', String(!showing));
  });

  const saveButton = /** @type {HTMLButtonElement} */ (form.querySelector('[type=submit]'));
  key.addEventListener('input', () => key.classList.remove('invalid'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const raw = threshold.value.trim();
    const value = raw === '' ? undefined : Number(raw);
    if (value !== undefined && !(value >= 0.05 && value <= 1.5)) {
      threshold.classList.add('invalid');
      threshold.focus();
      return show(
        status,
        message('error', h('p', {}, 'The threshold must be a number between 0.05 and 1.5, or empty for the server’s default.')),
      );
    }
    threshold.classList.remove('invalid');
    // A key is checked with the server before it is kept: a typo would otherwise fail every page later.
    const typed = key.value.trim();
    /** @type {string} */
    let note = '';
    // No key at all is always fine to keep: it only stops sending one.
    if (typed && typed !== store.apiKey) {
      try {
        const role = await withBusy(saveButton, 'Checking the key…', () => api.keyRole(typed));
        note =
          role === 'admin'
            ? 'The key works: it can manage people and recognise faces.'
            : role === 'recognize'
              ? 'The key works for identify, verify and compare; managing people needs an admin key.'
              : 'This server needs no key from here.';
      } catch (error) {
        if (/** @type {{ code?: string }} */ (error).code === 'UNAUTHORIZED') {
          key.classList.add('invalid');
          key.focus();
          return show(
            status,
            message(
              'error',
              h(
                'p',
                {},
                h('strong', {}, 'The server refused this key, so it was not saved. '),
                'Check it, or create one with facerec keys create.',
              ),
            ),
          );
        }
        // The server cannot be asked now: keep the key, and say it is unchecked.
        note = `Saved without checking the key: ${describeError(error).text}`;
      }
    }
    store.apiKey = typed;
    store.threshold = value;
    show(
      status,
      message(
        note.startsWith('Saved without') ? 'warn' : 'success',
        h('p', {}, note.startsWith('Saved without') ? note : `Saved. ${note}`),
      ),
    );
    app.onChange();
  });

  // Tests what is typed, without saving it: Save keeps a key once the server accepts it.
  testButton.addEventListener('click', () =>
    withBusy(testButton, 'Testing…', async () => {
      show(status, loading('Connecting…'));
      const typed = key.value.trim();
      const unsaved = typed !== store.apiKey ? ' (not saved yet: press Save to keep it)' : '';
      try {
        const role = await api.keyRole(typed);
        show(
          status,
          message(
            role === 'recognize' ? 'warn' : 'success',
            h(
              'p',
              {},
              role === 'admin'
                ? `Connected. This key can manage people and recognise faces${unsaved}.`
                : role === 'recognize'
                  ? `Connected with a recognition key: identify, verify and compare work; managing people needs an admin key${unsaved}.`
                  : 'Connected. This server needs no API key from here.',
            ),
          ),
        );
      } catch (error) {
        show(status, errorMessage(error, 'The connection test failed.'));
      }
    }),
  );

  async function showServer() {
    try {
      const ready = await api.ready();
      server.textContent = `Server ready · database ${ready.checks.database} · ${ready.checks.workers} recognition worker${ready.checks.workers === '1' ? '' : 's'}`;
    } catch (error) {
      server.textContent = `Server not ready: ${/** @type {{ message?: string }} */ (error).message ?? 'unknown'}`;
    }
  }

  return {
    show() {
      key.value = store.apiKey;
      threshold.value = store.threshold === undefined ? '' : String(store.threshold);
      show(status);
      showServer();
    },
  };
}
