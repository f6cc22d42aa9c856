// Admin console, API keys: create (the full key is shown once), list and
// revoke the organization's keys for the internal end-call API (SPEC §11.3).
import { api } from './api.js';
import { byId, el, formatDateTime } from './dom.js';
import { startPage, failed, showNotice, clearMessages } from './page.js';
import { confirmAction } from './confirm.js';
import { wireCopy } from './copy.js';

async function main() {
  const me = await startPage({ current: 'api-keys', adminOnly: true });
  if (!me) return;

  byId('key-form').addEventListener('submit', createKey);
  byId('key-done').addEventListener('click', forgetKey);
  wireCopy(byId('key-copy'), byId('key-value'));
  await refresh();
}

async function refresh() {
  let data;
  try {
    data = await api('GET', '/api/api-keys');
  } catch (err) {
    failed(err);
    return;
  }
  const rows = data.apiKeys.map(keyRow);
  byId('keys-body').replaceChildren(...rows);
  byId('keys-empty').hidden = rows.length > 0;
  byId('keys').hidden = rows.length === 0;
}

function keyRow(key) {
  const revoke = el('button', {
    type: 'button',
    className: 'btn btn-small btn-danger',
    textContent: 'Revoke',
    'data-action': 'revoke',
  });
  revoke.addEventListener('click', () => revokeKey(key));
  return el('tr', { 'data-key-id': key.id },
    el('td', { className: 'cell-main', textContent: key.name }),
    el('td', {}, el('code', { textContent: key.prefix })),
    el('td', { textContent: key.createdBy?.fullName || '' }),
    el('td', { textContent: formatDateTime(key.createdAt) }),
    el('td', { textContent: key.lastUsedAt ? formatDateTime(key.lastUsedAt) : 'Never' }),
    el('td', { className: 'actions' }, revoke));
}

async function createKey(event) {
  event.preventDefault();
  const error = byId('key-error');
  error.hidden = true;
  const name = byId('key-name').value.trim();
  if (!name) {
    error.textContent = 'Give the key a name, e.g. the system that will use it.';
    error.hidden = false;
    return;
  }

  const submit = byId('key-submit');
  submit.disabled = true;
  try {
    const key = await api('POST', '/api/api-keys', { name });
    showKeyOnce(key);
    byId('key-form').reset();
  } catch (err) {
    if (err.status === 401 || err.status === 403) failed(err);
    error.textContent = err.message;
    error.hidden = false;
  } finally {
    submit.disabled = false;
  }
  await refresh();
}

// The secret exists in the page only until "Done": the server never sends it
// again.
function showKeyOnce(key) {
  byId('key-result-name').textContent = `New key "${key.name}"`;
  byId('key-value').value = key.key;
  byId('key-result').hidden = false;
  byId('key-value').select();
}

function forgetKey() {
  byId('key-value').value = '';
  byId('key-result').hidden = true;
}

async function revokeKey(key) {
  const ok = await confirmAction({
    title: `Revoke the key "${key.name}"?`,
    text: `Systems using ${key.prefix} are refused from now on. This cannot be undone.`,
    confirmLabel: 'Revoke',
  });
  if (!ok) return;

  clearMessages();
  try {
    await api('DELETE', `/api/api-keys/${encodeURIComponent(key.id)}`);
    showNotice(`The key "${key.name}" was revoked.`);
  } catch (err) {
    failed(err);
  }
  await refresh();
}

main();
