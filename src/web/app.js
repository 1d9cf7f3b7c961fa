/** The web UI's entry: hash routing between the pages (pages.js), the gallery picker, and a last resort for unexpected errors. */
/** @import { Gallery } from './api.js' */
/** @import { View } from './pages.js' */
import { api } from './api.js';
import { $, h, toast } from './dom.js';
import { describeError } from './messages.js';
import { PAGES } from './pages.js';
import { store } from './store.js';

/**
 * What every page may ask of the app.
 * @typedef {{
 *   gallery: () => string,
 *   galleries: () => Promise<Gallery[]>,
 *   useGallery: (name: string) => void,
 *   onChange: () => Promise<void>,
 * }} App
 */

// Never a blank screen: anything thrown and not handled by a view is shown in words.
window.addEventListener('error', (event) => toast(describeError(event.error ?? { message: event.message }).text, 'error'));
window.addEventListener('unhandledrejection', (event) => toast(describeError(event.reason).text, 'error'));

const gallerySelect = /** @type {HTMLSelectElement} */ ($('#gallery'));
const alertBanner = $('#app-alert');
/** @type {Gallery[]} */
let galleries = [];
/** The latest listing of the galleries, done or under way. @type {Promise<void>} */
let listing = Promise.resolve();

async function loadGalleries() {
  try {
    ({ galleries } = await api.galleries());
    alertBanner.hidden = true;
    if (!galleries.some((g) => g.name === store.gallery)) store.gallery = 'default';
    gallerySelect.replaceChildren(
      ...galleries.map((g) =>
        h(
          'option',
          { value: g.name, selected: g.name === store.gallery },
          `${g.name} · ${g.people === 1 ? '1 person' : `${g.people} people`}`,
        ),
      ),
    );
  } catch (error) {
    galleries = [];
    // A recognition key cannot list galleries: keep the remembered one.
    gallerySelect.replaceChildren(h('option', { value: store.gallery, selected: true }, store.gallery));
    const code = /** @type {{ code?: string }} */ (error).code;
    if (code !== 'FORBIDDEN') {
      alertBanner.replaceChildren(
        h(
          'p',
          {},
          describeError(error).text,
          ' ',
          code === 'UNAUTHORIZED' ? h('a', { href: '#/settings' }, 'Enter a key in Settings') : '',
        ),
      );
      alertBanner.hidden = false;
    }
  }
}

/** @type {Record<string, View>} */
const views = {};
let current = '';

/** @type {App} */
const app = {
  gallery: () => gallerySelect.value || store.gallery,
  /** The galleries with their counts, as the latest listing gave them (empty when the key may not list them). */
  galleries: () => listing.then(() => galleries),
  /** Switches the whole app to another gallery, as the picker does. */
  useGallery(name) {
    store.gallery = name;
    gallerySelect.value = name;
    if (gallerySelect.value !== name) gallerySelect.append(h('option', { value: name, selected: true }, name));
    void refresh();
    views[current]?.show();
  },
  /** People, galleries or settings changed: refresh the gallery counts. */
  onChange: () => refresh(),
};

function refresh() {
  listing = loadGalleries();
  return listing;
}

for (const page of PAGES) views[page.name] = page.create(app);
$('.tabs').replaceChildren(
  ...PAGES.filter((p) => p.nav !== false).map((p) => h('a', { href: `#/${p.name}`, 'data-view': p.name }, p.label)),
);

/** @param {boolean} moveFocus */
function route(moveFocus) {
  // In-page anchors (the skip link's #main) are not views.
  if (current && location.hash && !location.hash.startsWith('#/')) return;
  const wanted = location.hash.replace(/^#\/?/, '');
  const name = wanted in views ? wanted : 'people';
  for (const section of document.querySelectorAll('.view')) /** @type {HTMLElement} */ (section).hidden = section.id !== `view-${name}`;
  for (const link of document.querySelectorAll('.tabs a, .gallery-picker a')) {
    if (link.getAttribute('data-view') !== name) link.removeAttribute('aria-current');
    else {
      link.setAttribute('aria-current', 'page');
      // Tabs that do not all fit (a phone) scroll: the page's own is shown.
      link.scrollIntoView({ block: 'nearest', inline: 'nearest' });
    }
  }
  document.title = `${$(`#view-${name} h1`).textContent} · facerec`;
  current = name;
  views[name]?.show();
  // Keyboard and screen reader users land on the new view's heading.
  if (moveFocus) $('#main').focus({ preventScroll: true });
}

gallerySelect.addEventListener('change', () => {
  store.gallery = gallerySelect.value;
  views[current]?.show();
});
window.addEventListener('hashchange', () => route(true));

gallerySelect.replaceChildren(h('option', { value: store.gallery, selected: true }, store.gallery));
void refresh();
route(false);
