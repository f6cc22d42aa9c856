// The agent's "My videos" page: the wave, intro and loop of their greeting,
// and their own videos per pool membership, each with a preview, an upload
// and a Remove button (SPEC §13). Uploads send the file itself as the body.
import { api, ApiError } from './api.js';
import { byId, el } from './dom.js';
import { startPage, failed, showError, showNotice, clearMessages } from './page.js';

const KINDS = [
  ['wave', 'Wave', 'Optional. Plays muted, on repeat, until the visitor interacts.'],
  ['intro', 'Intro', 'Plays once, with sound.'],
  ['loop', 'Loop', 'Repeats after the intro while you wait for the visitor.'],
];
const TIERS = { 1: 'Primary', 2: 'Standard', 3: 'Backup' };
const MAX_BYTES = 50 * 1024 * 1024;

let me = null;
let busy = false; // one upload or removal at a time

async function main() {
  me = await startPage({ current: 'videos' });
  if (!me) return;
  if (!me.agent) {
    showError("You don't take calls, so you have no greeting videos.");
    return;
  }
  await refresh();
}

async function refresh() {
  let data;
  try {
    data = await api('GET', `/api/agents/${encodeURIComponent(me.agent.id)}/videos`);
  } catch (err) {
    failed(err);
    return;
  }
  render(data);
}

function render(data) {
  byId('ready-state').textContent = data.videosReady
    ? 'Your greeting is ready: you can go live.'
    : 'Add an intro and a loop video to go live.';
  byId('ready-state').dataset.ready = String(data.videosReady);

  const profileBase = `/api/agents/${encodeURIComponent(me.agent.id)}/videos/`;
  byId('profile-body').replaceChildren(...KINDS.map(([kind, label, hint]) =>
    videoRow({ scope: 'profile', base: profileBase, kind, label, hint,
      url: data.profile[kind], empty: kind === 'wave' ? 'None' : 'Missing' })));

  byId('pools').replaceChildren(...data.pools.map(poolSection));
  byId('pools-empty').hidden = data.pools.length > 0;
}

function poolSection(pool) {
  const base = `/api/pools/${encodeURIComponent(pool.poolId)}/members/` +
    `${encodeURIComponent(me.agent.id)}/videos/`;
  const tier = TIERS[pool.priorityRank] || `Tier ${pool.priorityRank}`;
  const rows = KINDS.map(([kind, label]) => videoRow({ scope: `pool:${pool.poolId}`, base, kind,
    label, url: pool.videos[kind], empty: 'Uses your greeting' }));
  return el('div', { className: 'pool-videos', 'data-pool-id': pool.poolId },
    el('h3', { textContent: `${pool.poolName} · ${tier}` }),
    el('div', { className: 'table-wrap' },
      el('table', { className: 'table' },
        el('thead', {}, el('tr', {},
          el('th', { textContent: 'Video' }), el('th', { textContent: 'Preview' }),
          el('th', { className: 'actions-col', textContent: 'Actions' }))),
        el('tbody', {}, ...rows))));
}

/** One kind of video: its name, a preview or what plays instead, and actions. */
function videoRow({ scope, base, kind, label, hint, url, empty }) {
  const what = scope === 'profile' ? `your ${kind} video` : `your ${kind} video for this pool`;
  const preview = url
    ? el('video', { src: url, controls: true, muted: true, preload: 'metadata',
      playsInline: true, width: 192, height: 144, 'aria-label': `Preview of ${what}` })
    : el('span', { className: 'muted', textContent: empty });

  const input = el('input', { type: 'file', accept: 'video/webm,video/mp4',
    className: 'visually-hidden', 'aria-label': `Upload ${what}`, 'data-kind': kind });
  input.addEventListener('change', () => {
    const file = input.files[0];
    input.value = '';
    if (file) upload(base + kind, file, label);
  });
  const remove = el('button', { type: 'button', className: 'btn btn-small btn-danger',
    textContent: 'Remove', disabled: !url, 'data-action': 'remove', 'data-kind': kind,
    'aria-label': `Remove ${what}` });
  remove.addEventListener('click', () => removeVideo(base + kind, label));

  return el('tr', { 'data-kind': kind, 'data-set': String(!!url) },
    el('td', {},
      el('div', { className: 'cell-main', textContent: label }),
      hint ? el('div', { className: 'muted', textContent: hint }) : null),
    el('td', {}, preview),
    el('td', { className: 'actions' },
      el('label', { className: 'btn btn-small file-btn' }, url ? 'Replace' : 'Upload', input),
      remove));
}

async function upload(path, file, label) {
  if (busy) return;
  clearMessages();
  if (file.size > MAX_BYTES) {
    showError(`${file.name} is larger than 50 MB. Choose a shorter or smaller video.`);
    return;
  }
  await change(async () => {
    showNotice(`Uploading ${file.name}…`);
    await sendFile(path, file);
    return `Your ${label.toLowerCase()} video was uploaded.`;
  }, `Uploading ${file.name} failed`);
}

async function removeVideo(path, label) {
  if (busy) return;
  clearMessages();
  await change(async () => {
    await api('DELETE', path);
    return `Your ${label.toLowerCase()} video was removed.`;
  }, 'Removing the video failed');
}

/** Runs one change with every control locked, then shows the outcome. */
async function change(action, failurePrefix) {
  busy = true;
  setLocked(true);
  try {
    const done = await action();
    await refresh();
    showNotice(done);
  } catch (err) {
    if (err.status === 401) failed(err);
    else showError(`${failurePrefix}: ${err.message}`);
  } finally {
    busy = false;
    setLocked(false);
  }
}

function setLocked(locked) {
  for (const c of document.querySelectorAll('.main input[type=file], .main button')) {
    c.disabled = locked || (c.dataset.action === 'remove' &&
      c.closest('tr')?.dataset.set !== 'true');
  }
}

/** PUTs the file as the raw request body; failures throw an ApiError. */
async function sendFile(path, file) {
  let res;
  try {
    res = await fetch(path, {
      method: 'PUT',
      credentials: 'same-origin',
      headers: {
        Accept: 'application/json',
        'Content-Type': file.type || 'application/octet-stream',
      },
      body: file,
    });
  } catch {
    throw new ApiError(0, 'Greeter could not be reached. Check your connection.');
  }
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (!res.ok) {
    throw new ApiError(res.status, (data && data.error) || `Upload failed (${res.status}).`,
      data && data.code);
  }
  return data;
}

main();
