// The public invitation page: shows the organization, email and role of an
// invitation, and lets the invitee choose their name and password (SPEC §14.1).
import { api } from './api.js';
import { byId } from './dom.js';
import { homeOf } from './nav.js';

const GONE = 'This invitation link is no longer valid.';
const ROLE_LABELS = { admin: 'Admin', agent: 'Agent' };
const MIN_PASSWORD = 10;
const MAX_PASSWORD = 128;

const token = decodeURIComponent(location.pathname.split('/').pop() || '');
const path = `/api/invites/${encodeURIComponent(token)}`;

async function main() {
  let invite;
  try {
    invite = await api('GET', path);
  } catch (err) {
    showInvalid(err.status === 404 ? GONE : err.message);
    return;
  }

  byId('invite-loading').hidden = true;
  byId('accept-title').textContent = `Join ${invite.orgName}`;
  byId('invite-org').textContent = invite.orgName;
  byId('invite-email').textContent = invite.email;
  byId('invite-role').textContent = ROLE_LABELS[invite.role] || invite.role;
  byId('full-name').value = invite.fullName || '';
  byId('take-calls-row').hidden = invite.role !== 'admin';
  byId('accept-form').addEventListener('submit', accept);
  byId('accept-form').hidden = false;
  byId(invite.fullName ? 'new-password' : 'full-name').focus();
}

function showInvalid(message) {
  byId('invite-loading').hidden = true;
  byId('accept-form').hidden = true;
  byId('invite-invalid-text').textContent = message;
  byId('invite-invalid').hidden = false;
}

function showError(message) {
  const box = byId('accept-error');
  box.textContent = message;
  box.hidden = false;
}

async function accept(event) {
  event.preventDefault();
  byId('accept-error').hidden = true;
  const fullName = byId('full-name').value.trim();
  const password = byId('new-password').value;
  const length = [...password].length;
  if (!fullName) {
    showError('Enter your full name.');
    return;
  }
  if (length < MIN_PASSWORD || length > MAX_PASSWORD) {
    showError(`Choose a password of ${MIN_PASSWORD} to ${MAX_PASSWORD} characters.`);
    return;
  }

  const submit = byId('accept-submit');
  submit.disabled = true;
  try {
    const me = await api('POST', `${path}/accept`,
      { fullName, password, takeCalls: byId('take-calls').checked });
    location.assign(homeOf(me));
  } catch (err) {
    if (err.status === 404) showInvalid(GONE);
    else showError(err.message);
    submit.disabled = false;
  }
}

main();
