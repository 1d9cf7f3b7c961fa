/** Getting photos in: file pickers, drag and drop, and the webcam. */
import { $, h, plural } from './dom.js';

/** @param {FileList | File[] | null | undefined} list */
const imagesOf = (list) => [...(list ?? [])].filter((f) => f.type === '' || f.type.startsWith('image/'));

/**
 * Wires a <label class="dropzone"> around a file input: choosing or dropping files calls onFiles.
 * @param {HTMLElement} zone @param {HTMLInputElement} input @param {(files: File[]) => void} onFiles
 */
export function bindDropzone(zone, input, onFiles) {
  input.addEventListener('change', () => {
    const files = [...(input.files ?? [])];
    input.value = ''; // choosing the same file again fires change again
    if (files.length) onFiles(files);
  });
  zone.addEventListener('dragover', (event) => {
    event.preventDefault();
    if (!input.disabled) zone.classList.add('dragging');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('dragging'));
  zone.addEventListener('drop', (event) => {
    event.preventDefault();
    zone.classList.remove('dragging');
    if (input.disabled) return;
    const files = imagesOf(event.dataTransfer?.files);
    if (files.length) onFiles(input.multiple ? files : files.slice(0, 1));
  });
}

/**
 * A drop zone that holds one photo and shows it.
 * @param {HTMLInputElement} input the file input inside the zone's label
 * @param {(file: File) => void} [onChange]
 */
export function photoSlot(input, onChange) {
  const zone = /** @type {HTMLElement} */ (input.closest('.dropzone'));
  const prompt = [...zone.childNodes].filter((n) => n !== input);
  /** @type {File | undefined} */
  let current;
  /** @type {string | undefined} */
  let url;
  const slot = {
    get file() {
      return current;
    },
    /** @param {File} file */
    set(file) {
      if (url) URL.revokeObjectURL(url);
      current = file;
      url = URL.createObjectURL(file);
      zone.classList.add('has-photo');
      zone.replaceChildren(
        input,
        h('img', { src: url, alt: `Chosen photo: ${file.name}` }),
        h('span', { className: 'slot-caption' }, file.name),
      );
      onChange?.(file);
    },
    clear() {
      if (url) URL.revokeObjectURL(url);
      current = url = undefined;
      zone.classList.remove('has-photo');
      zone.replaceChildren(input, ...prompt);
    },
  };
  bindDropzone(zone, input, (files) => files[0] && slot.set(files[0]));
  return slot;
}

/** Whether this browser can use a camera at all (it needs https or localhost). */
export const hasCamera = () => Boolean(navigator.mediaDevices?.getUserMedia) && window.isSecureContext;

/**
 * Opens the camera dialog; each shot is passed to onShot as a JPEG File. With `single`, the first shot closes it.
 * @param {{ single?: boolean, onShot: (file: File) => void }} options
 */
export async function openCamera({ single = false, onShot }) {
  const dialog = /** @type {HTMLDialogElement} */ ($('#camera-dialog'));
  const video = /** @type {HTMLVideoElement} */ ($('#camera-video'));
  const status = $('#camera-status');
  const shots = $('#camera-shots');
  const shoot = /** @type {HTMLButtonElement} */ ($('#camera-shoot'));
  const done = /** @type {HTMLButtonElement} */ ($('#camera-done'));
  shots.replaceChildren();
  done.hidden = single;
  shoot.disabled = true;
  status.textContent = 'Starting the camera…';
  dialog.showModal();

  /** @type {MediaStream | undefined} */
  let stream;
  let taken = 0;
  const stop = () => {
    stream?.getTracks().forEach((t) => t.stop());
    video.srcObject = null;
  };
  const controller = new AbortController();
  const close = () => dialog.open && dialog.close();
  dialog.addEventListener(
    'close',
    () => {
      stop();
      controller.abort();
    },
    { once: true },
  );
  dialog.querySelector('[data-close]')?.addEventListener('click', close, { signal: controller.signal });
  done.addEventListener('click', close, { signal: controller.signal });
  shoot.addEventListener(
    'click',
    () => {
      const canvas = h('canvas', { width: video.videoWidth, height: video.videoHeight });
      canvas.getContext('2d')?.drawImage(video, 0, 0);
      canvas.toBlob(
        (blob) => {
          if (!blob) return;
          taken += 1;
          const file = new File([blob], `camera-${new Date().toISOString().slice(11, 19).replace(/:/g, '')}-${taken}.jpg`, {
            type: 'image/jpeg',
          });
          onShot(file);
          if (single) return close();
          shots.append(h('li', {}, h('img', { src: URL.createObjectURL(blob), alt: `Photo ${taken}` })));
          status.textContent = `${plural(taken, 'photo')} taken. Turn your head slightly between shots.`;
        },
        'image/jpeg',
        0.92,
      );
    },
    { signal: controller.signal },
  );

  try {
    stream = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: 'user', width: { ideal: 1280 }, height: { ideal: 960 } },
      audio: false,
    });
    if (!dialog.open) return stop();
    video.srcObject = stream;
    await video.play();
    shoot.disabled = false;
    status.textContent = single ? 'Look at the camera, then take the photo.' : 'Look at the camera and take a few photos.';
    shoot.focus();
  } catch (error) {
    const name = /** @type {{ name?: string }} */ (error).name;
    status.textContent =
      name === 'NotAllowedError'
        ? 'The camera is blocked. Allow camera access for this site in your browser, then try again.'
        : name === 'NotFoundError'
          ? 'No camera was found on this device.'
          : 'The camera could not be started. Choose photo files instead.';
  }
}
