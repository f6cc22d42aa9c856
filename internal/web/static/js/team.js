// Admin console, team page: members with role and live status (refreshed
// every 5 s), invitations, role changes, agent edits (display name and
// maximum viewers) and removals (SPEC §14.1, §11.1).
import { api } from './api.js';
import { byId, el, formatDateTime } from './dom.js';
import { startPage, updateMe, failed, showNotice, clearMessages } from './page.js';
import { confirmAction, isAsking } from './confirm.js';
import { wireCopy } from './copy.js';
import { editAgent } from './agentedit.js';

const REFRESH_MS = 5000;
const STATUS_LABELS = {
  offline: 'Offline',
  away: 'Away',
  idle: 'Live',
  in_simulation: 'Live',
  in_call: 'In call',
};
const ROLE_LABELS = { admin: 'Admin', agent: 'Agent' };

let me = null;
let team = { members: [], invites: [] };
let shown = ''; // the JSON last drawn, so that an unchanged answer redraws nothing

async function main() {
  me = await startPage({ current: 'team', adminOnly: true });
  if (!me) return;

  byId('invite-form').addEventListener('submit', createInvite);
  byId('add-me').addEventListener('click', addMeAsAgent);
  wireCopy(byId('invite-copy'), byId('invite-link'));
  renderAddMe();
  await refresh();
  scheduleRefresh();
}

function scheduleRefresh() {
  setTimeout(async () => {
    await refresh();
    scheduleRefresh();
  }, REFRESH_MS);
}

/** Loads the team; the tables are redrawn only when something changed. */
async function refresh() {
  let data;
  try {
    data = await api('GET', '/api/team');
  } catch (err) {
    failed(err);
    return;
  }
  team = data;
  draw();
}

function draw() {
  const json = JSON.stringify(team);
  // A redraw would close an open role menu, or change the table under an
  // open question; the next refresh draws it.
  const focus = document.activeElement;
  const choosing = focus?.tagName === 'SELECT' && byId('members-body').contains(focus);
  if (json === shown || isAsking() || choosing) return;
  shown = json;
  renderMembers();
  renderInvites();
}

function renderMembers() {
  const rows = team.members.map(memberRow);
  byId('members-body').replaceChildren(...rows);
  byId('members-empty').hidden = rows.length > 0;
}

function memberRow(m) {
  const self = m.id === me.user.id;
  const name = el('td', {},
    el('div', { className: 'cell-main', textContent: m.fullName + (self ? ' (you)' : '') }),
    el('div', { className: 'muted', textContent: m.email }));
  return el('tr', {
    'data-user-id': m.id,
    'data-email': m.email,
    'data-active': String(m.active),
    className: m.active ? '' : 'row-removed',
  }, name, roleCell(m), agentCell(m), statusCell(m), actionsCell(m));
}

function roleCell(m) {
  if (!m.active) return el('td', { textContent: ROLE_LABELS[m.role] || m.role });
  const select = el('select', { className: 'role-select', 'aria-label': `Role of ${m.fullName}` },
    ...Object.entries(ROLE_LABELS).map(([value, label]) =>
      el('option', { value, textContent: label, selected: value === m.role })));
  select.addEventListener('change', () => changeRole(m, select));
  return el('td', {}, select);
}

function agentCell(m) {
  if (!m.agent) return el('td', { textContent: '—' });
  return el('td', {},
    el('div', { textContent: m.agent.displayName }),
    el('div', {
      className: 'muted',
      textContent: `Up to ${m.agent.maxViewers} viewers`,
      'data-max-viewers': String(m.agent.maxViewers),
    }));
}

function statusCell(m) {
  if (!m.active) return el('td', {}, el('span', { className: 'tag', textContent: 'Removed' }));
  if (!m.agent) return el('td', { className: 'muted', textContent: 'Does not take calls' });
  const status = m.agent.status;
  return el('td', {}, el('span', {
    className: 'status',
    'data-status': status,
    textContent: STATUS_LABELS[status] || status,
  }));
}

function actionsCell(m) {
  const cell = el('td', { className: 'actions' });
  if (!m.active) return cell;
  if (m.agent) cell.append(actionButton('Edit', 'edit-agent', () => edit(m)));
  if (m.agent && m.role === 'admin') {
    cell.append(actionButton('Stop taking calls', 'remove-agent', () => remove(m, 'agent')));
  }
  cell.append(actionButton('Remove', 'remove-member', () => remove(m, 'member'), 'btn-danger'));
  return cell;
}

function actionButton(label, action, onClick, extra = '') {
  const button = el('button', {
    type: 'button',
    className: `btn btn-small ${extra}`.trim(),
    textContent: label,
    'data-action': action,
  });
  button.addEventListener('click', onClick);
  return button;
}

async function changeRole(m, select) {
  const role = select.value;
  select.disabled = true;
  clearMessages();
  try {
    await api('PATCH', `/api/users/${encodeURIComponent(m.id)}`, { role });
    if (m.id === me.user.id && role !== 'admin') {
      location.replace('/workbench'); // no admin rights left for this page
      return;
    }
    showNotice(`${m.fullName} is now ${role === 'admin' ? 'an admin' : 'an agent'}.`);
  } catch (err) {
    select.value = m.role;
    failed(err);
  } finally {
    select.disabled = false;
    select.blur();
  }
  shown = '';
  await refresh();
}

/** Edits the display name and maximum viewers of a member's agent profile. */
async function edit(m) {
  clearMessages();
  let profile;
  try {
    profile = await editAgent(m.agent);
  } catch (err) {
    failed(err);
    return;
  }
  if (!profile) return;

  if (m.id === me.user.id) updateMe({ agent: { ...me.agent, displayName: profile.displayName } },
    'team');
  showNotice(`Saved ${profile.displayName}: up to ${profile.maxViewers} viewers.`);
  shown = '';
  await refresh();
}

/**
 * Removes a member ("member") or only their agent profile ("agent") after a
 * confirmation that warns when they are on a call. The team is loaded again
 * first, so that the warning uses their status of this moment.
 */
async function remove(m, what) {
  await refresh();
  const current = team.members.find((x) => x.id === m.id) || m;
  const name = current.agent?.displayName || current.fullName;
  const self = current.id === me.user.id;
  const inCall = current.agent?.status === 'in_call';

  const ok = await confirmAction({
    title: what === 'agent' ? `Stop ${name} taking calls?` : `Remove ${name}?`,
    text: removalText(current, name, what, self),
    warning: inCall ? `${name} is on a call right now. Removing them ends the call.` : '',
    confirmLabel: what === 'agent' ? 'Stop taking calls' : 'Remove',
  });
  if (!ok) return;

  const path = what === 'agent'
    ? `/api/agents/${encodeURIComponent(current.agent.id)}`
    : `/api/users/${encodeURIComponent(current.id)}`;
  clearMessages();
  try {
    await api('DELETE', path);
  } catch (err) {
    failed(err);
    return;
  }

  if (self && what === 'member') {
    location.replace('/login'); // removing yourself signs you out
    return;
  }
  if (self) updateMe({ agent: null }, 'team');
  renderAddMe();
  showNotice(what === 'agent' ? `${name} no longer takes calls.` : `${name} was removed.`);
  await refresh();
}

function removalText(m, name, what, self) {
  if (what === 'agent') {
    return `${name} leaves every pool and can no longer go live. ` +
      `${self ? 'You stay' : 'They stay'} an admin.`;
  }
  if (self) return 'You lose access to this organization and are signed out at once.';
  return `${name} loses access to this organization and is signed out everywhere. ` +
    'This cannot be undone, and their email address cannot be invited again.';
}

function renderInvites() {
  const rows = team.invites.map(inviteRow);
  byId('invites-body').replaceChildren(...rows);
  byId('invites-empty').hidden = rows.length > 0;
  byId('invites').hidden = rows.length === 0;
}

function inviteRow(inv) {
  const expires = inv.expired
    ? el('span', { className: 'tag tag-warn', textContent: 'Expired' })
    : formatDateTime(inv.expiresAt);
  return el('tr', { 'data-invite-id': inv.id, 'data-email': inv.email },
    el('td', { textContent: inv.email }),
    el('td', { textContent: inv.fullName }),
    el('td', { textContent: ROLE_LABELS[inv.role] || inv.role }),
    el('td', {}, expires),
    el('td', { className: 'actions' },
      actionButton('New link', 'regenerate', () => regenerate(inv)),
      actionButton('Revoke', 'revoke', () => revoke(inv), 'btn-danger')));
}

async function createInvite(event) {
  event.preventDefault();
  const error = byId('invite-error');
  error.hidden = true;
  const body = {
    email: byId('invite-email').value.trim(),
    fullName: byId('invite-name').value.trim(),
    role: byId('invite-role').value,
  };
  if (!body.email || !body.fullName) {
    error.textContent = 'Enter the email and full name of the person to invite.';
    error.hidden = false;
    return;
  }

  const submit = byId('invite-submit');
  submit.disabled = true;
  try {
    const inv = await api('POST', '/api/invites', body);
    showInviteLink(`Invitation for ${inv.fullName} (${inv.email}) as ` +
      `${inv.role === 'admin' ? 'an admin' : 'an agent'}:`, inv.inviteUrl);
    byId('invite-form').reset();
  } catch (err) {
    if (err.status === 401 || err.status === 403) failed(err);
    error.textContent = err.message;
    error.hidden = false;
  } finally {
    submit.disabled = false;
  }
  await refresh();
}

async function regenerate(inv) {
  clearMessages();
  try {
    const fresh = await api('POST', `/api/invites/${encodeURIComponent(inv.id)}/regenerate`);
    showInviteLink(`New link for ${fresh.email}. The previous link no longer works.`,
      fresh.inviteUrl);
  } catch (err) {
    failed(err);
  }
  await refresh();
}

async function revoke(inv) {
  const ok = await confirmAction({
    title: `Revoke the invitation for ${inv.email}?`,
    text: 'The invitation link stops working at once.',
    confirmLabel: 'Revoke',
  });
  if (!ok) return;

  clearMessages();
  try {
    await api('DELETE', `/api/invites/${encodeURIComponent(inv.id)}`);
    showNotice(`The invitation for ${inv.email} was revoked.`);
    byId('invite-result').hidden = true;
  } catch (err) {
    failed(err);
  }
  await refresh();
}

function showInviteLink(text, url) {
  byId('invite-result-text').textContent = text;
  byId('invite-link').value = url;
  byId('invite-result').hidden = false;
  byId('invite-link').select();
}

// "I also take calls" for an admin without an agent profile.
function renderAddMe() {
  byId('add-me').hidden = !!me.agent;
}

async function addMeAsAgent() {
  const button = byId('add-me');
  button.disabled = true;
  clearMessages();
  try {
    const profile = await api('POST', '/api/agents');
    updateMe({ agent: { id: profile.id, displayName: profile.displayName } }, 'team');
    renderAddMe();
    showNotice('You can now take calls: open the Workbench and go live.');
  } catch (err) {
    failed(err);
  } finally {
    button.disabled = false;
  }
  await refresh();
}

main();
