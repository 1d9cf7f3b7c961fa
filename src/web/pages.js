/**
 * The app's pages, in the order of the main navigation. A page is a `<section id="view-NAME" class="view">` in
 * index.html (with an h1, which titles the browser tab) and a module whose factory wires it up once and returns
 * `{ show }`, called each time the page is opened or the gallery changes. To add a page: its section, its module in
 * views/, and one line here. `nav: false` keeps a page out of the tabs (it is reached from a link instead).
 */
/** @import { App } from './app.js' */
import { enrollView } from './views/enroll.js';
import { galleriesView } from './views/galleries.js';
import { identifyView } from './views/identify.js';
import { peopleView } from './views/people.js';
import { settingsView } from './views/settings.js';
import { unknownFacesView } from './views/unknown-faces.js';
import { verifyView } from './views/verify.js';

/**
 * @typedef {{ show: () => unknown }} View
 * @typedef {{ name: string, label: string, nav?: boolean, create: (app: App) => View }} Page
 */

/** @type {Page[]} */
export const PAGES = [
  { name: 'people', label: 'People', create: peopleView },
  { name: 'enroll', label: 'Enroll', create: enrollView },
  { name: 'identify', label: 'Identify', create: identifyView },
  { name: 'unknown', label: 'Unknown faces', create: unknownFacesView },
  { name: 'verify', label: 'Verify', create: verifyView },
  { name: 'settings', label: 'Settings', create: settingsView },
  // Reached from the gallery picker's "Manage" link.
  { name: 'galleries', label: 'Galleries', nav: false, create: galleriesView },
];
