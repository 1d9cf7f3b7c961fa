/**
 * Unknown faces: the faces a gallery has seen (scanned, or kept by Identify) and cannot name, grouped by who they look
 * like (GET /v1/clusters, largest first). A group is named (a new person, or one of the gallery's, asked as Enroll
 * asks about a name it already has), merged with others, ignored (and brought back), or opened to see all its faces
 * and photos and take a wrong face out. Below: a scan of a batch of photos from the browser (POST /v1/scan, a few
 * files per request) and the gallery's switch to keep the faces Identify cannot name, with what keeping them means.
 */
/** @import { App } from '../app.js' */
/** @import { Cluster, KeepSightings, NameResult, Sighting } from '../api.js' */
import { api, ApiError } from '../api.js';
import { $, ask, errorMessage, formatDistance, h, help, loading, message, plural, show, toast, withBusy } from '../dom.js';
import { personPicker } from '../people-picker.js';
import { bindDropzone } from '../photos.js';
import { serverSettings } from '../settings.js';
import { faceImage } from '../thumbnails.js';

const PAGE = 24;
const SAMPLES = 6;
// A scan is sent a few photos per request: progress to show, and a failure costs one batch (the server skips photos
// it has seen, so the rest can be sent again).
const BATCH_FILES = 8;
const BATCH_BYTES = 24 * 1024 * 1024;
const RETRIES = 3;
const RETRYABLE = ['QUEUE_FULL', 'TIMEOUT', 'NETWORK', 'WORKER_CRASHED', 'ENGINE_UNHEALTHY', 'RATE_LIMITED'];

/**
 * How alike a group's faces are, in words: from its cohesion, the share of its best faces' pairs within the model's
 * same-person distance. A mixed group is the one to check before naming: naming it enrolls whoever is in it.
 * @param {Pick<Cluster, 'cohesion'>} cluster
 * @returns {{ text: string, level: 'high' | 'mid' | 'low' }}
 */
export function describeCohesion({ cohesion }) {
  if (cohesion >= 0.95) return { text: 'All look alike', level: 'high' };
  if (cohesion >= 0.8) return { text: 'Most look alike', level: 'mid' };
  return { text: 'Mixed: check before naming', level: 'low' };
}

/**
 * What keeping faces means, in one sentence for the settings that turn it on.
 * @param {number | undefined} days FACEREC_SIGHTING_RETENTION_DAYS, when the server says
 */
export function keptFacesNote(days) {
  const when = days === undefined ? 'after the server’s retention time' : `${plural(days, 'day')} after it was seen`;
  return (
    `Kept faces are biometric data: each one’s descriptor, a small picture of it and its photo’s name stay in this gallery, ` +
    `and are deleted ${when}, or with the person they are labelled as.`
  );
}

/** A photo's source, short: its last two path segments. @param {string | null} source */
const shortSource = (source) => (source ? source.split(/[\\/]/).filter(Boolean).slice(-2).join('/') : 'a photo without a name');

/**
 * Where a group's faces were seen, short: a few photos by name, then how many more (photos without a name counted).
 * @param {Pick<Cluster, 'photos' | 'photoCount'>} cluster
 */
export function seenIn({ photos, photoCount }) {
  const named = photos.flatMap((p) => (p.source ? [shortSource(p.source)] : [])).slice(0, 3);
  const rest = photoCount - named.length;
  if (!named.length) return `Seen in ${plural(photoCount, 'photo')} without a name`;
  return `Seen in ${named.join(', ')}${rest > 0 ? ` and ${plural(rest, 'more photo')}` : ''}`;
}

/**
 * Files in batches for the scan: in order, at most `most` files and `bytes` bytes each (a larger file alone).
 * @template {{ size: number }} F @param {F[]} files @param {{ most?: number, bytes?: number }} [limits] @returns {F[][]}
 */
export function batchesOf(files, { most = BATCH_FILES, bytes = BATCH_BYTES } = {}) {
  /** @type {F[][]} */
  const batches = [];
  /** @type {F[]} */
  let batch = [];
  let size = 0;
  for (const file of files) {
    if (batch.length && (batch.length >= most || size + file.size > bytes)) {
      batches.push(batch);
      batch = [];
      size = 0;
    }
    batch.push(file);
    size += file.size;
  }
  if (batch.length) batches.push(batch);
  return batches;
}

/** @param {File} file */
const isImage = (file) =>
  file.type.startsWith('image/') || (file.type === '' && /\.(jpe?g|png|webp|gif|bmp|tiff?|avif|heic)$/i.test(file.name));

/** What a scan sends as each photo's source: its path inside a chosen folder, else its name. @param {File} file */
const sourceOf = (file) => file.webkitRelativePath || file.name;

/** @param {number} ms */
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** @param {App} app */
export function unknownFacesView(app) {
  const grid = $('#unknown-grid');
  const count = $('#unknown-count');
  const empty = $('#unknown-empty');
  const more = /** @type {HTMLButtonElement} */ ($('#unknown-more'));
  const errorRegion = $('#unknown-error');
  const resultRegion = $('#unknown-result');
  const ignoredToggle = /** @type {HTMLButtonElement} */ ($('#unknown-ignored'));
  const mergeBar = $('#unknown-merge-bar');
  const selectedText = $('#unknown-selected');
  const mergeButton = /** @type {HTMLButtonElement} */ ($('#unknown-merge'));
  const clearButton = /** @type {HTMLButtonElement} */ ($('#unknown-clear'));

  const sheet = /** @type {HTMLDialogElement} */ ($('#cluster-dialog'));
  const sheetTitle = $('#cluster-title');
  const sheetMeta = $('#cluster-meta');
  const sheetError = $('#cluster-error');
  const sheetFaces = $('#cluster-faces');
  const sheetPhotos = $('#cluster-photos');
  const sheetName = /** @type {HTMLButtonElement} */ ($('#cluster-name'));
  const sheetIgnore = /** @type {HTMLButtonElement} */ ($('#cluster-ignore'));

  const nameDialog = /** @type {HTMLDialogElement} */ ($('#name-dialog'));
  const nameForm = /** @type {HTMLFormElement} */ ($('#name-form'));
  const nameLead = $('#name-lead');
  const nameInput = /** @type {HTMLInputElement} */ ($('#name-new'));
  const existingChoice = $('#name-existing-choice');
  const existingSlot = $('#name-existing');
  const nameResult = $('#name-result');
  const nameSubmit = /** @type {HTMLButtonElement} */ ($('#name-submit'));

  const scanFiles = /** @type {HTMLInputElement} */ ($('#scan-files'));
  const scanFolder = /** @type {HTMLInputElement} */ ($('#scan-folder'));
  const scanProgress = $('#scan-progress');
  const scanBar = /** @type {HTMLProgressElement} */ ($('#scan-bar'));
  const scanStatus = $('#scan-status');
  const scanStop = /** @type {HTMLButtonElement} */ ($('#scan-stop'));
  const scanResult = $('#scan-result');

  const keepCard = $('#keep-card');
  const keepSwitch = /** @type {HTMLInputElement} */ ($('#keep-switch'));
  const keepState = $('#keep-state');
  const keepPrivacy = $('#keep-privacy');

  let showIgnored = false;
  let offset = 0;
  let generation = 0;
  /** The groups chosen for a merge, by id, with their sizes. @type {Map<string, number>} */
  const selected = new Map();
  /** The group open in the sheet, and whether the list must be loaded again when it closes. */
  /** @type {Cluster | undefined} */
  let open;
  let sheetChanged = false;

  show(
    $('#unknown-help'),
    help(
      'How are faces grouped?',
      h(
        'p',
        {},
        'Each face is compared with the faces seen before it. It joins a group when it is closer to that group’s faces than it is to the faces of strangers, measured for this gallery’s model; otherwise it waits alone until faces like it arrive.',
      ),
      h(
        'p',
        {},
        '“All look alike” means every pair of the group’s best faces is within the distance at which two faces are usually one person. A mixed group may hold two people: open it and take the wrong faces out before naming it.',
      ),
    ),
  );

  // ---- the grid of groups ----

  function updateMergeBar() {
    mergeBar.hidden = showIgnored || selected.size === 0;
    const faces = [...selected.values()].reduce((a, b) => a + b, 0);
    selectedText.textContent =
      selected.size < 2
        ? `${plural(selected.size, 'group')} selected: select another to merge them.`
        : `${plural(selected.size, 'group')} selected, ${plural(faces, 'face')}.`;
    mergeButton.disabled = selected.size < 2;
    mergeButton.textContent = selected.size < 2 ? 'Merge' : `Merge ${selected.size} groups`;
  }

  /** @param {Cluster} cluster @param {number} n its place in the list, from 1 */
  function card(cluster, n) {
    const cohesion = describeCohesion(cluster);
    const headingId = `cluster-${cluster.id}-title`;
    // A click on the faces opens the group too (the Open button is the way for keyboards and screen readers).
    const mosaic = h(
      'div',
      { className: 'mosaic', title: 'Open: all its faces and photos' },
      ...cluster.samples.slice(0, SAMPLES).map((s) => faceImage(s.thumbnailUrl, '')),
    );
    mosaic.addEventListener('click', () => void openCluster(cluster.id));
    const seen = h('p', { className: 'sources muted small', title: cluster.photos.map((p) => p.source ?? '').join('\n') }, seenIn(cluster));
    const actions = h('div', { className: 'row cluster-actions' });
    if (showIgnored) {
      const back = h('button', { type: 'button', className: 'button small' }, 'Bring back');
      back.addEventListener('click', () => void setIgnored(cluster, false, back));
      actions.append(back);
    } else {
      const name = h('button', { type: 'button', className: 'button primary small' }, 'Name…');
      name.setAttribute('aria-describedby', headingId);
      name.addEventListener('click', () => openName(cluster));
      const ignore = h('button', { type: 'button', className: 'button ghost small' }, 'Ignore');
      ignore.setAttribute('aria-describedby', headingId);
      ignore.addEventListener('click', () => void setIgnored(cluster, true, ignore));
      actions.append(name, ignore);
    }
    const openButton = h('button', { type: 'button', className: 'button ghost small' }, 'Open');
    openButton.setAttribute('aria-describedby', headingId);
    openButton.addEventListener('click', () => void openCluster(cluster.id));
    actions.append(openButton);

    /** @type {HTMLElement | null} */
    let select = null;
    if (!showIgnored) {
      const box = h('input', { type: 'checkbox', checked: selected.has(cluster.id), 'aria-label': `Select group ${n} to merge` });
      box.addEventListener('change', () => {
        if (box.checked) selected.set(cluster.id, cluster.size);
        else selected.delete(cluster.id);
        item.classList.toggle('selected', box.checked);
        updateMergeBar();
      });
      select = h('label', { className: 'check select-merge' }, box, h('span', { 'aria-hidden': 'true' }, 'Select'));
    }
    const item = h(
      'li',
      {
        className: `cluster-card card${selected.has(cluster.id) ? ' selected' : ''}`,
        'data-cluster': cluster.id,
        'data-size': cluster.size,
      },
      h(
        'div',
        { className: 'cluster-head' },
        h(
          'h2',
          { id: headingId, className: 'cluster-title' },
          h('span', { className: 'visually-hidden' }, `Group ${n}: `),
          plural(cluster.size, 'face'),
        ),
        select,
      ),
      mosaic,
      h(
        'p',
        { className: 'small cluster-facts' },
        plural(cluster.photoCount, 'photo'),
        ' · ',
        h('span', { className: `cohesion ${cohesion.level}` }, cohesion.text),
      ),
      seen,
      actions,
    );
    return item;
  }

  /** The gallery in use, as listed (undefined when the key may not list galleries). */
  const currentGallery = async () => (await app.galleries()).find((g) => g.name === app.gallery());

  async function countIgnored() {
    try {
      const page = await api.clusters({ gallery: app.gallery(), ignored: true, samples: 0, limit: 1 });
      return page.total;
    } catch {
      return undefined;
    }
  }

  async function describeEmpty() {
    const gallery = app.gallery();
    if (showIgnored)
      return show(empty, h('p', { className: 'empty-title' }, 'No ignored groups'), h('p', {}, 'Groups you ignore are kept here.'));
    const [listed, settings] = await Promise.all([currentGallery(), serverSettings().catch(() => undefined)]);
    const keep = listed?.keepSightings;
    const least = settings?.sightings?.minClusterSize ?? 2;
    show(
      empty,
      h('p', { className: 'empty-title' }, `No unknown faces to name in gallery ${gallery}`),
      h(
        'p',
        {},
        keep === 'off' || keep === undefined
          ? 'facerec keeps no face it sees unless asked. Scan a batch of photos below, or let Identify keep the faces it cannot name.'
          : 'Identify keeps the faces it cannot name here. Scan a batch of photos below to add many at once.',
      ),
      h(
        'p',
        { className: 'muted small' },
        `A group is suggested here once ${least} or more faces look like one person who is not enrolled.`,
      ),
    );
  }

  /** @param {{ append?: boolean }} [options] */
  async function load({ append = false } = {}) {
    const mine = append ? generation : ++generation;
    if (!append) {
      offset = 0;
      show(errorRegion, loading(showIgnored ? 'Loading ignored groups…' : 'Grouping the faces seen…'));
    }
    const gallery = app.gallery();
    try {
      const page = await api.clusters({ gallery, ignored: showIgnored, samples: SAMPLES, limit: PAGE, offset });
      if (mine !== generation) return;
      show(errorRegion);
      const cards = page.clusters.map((c, i) => card(c, offset + i + 1));
      if (append) grid.append(...cards);
      else show(grid, ...cards);
      offset += page.clusters.length;
      more.hidden = offset >= page.total;
      count.textContent = showIgnored
        ? `${plural(page.total, 'ignored group')}: never suggested, and faces that join them stay ignored.`
        : page.total
          ? `${plural(page.total, 'group')} of faces not enrolled in gallery ${gallery}, largest first.`
          : '';
      empty.hidden = page.total > 0;
      if (!page.total) await describeEmpty();
      // Selections of groups that are gone (named, merged) go too.
      const present = new Set([...grid.querySelectorAll('[data-cluster]')].map((el) => el.getAttribute('data-cluster')));
      for (const id of selected.keys()) if (!present.has(id) && !append) selected.delete(id);
      updateMergeBar();
    } catch (error) {
      if (mine !== generation) return;
      show(grid);
      empty.hidden = true;
      more.hidden = true;
      count.textContent = '';
      show(errorRegion, errorMessage(error, 'Could not load the unknown faces.'));
    }
    if (!showIgnored) {
      const ignored = await countIgnored();
      if (mine === generation) ignoredToggle.textContent = ignored ? `Show ignored (${ignored})` : 'Show ignored';
    }
  }

  // ---- naming ----

  /**
   * The message after a naming: how many faces were enrolled and labelled.
   * @param {NameResult} result
   */
  function namedMessage(result) {
    const who = result.person.name;
    return message(
      'success',
      h(
        'p',
        {},
        h('strong', {}, result.created ? `${who} is enrolled` : `Added to ${who}`),
        `: ${plural(result.enrolled.length, 'face')} enrolled (the group’s best), and ${plural(result.labelled, 'face')} of the group labelled as ${who}.`,
      ),
      result.relabelled
        ? h(
            'p',
            {},
            `${plural(result.relabelled, 'more face')} seen elsewhere now ${result.relabelled === 1 ? 'matches' : 'match'} ${who}, and ${result.relabelled === 1 ? 'is' : 'are'} labelled too.`,
          )
        : null,
      h('p', {}, h('a', { href: '#/people' }, `See ${who} in People`)),
    );
  }

  /** The people of the gallery with exactly this name (regardless of case). @param {string} name */
  async function namesakes(name) {
    try {
      const page = await api.people({ gallery: app.gallery(), search: name, limit: 200 });
      return page.people.filter((p) => p.name.trim().toLowerCase() === name.toLowerCase());
    } catch {
      return [];
    }
  }

  /** @type {Cluster | undefined} */
  let naming;
  /** @type {import('../people-picker.js').PersonPicker | undefined} */
  let picker;

  /** @returns {'new' | 'existing'} */
  const nameKind = () =>
    /** @type {HTMLInputElement | null} */ (nameForm.querySelector('input[name="name-kind"]:checked'))?.value === 'existing'
      ? 'existing'
      : 'new';
  /** @param {'new' | 'existing'} kind */
  const setNameKind = (kind) => {
    const radio = /** @type {HTMLInputElement | null} */ (nameForm.querySelector(`input[name="name-kind"][value="${kind}"]`));
    if (radio) radio.checked = true;
  };

  /** @param {Cluster} cluster */
  function openName(cluster) {
    naming = cluster;
    nameForm.reset();
    show(nameResult);
    nameInput.classList.remove('invalid');
    nameSubmit.disabled = false;
    const most = 5;
    void serverSettings().then(
      (s) => describeLead(s.sightings?.facesPerNaming ?? most),
      () => describeLead(most),
    );
    /** @param {number} best */
    function describeLead(best) {
      nameLead.textContent =
        `${plural(cluster.size, 'face')}. The clearest ${cluster.size > best ? `${best} of them` : 'of them'} (one per photo) ` +
        `are enrolled as the person’s faces, and every face of the group is labelled with the name.`;
    }
    picker = personPicker({ gallery: app.gallery(), label: 'Person' });
    picker.select.addEventListener('change', () => setNameKind('existing'));
    picker.select.addEventListener('focus', () => setNameKind('existing'));
    existingChoice.hidden = true;
    existingSlot.hidden = true;
    show(existingSlot, picker.element);
    picker.ready.then(
      (people) => {
        existingChoice.hidden = existingSlot.hidden = people === 0;
      },
      () => {},
    );
    nameDialog.showModal();
    nameInput.focus();
  }

  nameInput.addEventListener('input', () => {
    setNameKind('new');
    nameInput.classList.remove('invalid');
  });
  nameForm.querySelector('[data-cancel]')?.addEventListener('click', () => nameDialog.close());
  nameForm.addEventListener('submit', (event) => {
    event.preventDefault();
    void submitName(false);
  });

  /**
   * Names the group being named: a new person (asking first when the gallery has one of that name, as Enroll does)
   * or the one picked. A group whose faces look unlike the person is a question: take them out, or name it anyway.
   * @param {boolean} force
   */
  async function submitName(force) {
    const cluster = naming;
    if (!cluster) return;
    const gallery = app.gallery();
    /** @type {{ gallery: string, name?: string, personId?: string, force?: boolean }} */
    let who;
    let target = '';
    if (nameKind() === 'existing') {
      const picked = picker?.picked();
      if (!picked?.personId) return show(nameResult, message('error', h('p', {}, 'Pick the person this is.')));
      who = { gallery, personId: picked.personId };
      target = picked.name;
    } else {
      const name = nameInput.value.trim();
      if (!name) {
        nameInput.classList.add('invalid');
        nameInput.focus();
        return show(nameResult, message('error', h('p', {}, 'Enter the person’s name, or pick someone already in the gallery.')));
      }
      who = { gallery, name };
      target = name;
      const same = await namesakes(name);
      if (same.length && !force) {
        const answer = await ask({
          title: `${name} is already in gallery ${gallery}`,
          message: [
            h(
              'p',
              {},
              same.length === 1
                ? `${same[0]?.name} has ${plural(same[0]?.faceCount ?? 0, 'face')}. Are these faces of the same person?`
                : `${same.length} people are already named ${name}. Are these faces of one of them?`,
            ),
            h(
              'p',
              { className: 'muted small' },
              'Two people of one name are told apart only by their faces, in People and in every answer.',
            ),
          ],
          choices: [
            ...same.slice(0, 3).map((p) => ({
              value: p.id,
              label: `Add the faces to ${p.name}${same.length > 1 ? ` (${plural(p.faceCount, 'face')})` : ''}`,
              kind: /** @type {const} */ ('primary'),
            })),
            { value: 'new', label: `Create a second ${name}` },
          ],
        });
        if (!answer) return;
        const person = same.find((p) => p.id === answer);
        if (person) who = { gallery, personId: person.id };
      }
    }
    if (force) who.force = true;
    try {
      const result = await withBusy(nameSubmit, 'Naming…', () => api.nameCluster(cluster.id, who));
      nameDialog.close();
      if (sheet.open) sheet.close();
      show(resultRegion, namedMessage(result));
      toast(
        `${result.person.name}: ${plural(result.enrolled.length, 'face')} enrolled, ${plural(result.labelled, 'face')} labelled`,
        'success',
      );
      await app.onChange();
      await load();
      resultRegion.scrollIntoView({ block: 'nearest' });
    } catch (error) {
      if (error instanceof ApiError && error.code === 'INCONSISTENT_IDENTITY')
        return showInconsistent(cluster, error, target, Boolean(who.personId));
      show(nameResult, errorMessage(error, 'Could not name this group.'));
    }
  }

  /**
   * Faces of the group that look unlike the person: review them, or name it anyway.
   * @param {Cluster} cluster @param {ApiError} error @param {string} target @param {boolean} existing whether the person has faces already
   */
  function showInconsistent(cluster, error, target, existing) {
    const details = /** @type {{ inconsistent?: Array<{ sightingId: string, distance: number }> }} */ (error.details);
    const suspects = (details.inconsistent ?? []).map((i) => i.sightingId);
    const review = h('button', { type: 'button', className: 'button primary small' }, 'Review the faces');
    review.addEventListener('click', () => {
      nameDialog.close();
      void openCluster(cluster.id, suspects);
    });
    const anyway = h('button', { type: 'button', className: 'button small' }, 'Name it anyway');
    anyway.addEventListener('click', () => void submitName(true));
    show(
      nameResult,
      message(
        'warn',
        h(
          'p',
          {},
          h(
            'strong',
            {},
            existing
              ? `${plural(suspects.length || 1, 'face')} of this group ${suspects.length === 1 ? 'looks' : 'look'} unlike ${target}’s enrolled faces. `
              : `${plural(suspects.length || 1, 'face')} of this group ${suspects.length === 1 ? 'looks' : 'look'} unlike the others. `,
          ),
          existing
            ? 'It may be someone else, or the group may mix two people: naming it would enroll a stranger’s face as '
            : 'The group may mix two people: naming it would enroll a stranger’s face as ',
          `${target}. Take the wrong faces out, or name it anyway if they are the same person.`,
        ),
        h('div', { className: 'row' }, review, anyway),
      ),
    );
    review.focus();
  }

  // ---- merging and ignoring ----

  mergeButton.addEventListener('click', async () => {
    const ids = [...selected.keys()];
    if (ids.length < 2) return;
    const faces = [...selected.values()].reduce((a, b) => a + b, 0);
    const answer = await ask({
      title: `Merge ${ids.length} groups?`,
      message: [
        h('p', {}, `Their ${plural(faces, 'face')} become one group, named as one person, and later faces keep them together.`),
        h(
          'p',
          { className: 'muted small' },
          'Merge only groups of one person: a face merged by mistake has to be taken out again one by one.',
        ),
      ],
      choices: [{ value: 'merge', label: `Merge ${ids.length} groups`, kind: 'primary' }],
    });
    if (answer !== 'merge') return;
    try {
      const { cluster } = await withBusy(mergeButton, 'Merging…', () => api.mergeClusters(app.gallery(), ids));
      selected.clear();
      const openIt = h('button', { type: 'button', className: 'button small' }, 'Open it');
      openIt.addEventListener('click', () => void openCluster(cluster.id));
      show(
        resultRegion,
        message('success', h('p', {}, h('strong', {}, 'Merged'), `: one group of ${plural(cluster.size, 'face')}. `, openIt)),
      );
      await load();
    } catch (error) {
      show(resultRegion, errorMessage(error, 'Could not merge the groups.'));
    }
  });
  clearButton.addEventListener('click', () => {
    selected.clear();
    for (const box of grid.querySelectorAll('.select-merge input')) /** @type {HTMLInputElement} */ (box).checked = false;
    for (const item of grid.querySelectorAll('.cluster-card.selected')) item.classList.remove('selected');
    updateMergeBar();
  });

  /** @param {Cluster} cluster @param {boolean} ignored @param {HTMLButtonElement} button */
  async function setIgnored(cluster, ignored, button) {
    try {
      await withBusy(button, ignored ? 'Ignoring…' : 'Bringing back…', () => api.ignoreCluster(cluster.id, app.gallery(), ignored));
      selected.delete(cluster.id);
      if (sheet.open) sheet.close();
      show(
        resultRegion,
        message(
          'info',
          h(
            'p',
            {},
            ignored
              ? `A group of ${plural(cluster.size, 'face')} is ignored: it is not suggested again, and faces like it that arrive later stay ignored. “Show ignored” brings it back.`
              : `A group of ${plural(cluster.size, 'face')} is back among the suggestions.`,
          ),
        ),
      );
      await load();
    } catch (error) {
      show(resultRegion, errorMessage(error, ignored ? 'Could not ignore the group.' : 'Could not bring the group back.'));
    }
  }

  ignoredToggle.addEventListener('click', () => {
    showIgnored = !showIgnored;
    ignoredToggle.setAttribute('aria-pressed', String(showIgnored));
    if (showIgnored) ignoredToggle.textContent = 'Back to the suggestions';
    selected.clear();
    show(resultRegion);
    void load();
  });
  more.addEventListener('click', () => void load({ append: true }));

  // ---- one group: all its faces and photos ----

  /** @param {Cluster} cluster @param {string[]} suspects faces that looked unlike the person it was named as */
  function renderSheet(cluster, suspects) {
    open = cluster;
    const cohesion = describeCohesion(cluster);
    sheetTitle.textContent = `A group of ${plural(cluster.size, 'face')}`;
    const seenAt = cluster.samples.map((s) => s.seenAt).sort();
    const last = seenAt[seenAt.length - 1];
    show(
      sheetMeta,
      h('span', { className: `cohesion ${cohesion.level}` }, cohesion.text),
      `: ${Math.round(cluster.cohesion * 100)}% of the pairs of its best faces look like one person (mean distance ${formatDistance(cluster.meanDistance)}). `,
      `Seen in ${plural(cluster.photoCount, 'photo')}${last ? `, last on ${new Date(last).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })}` : ''}.`,
      cluster.ignored ? ' Ignored: not suggested.' : '',
    );
    const single = cluster.samples.length < 2;
    show(sheetFaces, ...cluster.samples.map((s, i) => faceTile(cluster, s, i, suspects.includes(s.id), single)));
    const rest = cluster.photoCount - cluster.photos.length;
    show(
      sheetPhotos,
      ...cluster.photos.map((p) =>
        h('li', { title: p.source ?? p.sha256 }, p.source ?? `A photo without a name (${p.sha256.slice(0, 12)}…)`),
      ),
      rest > 0 ? h('li', { className: 'muted' }, `and ${plural(rest, 'more photo')}`) : null,
    );
    sheetName.hidden = cluster.ignored;
    sheetIgnore.textContent = cluster.ignored ? 'Bring back' : 'Ignore';
  }

  /**
   * One face of the open group, with its photo and a button to take it out.
   * @param {Cluster} cluster @param {Sighting} s @param {number} i @param {boolean} suspect @param {boolean} last
   */
  function faceTile(cluster, s, i, suspect, last) {
    const where = shortSource(s.photo.source);
    const out = h(
      'button',
      {
        type: 'button',
        className: 'icon-button remove',
        'aria-label': `Take face ${i + 1} (${where}) out of this group`,
        title: 'Not this person: take it out',
        disabled: last,
      },
      '✕',
    );
    out.addEventListener('click', () => void takeOut(cluster, s, i));
    return h(
      'li',
      { className: suspect ? 'suspect' : '', 'data-sighting': s.id },
      faceImage(s.thumbnailUrl, `Face ${i + 1}, from ${where}`),
      h('span', { className: 'face-caption', title: s.photo.source ?? '' }, suspect ? `Looks unlike · ${where}` : where),
      out,
    );
  }

  /** @param {Cluster} cluster @param {Sighting} s @param {number} i */
  async function takeOut(cluster, s, i) {
    try {
      await api.takeOutOfCluster(cluster.id, s.id, app.gallery());
      sheetChanged = true;
      toast(`Face ${i + 1} is out of the group: a face on its own now`, 'success');
      const { cluster: fresh } = await api.cluster(cluster.id, app.gallery());
      const suspects = [...sheetFaces.querySelectorAll('li.suspect')].map((el) => el.getAttribute('data-sighting') ?? '');
      renderSheet(fresh, suspects);
      // Focus stays in the list: on the face that took this one's place, or the last.
      const tiles = sheetFaces.querySelectorAll('li .remove');
      /** @type {HTMLElement | undefined} */ (tiles[Math.min(i, tiles.length - 1)])?.focus();
    } catch (error) {
      show(sheetError, errorMessage(error, 'Could not take the face out.'));
    }
  }

  /** @param {string} id @param {string[]} [suspects] */
  async function openCluster(id, suspects = []) {
    show(sheetError);
    sheetTitle.textContent = 'A group of faces';
    show(sheetMeta, loading('Loading its faces…'));
    show(sheetFaces);
    show(sheetPhotos);
    sheetChanged = false;
    if (!sheet.open) sheet.showModal();
    try {
      const { cluster } = await api.cluster(id, app.gallery());
      renderSheet(cluster, suspects);
      if (suspects.length) /** @type {HTMLElement | null} */ (sheetFaces.querySelector('li.suspect .remove'))?.focus();
    } catch (error) {
      show(sheetMeta);
      show(sheetError, errorMessage(error, 'Could not open the group.'));
    }
  }

  sheet.querySelector('[data-close]')?.addEventListener('click', () => sheet.close());
  sheet.addEventListener('close', () => {
    open = undefined;
    if (sheetChanged) void load();
  });
  sheetName.addEventListener('click', () => open && openName(open));
  sheetIgnore.addEventListener('click', () => open && void setIgnored(open, !open.ignored, sheetIgnore));

  // ---- keeping the faces Identify cannot name ----

  async function loadKeep() {
    const listed = await currentGallery();
    keepCard.hidden = listed?.keepSightings === undefined;
    if (!listed?.keepSightings) return;
    describeKeep(listed.keepSightings, listed.name);
  }

  /** @param {KeepSightings} keep @param {string} gallery */
  function describeKeep(keep, gallery) {
    keepSwitch.checked = keep !== 'off';
    show(
      keepState,
      keep === 'off'
        ? `Off: Identify keeps no faces in gallery ${gallery} (the default).`
        : keep === 'unknown'
          ? `On: Identify keeps the faces it cannot name in gallery ${gallery}, and they are grouped here.`
          : `On: Identify keeps every face it sees in gallery ${gallery}, named or not. `,
      keep === 'all' ? h('a', { href: '#/galleries' }, 'Change it in Galleries') : '',
    );
  }

  keepSwitch.addEventListener('change', async () => {
    const gallery = app.gallery();
    /** @type {KeepSightings} */
    const keep = keepSwitch.checked ? 'unknown' : 'off';
    keepSwitch.disabled = true;
    try {
      await api.keepSightings(gallery, keep);
      toast(
        keep === 'off' ? `Gallery ${gallery} keeps no faces now` : `Gallery ${gallery} keeps the faces Identify cannot name`,
        'success',
      );
      await app.onChange();
      await loadKeep();
      if (!grid.childElementCount) await describeEmpty();
    } catch (error) {
      keepSwitch.checked = !keepSwitch.checked;
      show(keepState, errorMessage(error, 'Could not change the setting.'));
    } finally {
      keepSwitch.disabled = false;
    }
  });

  // ---- scanning a batch of photos ----

  let scanning = false;
  let stopping = false;

  /** @param {File[]} files */
  async function scan(files) {
    if (scanning) return toast('A scan is running: wait for it, or stop it first.', 'info');
    const gallery = app.gallery();
    const settings = await serverSettings().catch(() => undefined);
    const maxBytes = settings?.maxImageBytes ?? Infinity;
    const images = files.filter(isImage);
    const tooLarge = images.filter((f) => f.size > maxBytes);
    const todo = images.filter((f) => f.size <= maxBytes);
    const skipped = files.length - images.length;
    show(scanResult);
    if (!todo.length) {
      return show(
        scanResult,
        message('error', h('p', {}, files.length ? 'None of these files is a photo that can be scanned.' : 'Choose photos to scan.')),
      );
    }
    const batches = batchesOf(todo);

    scanning = true;
    stopping = false;
    scanFiles.disabled = scanFolder.disabled = true;
    scanStop.disabled = false;
    scanStop.textContent = 'Stop after this batch';
    scanProgress.hidden = false;
    scanBar.max = todo.length;
    scanBar.value = 0;
    const totals = { photos: 0, new: 0, seen: 0, failed: 0, faces: 0, sightings: 0 };
    /** @type {Array<{ source: string, text: string }>} */
    const failed = tooLarge.map((f) => ({ source: sourceOf(f), text: 'too large' }));
    /** @type {unknown} */
    let problem;
    let done = 0;
    for (const [i, files] of batches.entries()) {
      if (stopping) break;
      scanStatus.textContent =
        `Batch ${i + 1} of ${batches.length}: photos ${done + 1}–${done + files.length} of ${todo.length}…` +
        (totals.sightings ? ` ${plural(totals.sightings, 'face')} kept so far.` : '');
      try {
        const result = await sendBatch(gallery, files);
        for (const key of /** @type {Array<keyof typeof totals>} */ (Object.keys(totals))) totals[key] += result.summary[key];
        for (const p of result.photos)
          if (p.status === 'failed') failed.push({ source: p.source ?? '', text: p.error?.message ?? 'unreadable' });
      } catch (error) {
        problem = error;
        break;
      }
      done += files.length;
      scanBar.value = done;
    }
    scanning = false;
    scanFiles.disabled = scanFolder.disabled = false;
    scanProgress.hidden = true;
    const left = todo.slice(done);
    const again = h('button', { type: 'button', className: 'button small' }, `Scan the other ${plural(left.length, 'photo')}`);
    again.addEventListener('click', () => void scan(left));
    show(
      scanResult,
      problem ? errorMessage(problem, `The scan stopped after ${plural(done, 'photo')} of ${todo.length}.`) : null,
      message(
        problem ? 'info' : totals.sightings ? 'success' : 'info',
        h(
          'p',
          {},
          h(
            'strong',
            {},
            stopping && left.length ? `Stopped: ${done} of ${todo.length} photos scanned` : `${plural(done, 'photo')} scanned`,
          ),
          ` into gallery ${gallery}: ${totals.new} new, ${totals.seen} seen before (skipped)` +
            `${totals.failed ? `, ${totals.failed} unreadable` : ''}; ${plural(totals.faces, 'face')} found, ${plural(totals.sightings, 'face')} kept.`,
        ),
        skipped ? h('p', { className: 'small' }, `${plural(skipped, 'file')} left out: not a photo.`) : null,
        failed.length
          ? h(
              'ul',
              { className: 'small scan-failed' },
              ...failed.slice(0, 10).map((f) => h('li', {}, `${shortSource(f.source)}: ${f.text}`)),
              failed.length > 10 ? h('li', {}, `and ${failed.length - 10} more`) : null,
            )
          : null,
        left.length ? h('p', {}, again) : null,
      ),
    );
    if (done) {
      await app.onChange();
      if (!showIgnored) await load();
    }
  }

  /** One batch, tried again a few times when the server is busy. @param {string} gallery @param {File[]} files */
  async function sendBatch(gallery, files) {
    for (let attempt = 1; ; attempt++) {
      try {
        return await api.scan(
          gallery,
          files.map((file) => ({ file, source: sourceOf(file) })),
        );
      } catch (error) {
        const code = error instanceof ApiError ? error.code : '';
        if (attempt >= RETRIES || !RETRYABLE.includes(code)) throw error;
        await sleep(1500 * attempt);
      }
    }
  }

  scanStop.addEventListener('click', () => {
    stopping = true;
    scanStop.disabled = true;
    scanStop.textContent = 'Stopping after this batch…';
  });
  bindDropzone($('#scan-drop'), scanFiles, (files) => void scan(files));
  scanFolder.addEventListener('change', () => {
    const files = [...(scanFolder.files ?? [])];
    scanFolder.value = '';
    if (files.length) void scan(files);
  });

  return {
    show() {
      show(resultRegion);
      void serverSettings().then(
        (s) => (keepPrivacy.textContent = keptFacesNote(s.sightings?.retentionDays)),
        () => (keepPrivacy.textContent = keptFacesNote(undefined)),
      );
      void loadKeep();
      void load();
    },
  };
}
