/**
 * Face thumbnails fetched with the API key (an <img src> could not send it), a few at a time, kept as object URLs by
 * their API URL. `faceImage` gives an element at once and fills the picture in when it arrives.
 */
import { api } from './api.js';
import { h } from './dom.js';

const CONCURRENT = 4;

/** @type {Map<string, Promise<string | undefined>>} */
const cache = new Map();
/** @type {Array<() => Promise<void>>} */
const queue = [];
let running = 0;

function pump() {
  while (running < CONCURRENT && queue.length) {
    const job = queue.shift();
    if (!job) break;
    running += 1;
    job().finally(() => {
      running -= 1;
      pump();
    });
  }
}

/**
 * An object URL of the thumbnail, or undefined when there is none or it cannot be fetched.
 * @param {string | null} url the API's thumbnailUrl
 */
export function thumbnail(url) {
  if (!url) return Promise.resolve(undefined);
  let cached = cache.get(url);
  if (!cached) {
    cached = new Promise((resolve) => {
      queue.push(() =>
        api.thumbnail(url).then(
          (blob) => resolve(URL.createObjectURL(blob)),
          () => {
            cache.delete(url); // tried again next time
            resolve(undefined);
          },
        ),
      );
      pump();
    });
    cache.set(url, cached);
  }
  return cached;
}

/**
 * A face picture: a placeholder now, the image once fetched.
 * @param {string | null} url the API's thumbnailUrl @param {string} alt what it shows ('' when the text beside it says it)
 */
export function faceImage(url, alt) {
  const frame = h('span', { className: 'face-thumb' });
  void thumbnail(url).then((src) => {
    if (src) frame.replaceChildren(h('img', { src, alt }));
    else frame.classList.add('missing');
  });
  return frame;
}
