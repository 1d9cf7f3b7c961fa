/** Settings: the API key and the default threshold (this browser only), links for developers, the server's state. */
import { api } from '../api.js';
import { $, errorMessage, h, loading, message, show, withBusy } from '../dom.js';
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

  form.addEventListener('submit', (event) => {
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
    store.apiKey = key.value;
    store.threshold = value;
    show(status, message('success', h('p', {}, 'Saved.')));
    app.onChange();
  });

  testButton.addEventListener('click', () =>
    withBusy(testButton, 'Testing…', async () => {
      show(status, loading('Connecting…'));
      const unsaved = key.value.trim() !== store.apiKey;
      try {
        if (unsaved) store.apiKey = key.value; // test what is typed; saving it is what the user meant
        await api.galleries();
        show(
          status,
          message(
            'success',
            h(
              'p',
              {},
              store.apiKey
                ? 'Connected. This key can manage people and recognise faces.'
                : 'Connected. This server needs no API key from here.',
            ),
          ),
        );
        app.onChange();
      } catch (error) {
        if (/** @type {{ code?: string }} */ (error).code === 'FORBIDDEN') {
          show(
            status,
            message(
              'warn',
              h('p', {}, 'Connected with a recognition key: identify, verify and compare work; managing people needs an admin key.'),
            ),
          );
        } else show(status, errorMessage(error, 'The connection test failed.'));
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
