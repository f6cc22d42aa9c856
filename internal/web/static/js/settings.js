// Admin console, settings: the organization's name and time zone, and the
// call settings, ring time and maximum call duration (SPEC §14.6). Each form
// sends only the fields that changed; the answer appears next to each field.
import { api } from './api.js';
import { byId } from './dom.js';
import { startPage, failed, clearMessages } from './page.js';

// Each form's fields: the input's id, the API's field name, and whether the
// value is a whole number.
const FORMS = {
  'org-form': {
    submit: 'org-save',
    fields: [
      { id: 'org-name', key: 'name' },
      { id: 'org-timezone', key: 'timezone' },
    ],
  },
  'calls-form': {
    submit: 'calls-save',
    fields: [
      { id: 'rna-seconds', key: 'rnaSeconds', integer: true },
      { id: 'max-call-minutes', key: 'maxCallMinutes', integer: true },
    ],
  },
};

let org = null; // the settings as the server last answered them

async function main() {
  const me = await startPage({ current: 'settings', adminOnly: true });
  if (!me) return;

  for (const [formId, form] of Object.entries(FORMS)) {
    byId(formId).addEventListener('submit', (event) => {
      event.preventDefault();
      save(form);
    });
    for (const f of form.fields) byId(f.id).addEventListener('input', () => setStatus(f, ''));
  }

  try {
    org = await api('GET', '/api/org');
  } catch (err) {
    failed(err);
    return;
  }
  fill(Object.values(FORMS).flatMap((form) => form.fields));
}

/** Puts the server's values into the given fields. */
function fill(fields) {
  for (const f of fields) byId(f.id).value = String(org[f.key] ?? '');
}

/**
 * Sends the fields of a form whose value differs from the stored one. The
 * server takes them all or none; its message names the field it refused,
 * and shows next to that field.
 */
async function save(form) {
  clearMessages();
  for (const f of form.fields) setStatus(f, '');

  const body = {};
  for (const f of form.fields) {
    const raw = byId(f.id).value.trim();
    const value = f.integer ? parseWhole(raw) : raw;
    if (f.integer && value === null) {
      setStatus(f, 'Enter a whole number.', true);
      return;
    }
    if (value !== org[f.key]) body[f.key] = value;
  }
  const sent = form.fields.filter((f) => f.key in body);
  if (sent.length === 0) {
    for (const f of form.fields) setStatus(f, 'No change');
    return;
  }

  const submit = byId(form.submit);
  submit.disabled = true;
  try {
    org = await api('PATCH', '/api/org', body);
    fill(sent);
    for (const f of sent) setStatus(f, 'Saved');
  } catch (err) {
    if (err.status === 401 || err.status === 403) {
      failed(err);
      return;
    }
    const named = sent.find((f) => err.message.startsWith(`${f.key} `)) || sent[0];
    setStatus(named, err.message, true);
  } finally {
    submit.disabled = false;
  }
}

/** Returns raw as an integer, or null when it is not a whole number. */
function parseWhole(raw) {
  if (!/^-?\d+$/.test(raw)) return null;
  return Number(raw);
}

function setStatus(field, text, isError = false) {
  const status = byId(`${field.id}-status`);
  status.textContent = text;
  status.dataset.state = isError ? 'error' : (text ? 'ok' : '');
  byId(field.id).setAttribute('aria-invalid', String(isError));
}

main();
