// The agent workbench: presence (Live/Away), the live preview and viewer
// counts, incoming calls, the call stage and its resume after a reload or a
// dropped connection, all driven by /ws/agent.
import { api } from './api.js';
import { byId } from './dom.js';
import { AgentSocket } from './socket.js';
import { Ringtone } from './ringtone.js';
import { IncomingCall } from './incoming.js';
import { CallStage, showMessage } from './callstage.js';
import { Media } from './media.js';
import { IdleWatch } from './idle.js';
import { CallRecord } from './continuity.js';
import { renderNav } from './nav.js';

const LIVE = new Set(['idle', 'in_simulation']);
const LABELS = {
  offline: 'Offline',
  away: 'Away',
  idle: 'Live',
  in_simulation: 'Live · Broadcasting',
  in_call: 'In call',
};
const CANCELLED = {
  visitor_cancelled: 'The visitor cancelled the call.',
  widget_timeout: 'The visitor stopped waiting.',
  visitor_left: 'The visitor left the page.',
  ring_no_answer: 'The call was not answered in time.',
  withdrawn: 'The call was passed to someone else.',
  org_paused: 'Your organization was paused.',
  request_timeout: 'The call request timed out.',
};
const NOT_AN_AGENT =
  "Your account isn't set up to take calls yet. " +
  'Ask an admin of your organization to add you as an agent.';
const NOT_AN_AGENT_ADMIN =
  "You don't take calls yet. To greet visitors yourself, " +
  'press "Add me as an agent" on the Team page.';
const REMOVED = 'Your access to this organization has been removed.';
const IDLE_AWAY = 'You were set to Away because this workbench saw no activity for 5 minutes.';
const VIDEOS_MISSING = 'Add your intro and loop greeting videos before going live.';
const ENDED_WHILE_AWAY = 'The call ended while you were disconnected.';

const state = {
  status: 'offline',
  syncing: false,
  viewers: 0,
  poolVisitors: 0,
  profile: null,
  terminal: false,
  notAgent: false,
  admin: false,
  removalMessage: '', // the call:ended message of a call ended by this agent's removal
};
const ringtone = new Ringtone();
const media = new Media();
let socket = null;
let incoming = null;
let stage = null;
let record = null;
let firstState = false; // the next agent:state is the first of a new connection

async function main() {
  let me;
  try {
    me = await api('GET', '/api/me');
  } catch (err) {
    if (err.status === 401) {
      location.replace('/login');
      return;
    }
    byId('shell').hidden = false;
    showTerminal('Greeter is unavailable', err.message, false);
    return;
  }

  byId('shell').hidden = false;
  byId('agent-name').textContent = me.agent?.displayName || me.user?.fullName || '';
  byId('user-email').textContent = me.user?.email || '';
  byId('logout').addEventListener('click', logout);
  state.admin = me.user?.role === 'admin';
  renderNav(me, 'workbench');
  if (!me.agent) {
    state.notAgent = true;
    state.terminal = true;
    render();
    return;
  }

  socket = new AgentSocket(agentSocketURL(), { onEvent, onOpen, onDown, onTerminal });
  incoming = new IncomingCall(ringtone, { onAccept: accept, onDecline: decline });
  stage = new CallStage(socket, media, render);
  record = new CallRecord(me.agent.id, () => socket.isOpen);
  wireButtons();
  startHeartbeat();
  const idle = new IdleWatch({
    isAvailable: () => LIVE.has(state.status) && !stage.active && !state.syncing,
    goAway: idleAway,
  });
  // Browser tests reach the watch here to stand in for five idle minutes.
  window.greeterWorkbench = Object.assign(window.greeterWorkbench || {}, { idle });
  render();
  socket.connect();
}

function agentSocketURL() {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/ws/agent`;
}

function wireButtons() {
  byId('go-live').addEventListener('click', goLive);
  byId('go-away').addEventListener('click', () => changeStatus('agent:away', { reason: 'manual' }));
  byId('go-live-again').addEventListener('click', goLiveAgain);
  byId('stay-away').addEventListener('click', () => (byId('away-modal').hidden = true));
  byId('use-here').addEventListener('click', () => {
    hideTerminal();
    socket.connect();
  });
}

// The heartbeat ticks in a worker so that background tabs keep sending it.
function startHeartbeat() {
  const beat = () => socket.send('heartbeat', {});
  try {
    const worker = new Worker('/static/js/heartbeat-worker.js');
    worker.onmessage = beat;
  } catch (err) {
    console.warn('greeter: heartbeat worker unavailable, using a timer', err);
    setInterval(beat, 25000);
  }
}

function onEvent(event, data) {
  switch (event) {
    case 'agent:state':
      applyState(data);
      break;
    case 'stats:update':
      state.viewers = Number(data.viewers) || 0;
      state.poolVisitors = Number(data.poolVisitors) || 0;
      renderCounts();
      break;
    case 'call:incoming':
      incoming.show(data);
      break;
    case 'call:cancelled':
      if (data.requestId === incoming.requestId) {
        incoming.stop();
        showMessage(CANCELLED[data.reason] || 'The call request ended.');
      }
      break;
    case 'agent:marked_away':
      incoming.stop();
      showAwayModal(data.message || 'You were set to Away.');
      break;
    case 'call:started':
      incoming.stop();
      record.hold({ callId: data.callId, token: data.reconnectToken,
        callLogId: data.callLogId, startedAt: data.startedAt });
      stage.start(data).catch((err) => console.warn('greeter: call start failed', err));
      break;
    case 'webrtc:signal':
      stage.handleSignal(data);
      break;
    case 'call:ended':
      if (data.reason === 'agent_removed') state.removalMessage = data.message || '';
      if (record.read()?.callId === data.callId) record.clear();
      if (!stage.active || stage.call.callId === data.callId) stage.ended(data.message);
      break;
    case 'call:reconnected':
      callReconnected(data);
      break;
    case 'call:reconnecting':
      if (data.waitingFor === 'visitor') stage.hold(data);
      break;
    case 'call:reconnect_failed':
      record.clear();
      if (stage.active) stage.ended(data.message);
      else showMessage(data.message || 'This call could not be resumed.');
      break;
    case 'call:ending_soon':
      // TODO: the server sends this once; a workbench reloaded after it does
      // not show the warning again.
      stage.warnEnding(data);
      break;
    case 'error':
      console.warn('greeter: server error', data);
      break;
    default:
      console.debug('greeter: unhandled event', event);
  }
}

function applyState(s) {
  state.status = s.status || 'away';
  state.viewers = Number(s.viewers) || 0;
  state.poolVisitors = Number(s.poolVisitors) || 0;
  state.profile = s.profile || state.profile;
  if (!s.ringing && incoming.requestId) incoming.stop();
  const resuming = firstState && resumeCall(s.activeCall);
  firstState = false;
  if (!s.activeCall && stage.active && state.status !== 'in_call' && !resuming) {
    record.clear();
    stage.ended(ENDED_WHILE_AWAY); // it ended while this socket was down
  }
  if (LIVE.has(state.status)) byId('away-modal').hidden = true;
  render();
}

// resumeCall sends call:reconnect with the stored token, as the first thing
// a new connection does, when the server holds a call for this agent or the
// record is recent enough that the call may still be waiting (SPEC §9). It
// returns whether it did. The event goes without an ack: an acked request
// would be tried again on the next connection, with a token rotated by then.
function resumeCall(activeCall) {
  const rec = record.read();
  // TODO: a browser without the token (another computer) cannot resume the
  // call; it shows "In call" with no stage until the server's 30 s wait ends.
  if (!rec) return false;
  if (!activeCall && !record.fresh(rec)) {
    record.clear();
    return false;
  }
  return socket.send('call:reconnect', { reconnectToken: rec.token });
}

// callReconnected goes on with the call after a resume, either side's: a
// fresh token to keep, and a new peer connection that offers.
function callReconnected(data) {
  const rec = record.read();
  const stored = rec && rec.callId === data.callId ? rec : {};
  record.hold({ callId: data.callId, token: data.reconnectToken });
  const call = { callLogId: stored.callLogId, startedAt: stored.startedAt };
  stage.resume(data, call).catch((err) => console.warn('greeter: call resume failed', err));
}

function onOpen() {
  firstState = true;
  byId('conn-banner').hidden = true;
  hideTerminal();
  render();
}

function onDown() {
  byId('conn-banner').hidden = false;
  incoming.stop();
}

function onTerminal(code) {
  incoming.stop();
  stage.teardown();
  media.stop();
  byId('conn-banner').hidden = true;
  state.status = 'offline';
  switch (code) {
    case 4100:
      location.replace('/login');
      return;
    case 4101:
      showRemoved();
      return;
    case 4103:
      showTerminal('Greeter is open in another tab',
        'You can take calls from one place at a time.', true);
      break;
    case 4108:
      state.notAgent = true;
      state.terminal = true;
      break;
    default:
      showTerminal('Disconnected',
        'The connection to Greeter was closed. Reload the page to try again.', false);
  }
  render();
}

async function goLive() {
  ringtone.unlock(); // pressing Live is the gesture that allows the ringtone
  askNotifications();
  await changeStatus('agent:back', {});
}

async function goLiveAgain() {
  ringtone.unlock();
  const button = byId('go-live-again');
  const error = byId('away-error');
  button.disabled = true;
  error.hidden = true;
  const failure = await changeStatus('agent:back', {});
  button.disabled = false;
  if (failure) {
    error.textContent = failure;
    error.hidden = false;
  } else {
    byId('away-modal').hidden = true;
  }
}

/** Sends an acked presence change; returns the failure message, if any. */
async function changeStatus(event, data) {
  if (state.syncing) return 'Still syncing, please wait.';
  state.syncing = true;
  byId('status-error').hidden = true;
  render();
  let failure = '';
  try {
    const res = await socket.request(event, data);
    if (res.status) state.status = res.status;
  } catch (err) {
    failure = err.message;
    const box = byId('status-error');
    box.textContent = failure;
    box.hidden = false;
  } finally {
    state.syncing = false;
    render();
  }
  return failure;
}

function askNotifications() {
  if ('Notification' in window && Notification.permission === 'default') {
    Notification.requestPermission().catch(() => {});
  }
}

function showAwayModal(message, backLabel = 'Go live again') {
  byId('away-message').textContent = message;
  byId('away-error').hidden = true;
  byId('go-live-again').textContent = backLabel;
  byId('away-modal').hidden = false;
  byId('go-live-again').focus();
}

// idleAway sets a live agent Away after five minutes without activity
// (SPEC §13) and says so, with one button to come back.
async function idleAway() {
  const failure = await changeStatus('agent:away', { reason: 'idle' });
  if (!failure) showAwayModal(IDLE_AWAY, "I'm back");
}

async function accept(request) {
  incoming.busy();
  try {
    await socket.request('call:accept', { requestId: request.requestId });
    incoming.stop();
  } catch (err) {
    incoming.stop();
    showMessage(err.code === 'CALL_NOT_FOUND' ? 'The visitor is no longer waiting.' : err.message);
  }
}

async function decline(request) {
  incoming.stop();
  try {
    await socket.request('call:reject', { requestId: request.requestId });
  } catch (err) {
    console.debug('greeter: decline failed', err);
  }
}

async function logout() {
  socket?.close();
  record?.clear();
  media.stop();
  try {
    await api('POST', '/api/auth/logout');
  } catch (err) {
    console.debug('greeter: logout failed', err);
  }
  location.assign('/login');
}

function render() {
  const pill = byId('status-pill');
  const status = state.status;
  pill.dataset.status = status;
  pill.dataset.syncing = String(state.syncing);
  byId('status-label').textContent = state.syncing ? 'Syncing…' : LABELS[status] || status;

  const connected = socket?.isOpen && !state.terminal;
  byId('go-live').disabled = !connected || state.syncing || status !== 'away';
  byId('go-away').disabled = !connected || state.syncing || !LIVE.has(status);

  const inCall = status === 'in_call' || stage?.active;
  const live = LIVE.has(status) && !inCall && !state.terminal;
  byId('live-view').hidden = !live;
  byId('away-view').hidden = live || inCall || state.terminal;
  renderSetup();

  renderPreview(live, inCall);
  renderCounts();
}

function renderPreview(live, inCall) {
  const preview = byId('preview-video');
  if (live) {
    media.camera().then((stream) => {
      if (LIVE.has(state.status) && preview.srcObject !== stream) preview.srcObject = stream;
    });
  } else {
    preview.srcObject = null;
    if (!inCall) media.stop(); // the camera is off while away
  }
}

function renderCounts() {
  byId('viewer-count').textContent = String(state.viewers);
  byId('viewer-noun').textContent = state.viewers === 1 ? 'visitor' : 'visitors';
  byId('pool-visitors').textContent =
    state.poolVisitors === 1 ? '1 visitor' : `${state.poolVisitors} visitors`;
}

// The setup notice explains why this account cannot go live yet.
function renderSetup() {
  let text = '';
  if (state.notAgent) text = state.admin ? NOT_AN_AGENT_ADMIN : NOT_AN_AGENT;
  else if (state.profile && state.profile.videosReady === false) text = VIDEOS_MISSING;
  byId('setup-text').textContent = text;
  byId('setup-link').hidden = text !== VIDEOS_MISSING;
  byId('setup-notice').hidden = !text;
}

function showTerminal(title, text, offerUseHere) {
  state.terminal = true;
  byId('terminal-title').textContent = title;
  byId('terminal-text').textContent = text;
  byId('use-here').hidden = !offerUseHere;
  byId('terminal').hidden = false;
}

// The full-screen notice of a removed agent (close code 4101). Nothing
// reconnects from here: the session is gone or no longer takes calls.
function showRemoved() {
  state.terminal = true;
  byId('incoming').hidden = true;
  byId('away-modal').hidden = true;
  byId('shell').hidden = true;
  byId('removed-text').textContent = REMOVED;
  const call = byId('removed-call');
  call.textContent = state.removalMessage;
  call.hidden = !state.removalMessage;
  byId('removed-admin').hidden = !state.admin;
  byId('removed').hidden = false;
  document.title = 'Greeter · Access removed';
}

function hideTerminal() {
  state.terminal = false;
  state.notAgent = false;
  byId('terminal').hidden = true;
}

main();
