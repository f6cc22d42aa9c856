// The call log: the organization's calls for an admin, the agent's own for
// anyone else (the server decides), newest first, 50 a page (SPEC §14.9).
import { api } from './api.js';
import { byId, el, formatDateTime, formatDuration } from './dom.js';
import { startPage, failed } from './page.js';

const STATUS_LABELS = {
  pending: 'Ringing',
  accepted: 'In progress',
  completed: 'Completed',
  rejected: 'Declined',
  missed: 'Missed',
  cancelled: 'Cancelled',
  abandoned: 'Abandoned',
};
const END_REASONS = {
  visitor_ended: 'Visitor ended',
  agent_ended: 'Agent ended',
  agent_removed: 'Agent removed',
  ring_no_answer: 'Not answered',
  visitor_cancelled: 'Visitor cancelled',
  visitor_left: 'Visitor left',
  widget_timeout: 'Visitor stopped waiting',
  request_timeout: 'Request timed out',
  max_duration: 'Maximum duration reached',
  agent_offline: 'Agent went offline',
  agent_away: 'Agent went away',
  agent_busy: 'Agent busy',
  no_agents: 'No agent available',
  session_replaced: 'Agent opened another tab',
};
const ENDED_BY = {
  agent: 'Agent',
  visitor: 'Visitor',
  system: 'System',
  admin: 'Admin',
  api: 'API',
};
const PAGE_WINDOW = 2; // page links shown on each side of the current one

async function main() {
  const me = await startPage({ current: 'calls', adminOnly: false });
  if (!me) return;
  if (me.user.role !== 'admin') byId('calls-scope').textContent = 'Your calls, newest first.';

  const page = pageFromURL();
  let data;
  try {
    data = await api('GET', `/api/calls?page=${page}`);
  } catch (err) {
    failed(err);
    return;
  }
  render(data);
}

function pageFromURL() {
  const n = Number.parseInt(new URLSearchParams(location.search).get('page') || '1', 10);
  return Number.isFinite(n) && n > 0 ? n : 1;
}

function render(data) {
  const rows = data.items.map(callRow);
  byId('calls-body').replaceChildren(...rows);
  byId('calls-empty').hidden = rows.length > 0;
  byId('calls').hidden = rows.length === 0;
  byId('calls-total').textContent = data.total === 1 ? '1 call' : `${data.total} calls`;
  renderPager(data.page, Math.max(1, Math.ceil(data.total / data.pageSize)));
}

function callRow(c) {
  return el('tr', { 'data-call-id': c.id },
    cell('time', c.createdAt, formatDateTime(c.ringStartedAt || c.createdAt)),
    cell('agent', c.agentId || '', c.agentName || (c.agentId ? 'Removed agent' : '—')),
    cell('status', c.status, STATUS_LABELS[c.status] || c.status),
    cell('endReason', c.endReason || '', labelOf(END_REASONS, c.endReason)),
    cell('endedBy', c.endedBy || '', labelOf(ENDED_BY, c.endedBy)),
    cell('duration', c.durationSeconds ?? '', seconds(c.durationSeconds)),
    cell('answer', c.answerSeconds ?? '', seconds(c.answerSeconds)),
    el('td', { className: 'cell-url', 'data-col': 'pageUrl', title: c.pageUrl },
      c.pageUrl || ''));
}

// cell keeps the raw value in data-value beside the readable text.
function cell(col, value, text) {
  return el('td', { 'data-col': col, 'data-value': String(value), textContent: text });
}

function labelOf(labels, code) {
  if (!code) return '—';
  return labels[code] || code.replaceAll('_', ' ');
}

function seconds(n) {
  return n === null || n === undefined ? '—' : formatDuration(n);
}

function renderPager(page, pages) {
  const pager = byId('pager');
  pager.hidden = pages <= 1;
  if (pages <= 1) return;

  const items = [pageLink('Previous', page - 1, page > 1, 'prev')];
  let last = 0;
  for (let n = 1; n <= pages; n++) {
    const near = Math.abs(n - page) <= PAGE_WINDOW || n === 1 || n === pages;
    if (!near) continue;
    if (n - last > 1) items.push(el('span', { className: 'pager-gap', textContent: '…' }));
    items.push(n === page
      ? el('span', { className: 'pager-current', textContent: String(n), 'aria-current': 'page' })
      : pageLink(String(n), n, true));
    last = n;
  }
  items.push(pageLink('Next', page + 1, page < pages, 'next'));
  pager.replaceChildren(...items);
}

function pageLink(label, n, enabled, rel) {
  if (!enabled) return el('span', { className: 'pager-off', textContent: label });
  return el('a', { href: `/calls?page=${n}`, textContent: label, rel });
}

main();
