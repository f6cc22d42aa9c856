// A pool member's own greeting videos (SPEC §3.1 pool_members): a wave,
// intro or loop video uploaded here replaces the agent's profile video for
// the visitors routed through this pool. Uploads send the file itself, not
// JSON, so this module has its own small request helper.
import { ApiError } from './api.js';
import { el } from './dom.js';

const KINDS = [['wave', 'Wave'], ['intro', 'Intro'], ['loop', 'Loop']];
const VIDEO_TYPES = { webm: 'video/webm', mp4: 'video/mp4' };

/**
 * Sums up a member's overrides in a few words: "Own wave and loop video",
 * "Profile greeting", or '' when the server sent no video information.
 */
export function greetingSummary(member) {
  if (!member.videos) return '';
  const own = KINDS.filter(([kind]) => member.videos[kind]).map(([kind]) => kind);
  if (own.length === 0) return 'Profile greeting';
  const last = own.pop();
  return `Own ${own.length ? `${own.join(', ')} and ${last}` : last} video`;
}

/**
 * Builds the "Greeting for this pool" control of one member: per kind, the
 * current state, a file input that uploads at once and a Remove button.
 * onChanged(message) follows a stored change, onFailed(message) a refusal;
 * open and onToggle(open) keep the control open across the page's redraws.
 */
export function greetingControl({
  pool, member, agentName, open, onToggle, onChanged, onFailed,
}) {
  const base = `/api/pools/${encodeURIComponent(pool.id)}/members/` +
    `${encodeURIComponent(member.agentId)}/videos/`;
  const rows = KINDS.map(([kind, label]) => {
    const url = member.videos ? member.videos[kind] : undefined;
    const who = `${agentName} in ${pool.name}`;

    const input = el('input', { type: 'file', accept: 'video/webm,video/mp4,.webm,.mp4',
      className: 'visually-hidden', 'aria-label': `Upload a ${kind} video for ${who}`,
      'data-kind': kind, 'data-key': `video:${pool.id}:${member.agentId}:${kind}` });
    input.addEventListener('change', async () => {
      const file = input.files[0];
      if (!file) return;
      await change(() => send('PUT', base + kind, file),
        `The ${kind} video of ${who} was uploaded.`,
        `Uploading the ${kind} video failed`);
    });

    const remove = el('button', { type: 'button', className: 'btn btn-small',
      textContent: 'Remove', 'aria-label': `Remove the ${kind} video of ${who}`,
      'data-action': 'remove-video', 'data-kind': kind, disabled: url === null });
    remove.addEventListener('click', () => change(() => send('DELETE', base + kind),
      `${agentName} now uses the profile's ${kind} video in ${pool.name}.`,
      `Removing the ${kind} video failed`));

    return el('div', { className: 'greeting-kind', 'data-kind': kind },
      el('span', { className: 'greeting-kind-name', textContent: label }),
      stateOf(url, kind),
      el('label', { className: 'btn btn-small file-btn' }, 'Upload', input),
      remove);
  });

  async function change(request, done, failedPrefix) {
    try {
      await request();
    } catch (err) {
      onFailed(`${failedPrefix}: ${err.message}`, err);
      return;
    }
    onChanged(done);
  }

  const details = el('details', { className: 'greeting', open },
    el('summary', { textContent: 'Greeting for this pool',
      'data-key': `greeting:${pool.id}:${member.agentId}` }),
    el('p', { className: 'hint', textContent: 'WebM or MP4. A video set here replaces ' +
      `${agentName}'s profile video for visitors of this pool.` }),
    ...rows);
  details.addEventListener('toggle', () => onToggle(details.open));
  return details;
}

function stateOf(url, kind) {
  if (url === undefined) return el('span', { className: 'greeting-state muted' });
  if (url === null) {
    return el('span', { className: 'greeting-state muted', textContent: 'Profile video' });
  }
  return el('a', { className: 'greeting-state', href: url, target: '_blank',
    rel: 'noopener', textContent: 'Own video',
    'aria-label': `Own ${kind} video (opens a new tab)` });
}

// send makes one request with a raw file body, or none, and returns the
// decoded answer. Errors carry the server's message: its JSON error, or the
// short plain text a missing route answers with.
async function send(method, path, file) {
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (file) {
    init.headers['Content-Type'] = videoTypeOf(file);
    init.body = file;
  }

  let res;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError(0, 'Greeter could not be reached. Check your connection.');
  }
  const text = await res.text().catch(() => '');
  let data = null;
  try {
    data = JSON.parse(text);
  } catch {
    data = null;
  }
  if (!res.ok) throw new ApiError(res.status, messageOf(res.status, data, text), data?.code);
  return data;
}

function messageOf(status, data, text) {
  if (data && data.error) return data.error;
  const plain = text.trim();
  if (plain && plain.length <= 200 && !plain.startsWith('<')) return plain;
  return `Request failed (${status}).`;
}

// videoTypeOf names the file's type as the server expects it; browsers
// leave the type empty for some files, so the extension decides then.
function videoTypeOf(file) {
  if (Object.values(VIDEO_TYPES).includes(file.type)) return file.type;
  const ext = file.name.split('.').pop().toLowerCase();
  return VIDEO_TYPES[ext] || file.type || 'application/octet-stream';
}
