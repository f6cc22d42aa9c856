// The active-call stage: visitor video large, own video small, a duration
// timer, mute, camera and end controls, the call's peer connection, and the
// notices of a call held for the visitor or about to reach its maximum.
import { api } from './api.js';
import { byId, formatDuration } from './dom.js';
import { AgentPeer } from './rtc.js';

const END_MESSAGE_MS = 5000;

export class CallStage {
  /**
   * socket is the AgentSocket; media is the Media helper that owns the camera;
   * onChange() is told when a call starts or ends.
   */
  constructor(socket, media, onChange) {
    this.socket = socket;
    this.media = media;
    this.onChange = onChange;
    this.call = null;
    this.timer = 0;

    this.stage = byId('call-stage');
    this.remoteVideo = byId('remote-video');
    this.localVideo = byId('local-video');
    this.muteButton = byId('toggle-mute');
    this.cameraButton = byId('toggle-camera');
    this.endButton = byId('end-call');
    this.lost = byId('media-lost');
    this.holding = byId('call-holding');
    this.endingSoon = byId('call-ending-soon');
    this.holdTimer = 0;

    this.muteButton.addEventListener('click', () => this.toggle('audio', this.muteButton));
    this.cameraButton.addEventListener('click', () => this.toggle('video', this.cameraButton));
    this.endButton.addEventListener('click', () => this.hangUp());
    // Retry, once three ICE restarts have failed: a fresh offer on a new
    // peer connection with fresh ICE servers; the widget answers it on a new
    // one too.
    byId('media-retry').addEventListener('click', () => {
      this.lost.hidden = true;
      if (this.call) this.connect({});
    });
  }

  /** Whether a call is on stage. */
  get active() {
    return this.call !== null;
  }

  /** Starts the stage and the offer for a call:started payload. */
  async start(data) {
    if (this.call && this.call.callId === data.callId) return;
    this.teardown();

    const visitor = data.visitor || {};
    this.call = {
      callId: data.callId,
      callLogId: data.callLogId,
      startedAt: Date.parse(data.startedAt) || Date.now(),
      peer: null,
      peerGen: 0,
    };
    byId('call-visitor').textContent = visitor.pageUrl || '';
    this.resetToggles();
    this.lost.hidden = true;
    this.endButton.disabled = false;
    this.stage.hidden = false;
    this.tick();
    this.timer = setInterval(() => this.tick(), 1000);
    this.onChange();
    exposeCall(this.call);
    await this.connect(data);
  }

  /**
   * Goes on with a call after call:reconnected: the old peer connection
   * closes and a new one offers with the fresh IceConfig (SPEC §8.4). call
   * is what the stage needs to show a call it does not have yet (after a
   * reload): {callLogId, startedAt} from the stored record.
   */
  async resume(data, call) {
    this.hideHolding();
    if (!this.call || this.call.callId !== data.callId) {
      await this.start({ ...call, callId: data.callId, visitor: data.visitor, ice: data.ice });
      return;
    }
    if (data.visitor?.pageUrl) byId('call-visitor').textContent = data.visitor.pageUrl;
    await this.connect(data);
  }

  // connect replaces the call's peer connection with a new one that offers,
  // capturing the camera again if it was released. A newer connect started
  // while this one waits for the camera wins.
  async connect(data) {
    const call = this.call;
    const gen = ++call.peerGen;
    if (call.peer) {
      call.peer.close();
      call.peer = null;
      exposePeer(null);
    }
    const [stream, iceServers] = await Promise.all([this.media.camera(), iceServersOf(data)]);
    if (this.call !== call || call.peerGen !== gen) return; // ended or replaced meanwhile
    this.localVideo.srcObject = stream;
    this.lost.hidden = true;

    call.peer = new AgentPeer({
      iceServers,
      localStream: stream,
      send: (signal) => this.socket.send('webrtc:signal', { callId: call.callId, signal }),
      onRemoteStream: (remote) => this.showRemote(remote),
      onConnected: () => (this.lost.hidden = true),
      onMediaLost: () => (this.lost.hidden = !this.holding.hidden),
    });
    exposePeer(call.peer.pc);
    try {
      await call.peer.start();
    } catch (err) {
      console.warn('greeter: unable to create the offer', err);
    }
  }

  /**
   * Shows call:reconnecting: the visitor's connection dropped and the call
   * is held for them, with a countdown to the server's deadline.
   */
  hold(data) {
    if (!this.call || data.callId !== this.call.callId) return;
    const deadline = Date.now() + Math.max(0, Number(data.timeoutSeconds) || 0) * 1000;
    byId('holding-message').textContent =
      data.message || "The visitor's connection dropped. Holding the call for them…";
    const tick = () => {
      const left = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
      byId('holding-left').textContent = String(left);
    };
    clearInterval(this.holdTimer);
    tick();
    this.holdTimer = setInterval(tick, 250);
    this.lost.hidden = true;
    this.holding.hidden = false;
  }

  hideHolding() {
    clearInterval(this.holdTimer);
    this.holdTimer = 0;
    this.holding.hidden = true;
  }

  /** Shows call:ending_soon's message until the call ends. */
  warnEnding(data) {
    if (!this.call || data.callId !== this.call.callId) return;
    this.endingSoon.textContent = data.message || 'This call will end automatically soon.';
    this.endingSoon.hidden = false;
  }

  showRemote(stream) {
    if (this.remoteVideo.srcObject !== stream) this.remoteVideo.srcObject = stream;
    this.remoteVideo.play().catch(() => {});
  }

  /** Applies a webrtc:signal from the visitor. */
  handleSignal(data) {
    const call = this.call;
    if (!call || data.callId !== call.callId || !call.peer) return;
    call.peer.handleSignal(data.signal).catch((err) => {
      console.warn('greeter: unable to apply a signal', err);
    });
  }

  /** Sends call:end; an unknown call means it has already ended. */
  async hangUp() {
    const call = this.call;
    if (!call) return;
    this.endButton.disabled = true;
    try {
      await this.socket.request('call:end', { callId: call.callId });
    } catch (err) {
      if (this.call !== call) return;
      this.ended(err.code === 'CALL_NOT_FOUND' ? 'The call has ended.' : err.message);
    }
  }

  /** Handles call:ended (or a local end): message for 5 s, media off. */
  ended(message) {
    this.teardown();
    showMessage(message || 'The call has ended.');
    this.onChange();
  }

  teardown() {
    clearInterval(this.timer);
    this.timer = 0;
    if (this.call?.peer) this.call.peer.close();
    this.call = null;
    exposePeer(null);
    exposeCall(null);
    this.hideHolding();
    this.endingSoon.hidden = true;
    this.remoteVideo.srcObject = null;
    this.localVideo.srcObject = null;
    this.stage.hidden = true;
    this.media.setEnabled('audio', true);
    this.media.setEnabled('video', true);
  }

  tick() {
    if (!this.call) return;
    byId('call-timer').textContent = formatDuration((Date.now() - this.call.startedAt) / 1000);
  }

  toggle(kind, button) {
    const off = button.getAttribute('aria-pressed') !== 'true';
    this.media.setEnabled(kind, !off);
    button.setAttribute('aria-pressed', String(off));
    if (kind === 'audio') button.textContent = off ? 'Unmute' : 'Mute';
    else button.textContent = off ? 'Camera on' : 'Camera off';
  }

  resetToggles() {
    this.muteButton.setAttribute('aria-pressed', 'false');
    this.muteButton.textContent = 'Mute';
    this.cameraButton.setAttribute('aria-pressed', 'false');
    this.cameraButton.textContent = 'Camera off';
  }
}

let messageTimer = 0;

/** Shows the end-of-call message in #call-message for 5 s. */
export function showMessage(text) {
  const box = byId('call-message');
  box.textContent = text;
  box.hidden = false;
  clearTimeout(messageTimer);
  messageTimer = setTimeout(() => (box.hidden = true), END_MESSAGE_MS);
}

async function iceServersOf(data) {
  if (data.ice && Array.isArray(data.ice.iceServers)) return data.ice.iceServers;
  try {
    const cfg = await api('GET', '/api/ice-servers');
    return cfg.iceServers || [];
  } catch (err) {
    console.warn('greeter: no ICE servers', err);
    return [];
  }
}

/** Publishes the current peer connection for diagnostics and browser tests. */
function exposePeer(pc) {
  window.greeterWorkbench = window.greeterWorkbench || {};
  window.greeterWorkbench.pc = pc;
}

/** Publishes the id of the call on stage, likewise. */
function exposeCall(call) {
  window.greeterWorkbench = window.greeterWorkbench || {};
  window.greeterWorkbench.callId = call ? call.callId : null;
}

exposePeer(null);
exposeCall(null);
