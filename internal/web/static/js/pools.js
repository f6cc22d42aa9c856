// Admin console, pools page: pools with their overflow switch, members by
// tier and routing rules, and a box that tests which pool a URL resolves to
// (SPEC §14.2, §7.1). Every change is stored at once; the page then draws
// everything again from a fresh GET /api/pools.
import { api } from './api.js';
import { byId, el } from './dom.js';
import { startPage, failed, showNotice, clearMessages } from './page.js';
import { confirmAction } from './confirm.js';
import {
  newDraft, ruleEditor, describeConditions, draftProblem, draftBody,
} from './rulebuilder.js';
import { greetingControl, greetingSummary } from './poolvideos.js';

const TIER_NAMES = { 1: 'Primary', 2: 'Standard', 3: 'Backup' };
const CATCH_ALL_SENTENCE = 'The catch-all pool receives every visitor no other rule ' +
  'matches, so it has no rules of its own.';

let pools = [];
let agents = []; // the organization's active agents: {id, name}
let draft = null; // the rule being written or edited, kept across redraws
let lastTested = ''; // the last absolute URL tested, for testing a bare path
const openGreetings = new Set(); // "poolId:agentId" of the greeting controls left open
const messages = new Map(); // pool id → {kind: 'ok'|'error', text}

async function main() {
  const me = await startPage({ current: 'pools', adminOnly: true });
  if (!me) return;

  byId('pool-form').addEventListener('submit', createPool);
  byId('test-form').addEventListener('submit', testURL);
  await refresh();
}

/** Loads pools and agents and draws them; focusKey names what gets focus. */
async function refresh(focusKey) {
  let data;
  let team;
  try {
    [data, team] = await Promise.all([api('GET', '/api/pools'), api('GET', '/api/team')]);
  } catch (err) {
    failed(err);
    return;
  }
  pools = data.pools;
  agents = team.members.filter((m) => m.active && m.agent)
    .map((m) => ({ id: m.agent.id, name: m.agent.displayName }))
    .sort((a, b) => a.name.localeCompare(b.name));
  if (draft && !draftStillFits()) draft = null;
  render(focusKey);
}

// A rule deleted, or a pool gone, meanwhile takes its open editor along.
function draftStillFits() {
  const pool = pools.find((p) => p.id === draft.poolId);
  return !!pool && (!draft.ruleId || pool.rules.some((r) => r.id === draft.ruleId));
}

function render(focusKey = document.activeElement?.dataset?.key) {
  const box = byId('pools');
  box.replaceChildren(...pools.map(poolCard));
  box.setAttribute('aria-busy', 'false');
  if (focusKey) box.querySelector(`[data-key="${CSS.escape(focusKey)}"]`)?.focus();
}

function agentName(id) {
  return agents.find((a) => a.id === id)?.name || 'Unknown agent';
}

function tierName(rank) {
  return TIER_NAMES[rank] || `Tier ${rank}`;
}

// Messages of one pool card: the outcome of the last change made in it.

function say(poolId, kind, text) {
  clearMessages();
  messages.clear();
  messages.set(poolId, { kind, text });
  for (const slot of document.querySelectorAll('#pools [data-message]')) {
    const mine = slot.closest('[data-pool-id]')?.dataset.poolId === poolId &&
      slot.dataset.message === kind;
    slot.textContent = mine ? text : '';
    slot.hidden = !mine;
  }
}

function quiet() {
  clearMessages();
  messages.clear();
  for (const slot of document.querySelectorAll('#pools [data-message]')) slot.hidden = true;
}

function messageSlots(pool) {
  const current = messages.get(pool.id);
  return ['error', 'ok'].map((kind) => {
    const slot = el('p', {
      className: kind === 'error' ? 'form-error' : 'pool-ok',
      textContent: current?.kind === kind ? current.text : '',
      hidden: current?.kind !== kind,
      'data-message': kind,
    });
    slot.setAttribute('role', kind === 'error' ? 'alert' : 'status');
    return slot;
  });
}

/** Shows a refused change in its pool card; a vanished pool or rule reloads the page. */
function refused(pool, err) {
  if (err.status === 401 || err.status === 403) {
    failed(err);
    return;
  }
  say(pool.id, 'error', err.message);
  if (err.code === 'NOT_FOUND') refresh(); // the pool, rule or agent is gone
}

// One card per pool.

function poolCard(pool) {
  const titleId = `pool-title-${pool.id}`;
  return el('article', {
    className: 'card pool',
    'data-pool-id': pool.id,
    'data-pool-name': pool.name,
    'data-catch-all': String(pool.isCatchAll),
    'aria-labelledby': titleId,
  }, poolHead(pool, titleId), ...messageSlots(pool), settingsForm(pool),
  membersSection(pool), rulesSection(pool));
}

function poolHead(pool, titleId) {
  const title = el('h2', { id: titleId, textContent: pool.name });
  if (pool.isCatchAll) {
    title.append(' ', el('span', { className: 'tag', textContent: 'Catch-all' }));
  }
  const counts = `${plural(pool.members.length, 'agent')}` +
    (pool.isCatchAll ? '' : ` · ${plural(pool.rules.length, 'rule')}`);
  const head = el('header', { className: 'pool-head' },
    el('div', {}, title,
      el('p', { className: 'muted pool-description', textContent: pool.description || '' }),
      el('p', { className: 'hint', textContent: counts })));
  if (!pool.isCatchAll) {
    head.append(button('Delete pool', 'delete-pool', () => deletePool(pool), 'btn-danger',
      `Delete the pool ${pool.name}`));
  }
  return head;
}

function plural(n, word) {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function button(label, action, onClick, extra = '', ariaLabel, key) {
  const b = el('button', {
    type: 'button',
    className: `btn btn-small ${extra}`.trim(),
    textContent: label,
    'data-action': action,
    'aria-label': ariaLabel,
    'data-key': key,
  });
  b.addEventListener('click', onClick);
  return b;
}

function settingsForm(pool) {
  const name = el('input', { type: 'text', value: pool.name, maxLength: 80, required: true,
    'data-field': 'name', 'data-key': `name:${pool.id}` });
  const description = el('input', { type: 'text', value: pool.description || '',
    maxLength: 500, 'data-field': 'description', 'data-key': `description:${pool.id}` });
  const form = el('form', { className: 'inline-form pool-settings', noValidate: true,
    'aria-label': `Settings of ${pool.name}` },
  el('label', {}, 'Name', name),
  el('label', { className: 'grow' }, 'Description', description),
  el('button', { type: 'submit', className: 'btn', textContent: 'Save',
    'data-action': 'save-pool', 'data-key': `save:${pool.id}` }));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    savePool(pool, name.value, description.value);
  });
  if (pool.isCatchAll) return form;

  const overflow = el('input', { type: 'checkbox', checked: pool.overflowToCatchAll,
    'data-action': 'overflow', 'data-key': `overflow:${pool.id}` });
  overflow.addEventListener('change', () => setOverflow(pool, overflow));
  return el('div', { className: 'pool-settings-wrap' }, form,
    el('label', { className: 'check' }, overflow, 'Overflow to the catch-all pool'),
    el('p', { className: 'hint', textContent: 'When none of this pool\'s agents is ' +
      'available, its visitors reach the catch-all pool\'s agents.' }));
}

// Members by tier.

function membersSection(pool) {
  const members = [...pool.members].sort((a, b) => a.priorityRank - b.priorityRank ||
    agentName(a.agentId).localeCompare(agentName(b.agentId)));
  const table = el('table', { className: 'table pool-members' },
    el('thead', {}, el('tr', {},
      el('th', { textContent: 'Agent' }), el('th', { textContent: 'Tier' }),
      el('th', { textContent: 'Greeting' }),
      el('th', { className: 'actions-col', textContent: 'Actions' }))),
    el('tbody', {}, ...members.map((m) => memberRow(pool, m))));
  table.hidden = members.length === 0;

  return el('section', { className: 'pool-section', 'aria-label': `Agents of ${pool.name}` },
    el('h3', { textContent: 'Agents' }),
    el('div', { className: 'table-wrap' }, table),
    el('p', { className: 'muted', hidden: members.length > 0,
      textContent: 'No agents in this pool yet.' }),
    addMemberForm(pool));
}

function memberRow(pool, m) {
  const name = agentName(m.agentId);
  const tier = tierSelect(m.priorityRank, `Tier of ${name} in ${pool.name}`,
    `tier:${pool.id}:${m.agentId}`);
  tier.addEventListener('change', () => setMember(pool, m.agentId, Number(tier.value)));
  const summary = greetingSummary(m);
  const greetingKey = `${pool.id}:${m.agentId}`;
  return el('tr', { 'data-agent-id': m.agentId, 'data-agent-name': name },
    el('td', { className: 'cell-main', textContent: name }),
    el('td', {}, tier),
    el('td', { className: 'greeting-cell' },
      summary ? el('div', { className: 'muted', textContent: summary }) : null,
      greetingControl({
        pool, member: m, agentName: name,
        open: openGreetings.has(greetingKey),
        onToggle: (open) => (open ? openGreetings.add(greetingKey)
          : openGreetings.delete(greetingKey)),
        onChanged: (text) => changed(pool, text),
        onFailed: (text, err) => refused(pool, Object.assign(err, { message: text })),
      })),
    el('td', { className: 'actions' },
      button('Remove', 'remove-member', () => removeMember(pool, m, name), '',
        `Remove ${name} from ${pool.name}`)));
}

function tierSelect(current, label, key) {
  const ranks = [1, 2, 3];
  if (!ranks.includes(current)) ranks.push(current);
  return el('select', { 'aria-label': label, 'data-field': 'tier', 'data-key': key },
    ...ranks.map((rank) => el('option', {
      value: String(rank), textContent: tierName(rank), selected: rank === current,
    })));
}

function addMemberForm(pool) {
  const taken = new Set(pool.members.map((m) => m.agentId));
  const free = agents.filter((a) => !taken.has(a.id));
  const agent = el('select', { 'data-field': 'agent', 'data-key': `add-agent:${pool.id}`,
    disabled: free.length === 0 },
  ...(free.length ? free : [{ id: '', name: 'Every agent is in this pool' }])
    .map((a) => el('option', { value: a.id, textContent: a.name })));
  const tier = tierSelect(1, undefined, `add-tier:${pool.id}`); // its label names it
  const form = el('form', { className: 'inline-form pool-add', noValidate: true,
    'aria-label': `Add an agent to ${pool.name}` },
  el('label', {}, 'Agent', agent),
  el('label', {}, 'Tier', tier),
  el('button', { type: 'submit', className: 'btn', textContent: 'Add agent',
    disabled: free.length === 0, 'data-action': 'add-member',
    'data-key': `add:${pool.id}` }));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (agent.value) setMember(pool, agent.value, Number(tier.value), true);
  });
  return form;
}

// Rules, in the order they are tried.

function rulesSection(pool) {
  const section = el('section', { className: 'pool-section',
    'aria-label': `Rules of ${pool.name}` }, el('h3', { textContent: 'Rules' }));
  if (pool.isCatchAll) {
    section.append(el('p', { className: 'catch-all-note', textContent: CATCH_ALL_SENTENCE }));
    return section;
  }

  const list = el('ol', { className: 'rules' }, ...pool.rules.map((rule) =>
    draft && draft.ruleId === rule.id ? el('li', {}, editorFor(pool)) : ruleItem(pool, rule)));
  section.append(list.children.length ? list : el('p', { className: 'muted',
    textContent: 'No rules yet: no visitor is sent to this pool until a rule matches.' }));

  if (draft && draft.poolId === pool.id && !draft.ruleId) section.append(editorFor(pool));
  else {
    section.append(button('Add a rule', 'new-rule', () => openEditor(pool, null), '',
      `Add a rule to ${pool.name}`, `new-rule:${pool.id}`));
  }
  return section;
}

function ruleItem(pool, rule) {
  const active = el('input', { type: 'checkbox', checked: rule.active,
    'data-action': 'toggle-rule', 'data-key': `active:${rule.id}` });
  active.addEventListener('change', () => toggleRule(pool, rule, active));
  return el('li', { className: 'rule', 'data-rule-id': rule.id, 'data-rule-name': rule.name,
    'data-active': String(rule.active) },
  el('div', { className: 'rule-main' },
    el('div', {},
      el('span', { className: 'cell-main', textContent: rule.name }), ' ',
      el('span', { className: 'tag', textContent: `Priority ${rule.priority}` }), ' ',
      rule.active ? null : el('span', { className: 'tag tag-warn', textContent: 'Paused' })),
    el('p', { className: 'rule-sentence', textContent: describeConditions(rule.conditions) })),
  el('div', { className: 'rule-actions' },
    el('label', { className: 'check' }, active, 'Active'),
    button('Edit', 'edit-rule', () => openEditor(pool, rule), '', `Edit the rule ${rule.name}`,
      `edit:${rule.id}`),
    button('Delete', 'delete-rule', () => deleteRule(pool, rule), 'btn-danger',
      `Delete the rule ${rule.name}`)));
}

function editorFor(pool) {
  return ruleEditor(draft, {
    poolName: pool.name,
    onSave: (d, error) => saveRule(pool, d, error),
    onCancel: closeEditor,
  });
}

function openEditor(pool, rule) {
  quiet();
  draft = newDraft(pool.id, rule);
  render();
  byId('pools').querySelector('[data-rule-editor] input')?.focus();
}

function closeEditor() {
  const d = draft;
  draft = null;
  render(d?.ruleId ? `edit:${d.ruleId}` : `new-rule:${d?.poolId}`);
}

// Changes. Each one is stored, then the page is drawn again from the server.

async function changed(pool, text, focusKey) {
  say(pool.id, 'ok', text);
  await refresh(focusKey);
}

async function createPool(event) {
  event.preventDefault();
  quiet();
  const error = byId('pool-error');
  error.hidden = true;
  const body = {
    name: byId('pool-name').value.trim(),
    description: byId('pool-description').value.trim(),
    overflowToCatchAll: byId('pool-overflow').checked,
  };
  if (!body.name) {
    error.textContent = 'Give the pool a name, e.g. Sales.';
    error.hidden = false;
    return;
  }

  const submit = byId('pool-submit');
  submit.disabled = true;
  try {
    const pool = await api('POST', '/api/pools', body);
    byId('pool-form').reset();
    showNotice(`The pool “${pool.name}” was created. Add agents and a rule to it below.`);
  } catch (err) {
    if (err.status === 401 || err.status === 403) failed(err);
    error.textContent = err.message;
    error.hidden = false;
  } finally {
    submit.disabled = false;
  }
  await refresh();
}

async function savePool(pool, name, description) {
  quiet();
  try {
    await api('PATCH', `/api/pools/${encodeURIComponent(pool.id)}`,
      { name: name.trim(), description: description.trim() });
  } catch (err) {
    refused(pool, err);
    return;
  }
  await changed(pool, 'Saved.');
}

async function setOverflow(pool, box) {
  quiet();
  try {
    await api('PATCH', `/api/pools/${encodeURIComponent(pool.id)}`,
      { overflowToCatchAll: box.checked });
  } catch (err) {
    box.checked = !box.checked;
    refused(pool, err);
    return;
  }
  await changed(pool, box.checked
    ? 'Visitors of this pool now overflow to the catch-all pool.'
    : 'Visitors of this pool no longer overflow to the catch-all pool.');
}

async function deletePool(pool) {
  const ok = await confirmAction({
    title: `Delete the pool “${pool.name}”?`,
    text: `Its ${plural(pool.rules.length, 'rule')} and ` +
      `${plural(pool.members.length, 'membership')} are deleted with it; the agents stay ` +
      'in the team. Pages its rules matched are routed by the remaining rules, or to the ' +
      'catch-all pool.',
    confirmLabel: 'Delete pool',
  });
  if (!ok) return;

  quiet();
  try {
    await api('DELETE', `/api/pools/${encodeURIComponent(pool.id)}`);
  } catch (err) {
    refused(pool, err);
    return;
  }
  if (draft?.poolId === pool.id) draft = null;
  showNotice(`The pool “${pool.name}” was deleted.`);
  await refresh();
}

async function setMember(pool, agentId, rank, adding = false) {
  quiet();
  const name = agentName(agentId);
  try {
    await api('PUT', `/api/pools/${encodeURIComponent(pool.id)}/members/` +
      encodeURIComponent(agentId), { priorityRank: rank });
  } catch (err) {
    refused(pool, err);
    if (!adding) await refresh(); // put the tier menu back
    return;
  }
  await changed(pool, adding
    ? `${name} was added to ${pool.name} as ${tierName(rank)}.`
    : `${name} is now ${tierName(rank)} in ${pool.name}.`);
}

async function removeMember(pool, m, name) {
  const own = greetingSummary(m);
  if (own && own !== 'Profile greeting') {
    const ok = await confirmAction({
      title: `Remove ${name} from ${pool.name}?`,
      text: `${name}'s own greeting videos for this pool are removed with the membership.`,
      confirmLabel: 'Remove',
    });
    if (!ok) return;
  }

  quiet();
  try {
    await api('DELETE', `/api/pools/${encodeURIComponent(pool.id)}/members/` +
      encodeURIComponent(m.agentId));
  } catch (err) {
    refused(pool, err);
    return;
  }
  await changed(pool, `${name} was removed from ${pool.name}.`, `add:${pool.id}`);
}

async function saveRule(pool, d, error) {
  quiet();
  const problem = draftProblem(d);
  error.textContent = problem;
  error.hidden = !problem;
  if (problem) return;

  let rule;
  try {
    rule = d.ruleId
      ? await api('PATCH', `/api/rules/${encodeURIComponent(d.ruleId)}`, draftBody(d))
      : await api('POST', `/api/pools/${encodeURIComponent(pool.id)}/rules`, draftBody(d));
  } catch (err) {
    if (err.status === 401 || err.status === 403) failed(err);
    error.textContent = err.message;
    error.hidden = false;
    if (err.status === 404) await refresh();
    return;
  }
  draft = null;
  await changed(pool, `The rule “${rule.name}” was saved.`, `edit:${rule.id}`);
}

async function toggleRule(pool, rule, box) {
  quiet();
  try {
    await api('PATCH', `/api/rules/${encodeURIComponent(rule.id)}`, { active: box.checked });
  } catch (err) {
    box.checked = !box.checked;
    refused(pool, err);
    return;
  }
  await changed(pool, box.checked
    ? `The rule “${rule.name}” is active again.`
    : `The rule “${rule.name}” is paused: it sends no visitors until it is active again.`);
}

async function deleteRule(pool, rule) {
  const ok = await confirmAction({
    title: `Delete the rule “${rule.name}”?`,
    text: 'Pages it matched are routed by the remaining rules, or to the catch-all pool.',
    confirmLabel: 'Delete rule',
  });
  if (!ok) return;

  quiet();
  try {
    await api('DELETE', `/api/rules/${encodeURIComponent(rule.id)}`);
  } catch (err) {
    refused(pool, err);
    return;
  }
  if (draft?.ruleId === rule.id) draft = null;
  await changed(pool, `The rule “${rule.name}” was deleted.`, `new-rule:${pool.id}`);
}

// The "Test a URL" box.

async function testURL(event) {
  event.preventDefault();
  const error = byId('test-error');
  const result = byId('test-result');
  error.hidden = true;

  const raw = byId('test-url').value.trim();
  let url = raw;
  if (raw.startsWith('/') && !raw.startsWith('//')) {
    if (!lastTested) {
      showTestError('Enter a full URL first, such as https://shop.example.com/pricing; ' +
        'a path alone is then tested on that site.');
      return;
    }
    url = new URL(raw, lastTested).href;
  }
  if (!url) {
    showTestError('Enter the URL of a page, such as https://shop.example.com/pricing.');
    return;
  }

  const submit = byId('test-submit');
  submit.disabled = true;
  try {
    const answer = await api('GET', `/api/routing/test?url=${encodeURIComponent(url)}`);
    lastTested = url;
    byId('test-page').textContent = url;
    byId('test-pool').textContent = answer.poolName;
    byId('test-rule').textContent = answer.ruleName ?? 'no rule matched: the catch-all pool';
    byId('test-rule').dataset.matched = String(answer.ruleId !== null);
    result.hidden = false;
  } catch (err) {
    if (err.status === 401 || err.status === 403) failed(err);
    result.hidden = true;
    showTestError(err.message);
  } finally {
    submit.disabled = false;
  }
}

function showTestError(message) {
  const error = byId('test-error');
  error.textContent = message;
  error.hidden = false;
  byId('test-result').hidden = true;
}

main();
