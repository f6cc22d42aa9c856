// Greeter widget call module (SPEC §12.4, §8): camera or microphone capture,
// the call request and its waiting and give-up states, and the visitor's side
// of the WebRTC call. The visitor never offers: it answers the agent's offer.
// It also keeps the call going across page loads and dropped connections
// (SPEC §9): the call's record in localStorage, the resume after a navigation
// or a reload, the Rejoin prompt, and the reconnecting overlays.

const GIVE_UP_MIN_MS = 45000;
const RECORD_REFRESH_MS = 5000;
const REJOIN_WINDOW_MS = 60000;
const MAX_ICE_RESTARTS = 3; // the agent's restarts per incident (SPEC §8.4)
const DISCONNECT_GRACE_MS = 5000;
const RESUME_MEDIA_MS = 20000; // how long "Reconnecting…" waits for media
const COPY = {
  nobody: 'Everyone is helping other visitors right now. Please try again shortly.',
  generic: "That didn't work. Please try once more.",
  blink: 'Your connection blinked. Reconnecting…',
  ended: 'The call has ended.',
  youEnded: 'You ended the call.',
  reconnecting: 'Reconnecting…',
  agentDropped: "Your agent's connection dropped. Reconnecting…",
  mediaDropped: "The video link dropped, which usually means a slow network. Let's reconnect.",
  mediaLost: 'Video connection lost. The network may be too slow right now.',
  notFound: "We couldn't find this call.",
  moved: 'Your call continues in another tab.',
};

/** Friendly text for a getUserMedia failure: the device, never the visitor. */
function captureFailureText(err, kind) {
  const device = kind === 'camera' ? 'camera' : 'microphone';
  const name = err && err.name;
  if (name === 'NotAllowedError' || name === 'SecurityError') {
    return `Your ${device} is blocked for this site. Allow it from the icon in the address bar, ` +
      'then try again.';
  }
  if (name === 'NotFoundError' || name === 'OverconstrainedError') {
    return kind === 'camera'
      ? 'No camera was found. You can still talk with your mic only.'
      : 'No microphone was found. Please connect one and try again.';
  }
  if (name === 'NotReadableError' || name === 'AbortError') {
    return `Your ${device} is busy in another app. Close it there and try again.`;
  }
  return COPY.generic;
}

// policyBlocks reports whether the host page's Permissions-Policy forbids the device.
function policyBlocks(kind) {
  const policy = document.permissionsPolicy || document.featurePolicy;
  if (!policy || typeof policy.allowsFeature !== 'function') return false;
  if (!policy.allowsFeature('microphone')) return true;
  return kind === 'camera' && !policy.allowsFeature('camera');
}

/** The value of an SDP attribute line (a=name:value), or ''. */
function sdpAttribute(sdp, name) {
  const m = new RegExp('^a=' + name + ':(.+)$', 'm').exec(sdp || '');
  return m ? m[1].trim() : '';
}

/**
 * When a deadline from the server is plausible for this client's clock, the
 * milliseconds until it; otherwise the whole timeout, counted from now.
 */
function msUntil(deadline, timeoutSeconds) {
  const full = (Number(timeoutSeconds) || 0) * 1000;
  const left = Date.parse(deadline) - Date.now();
  return left >= 0 && left <= full + 2000 ? left : full;
}

/** Copy for a call request refused by a rate limit: wait, then try again. */
function busyNetwork(seconds) {
  const s = Math.max(1, Number(seconds) || 60);
  const wait = s < 90 ? `${s} seconds` : `${Math.ceil(s / 60)} minutes`;
  return `Lots of calls are coming from your network right now. Please try again in ${wait}.`;
}

function iceServersOf(ice) {
  const list = ice && Array.isArray(ice.iceServers) ? ice.iceServers : [];
  return list.filter((s) => s && s.urls).map((s) => {
    const out = { urls: Array.isArray(s.urls) ? s.urls : [s.urls] };
    if (s.username) out.username = s.username;
    if (s.credential) out.credential = s.credential;
    return out;
  });
}

/**
 * VisitorCall runs one visitor's calls in the widget. The widget forwards
 * clicks (action) and call events (handle) to it.
 */
class VisitorCall {
  constructor(widget) {
    this.w = widget;
    this.core = widget.core;
    this.kind = null; // 'camera' | 'mic'
    this.stream = null;
    this.requestId = null;
    this.cancelled = new Set(); // requests the visitor cancelled or gave up on
    this.callId = null;
    this.pc = null;
    this.pendingCandidates = [];
    this.giveUpTimer = 0;
    this.starting = false;
    this.ending = false;

    // Continuity (SPEC §9).
    this.token = null; // this call's reconnect token
    this.writtenToken = null; // the token this page last stored
    this.connected = false; // the socket is open and joined to the call
    this.declining = false; // "Not now": resume only to end the call
    this.resumeKind = null; // the media kind of a call taken over from a record
    this.ice = null;
    this.peerReady = Promise.resolve();
    this.mediaReady = Promise.resolve();
    this.signals = Promise.resolve(); // signals are applied one after the other
    this.restarts = 0; // ICE restarts seen in the current incident
    this.notice = null; // what the overlay says: resuming | blink | agent | lost
    this.refreshTimer = 0;
    this.countdownTimer = 0;
    this.promptTimer = 0;
    this.lostTimer = 0;
    this.resumeTimer = 0;
    window.addEventListener('pagehide', () => this.saveRecord(true));
    window.addEventListener('pageshow', (e) => {
      if (e.persisted) this.saveRecord(false);
    });
  }

  /** Whether a request or a call is in progress. */
  get busy() {
    return this.starting || ['waiting', 'giveup', 'incall', 'rejoin'].includes(this.w.state);
  }

  action(name) {
    switch (name) {
      case 'cancel':
        this.cancel();
        break;
      case 'retry':
        this.request();
        break;
      case 'end':
        this.end();
        break;
      case 'mute':
        this.toggleTrack('audio', this.w.els.mute, 'Mute', 'Unmute');
        break;
      case 'toggle-camera':
        this.toggleTrack('video', this.w.els.camera, 'Camera off', 'Camera on');
        break;
      case 'rejoin':
        this.rejoin();
        break;
      case 'not-now':
        this.notNow();
        break;
      case 'remote-sound':
        this.unmuteRemote();
        break;
    }
  }

  /** Starts a call with one device: asks for it, then requests the call. */
  async start(kind) {
    if (this.busy) return;
    this.starting = true;
    this.setButtonsDisabled(true);
    try {
      if (policyBlocks(kind)) {
        this.w.message(kind === 'camera'
          ? 'This website does not allow camera access here, so a video call cannot start.'
          : 'This website does not allow microphone access here, so a call cannot start.');
        this.w.open();
        return;
      }
      if (await this.capture(kind)) {
        await this.request();
        return;
      }
      this.w.open(); // no call: the greeting carries on, with sound
    } finally {
      this.starting = false;
      this.setButtonsDisabled(false);
    }
  }

  setButtonsDisabled(disabled) {
    for (const b of this.w.shadow.querySelectorAll('[data-action=camera],[data-action=mic]')) {
      b.disabled = disabled;
    }
  }

  async capture(kind) {
    const live = this.stream && this.stream.getTracks().every((t) => t.readyState === 'live');
    if (live && this.kind === kind) return true;
    this.stopMedia();
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      this.w.message('This browser cannot make video calls. Please try another browser.');
      return false;
    }
    const constraints = kind === 'camera' ? { video: true, audio: true } : { audio: true };
    try {
      this.stream = await navigator.mediaDevices.getUserMedia(constraints);
      this.kind = kind;
      return true;
    } catch (err) {
      console.debug('greeter: capture failed', err);
      this.w.message(captureFailureText(err, kind));
      return false;
    }
  }

  /** Sends call:request (always with an ack) and enters waiting. */
  async request() {
    clearTimeout(this.giveUpTimer);
    if (!this.stream) {
      this.w.setState('open');
      return;
    }
    const agent = this.w.agent;
    let res;
    try {
      res = await this.core.request('call:request', agent ? { agentId: agent.id } : {});
    } catch (err) {
      this.requestFailed(err);
      return;
    }

    this.requestId = res.requestId;
    this.showSelf();
    this.w.player.quiet();
    this.w.setStatus(`Calling ${this.w.agent ? this.w.agent.displayName : 'someone'}…`);
    this.w.setState('waiting');
    // The server says how long to wait: 45 s, or the ring time + 5 s.
    const giveUpMs = Math.max(GIVE_UP_MIN_MS, (Number(res.giveUpSeconds) || 0) * 1000);
    this.giveUpTimer = setTimeout(() => this.giveUp(), giveUpMs);
  }

  requestFailed(err) {
    this.stopMedia();
    if (this.w.agent) this.w.open();
    else this.w.hide();
    if (err.code === 'AGENT_UNAVAILABLE') this.w.message(COPY.nobody);
    else if (err.code === 'RATE_LIMITED') this.w.message(busyNetwork(err.retryAfterSeconds));
    else this.w.message(COPY.generic);
  }

  /** No answer in time: cancel with reason timeout and offer Try again. */
  giveUp() {
    if (this.w.state !== 'waiting') return;
    const requestId = this.requestId;
    this.cancelled.add(requestId);
    this.requestId = null;
    this.core.request('call:cancel', { requestId, reason: 'timeout' }).catch(() => {});
    // The request is over: say so, and offer Try again (the camera stays
    // on, so trying again needs no new permission).
    this.w.setStatus(COPY.nobody);
    this.w.setState('giveup');
  }

  /** The visitor's Cancel, in waiting or give-up. */
  cancel() {
    clearTimeout(this.giveUpTimer);
    if (this.requestId) {
      const requestId = this.requestId;
      this.cancelled.add(requestId);
      this.requestId = null;
      this.core.request('call:cancel', { requestId }).catch(() => {});
    }
    this.stopMedia();
    this.w.player.quietMode = false;
    if (this.w.agent) this.w.open();
    else this.w.hide();
  }

  /** Call events from the server; returns true when the event was consumed. */
  handle(event, data) {
    switch (event) {
      case 'call:accepted':
        this.accepted(data);
        return true;
      case 'webrtc:signal':
        this.signal(data);
        return true;
      case 'call:ended':
        if (data.callId === this.callId) this.finish(data.message || COPY.ended);
        return true;
      case 'call:reconnect_failed':
        this.resumeFailed(data.message || COPY.notFound);
        return true;
      case 'widget:resume_failed':
        this.resumeFailed(data.code === 'CALL_NOT_FOUND' ? COPY.notFound : COPY.generic);
        return true;
      case 'widget:resumed':
        this.resumed(data);
        return true;
      case 'widget:call_moved':
        if (this.callId) this.finish(COPY.moved);
        return true;
      case 'call:reconnecting':
        this.agentDropped(data);
        return true;
      case 'call:reconnected':
        this.reconnected(data);
        return true;
      case 'call:ending_soon':
        if (data.callId === this.callId && data.message) this.w.message(data.message);
        return true;
      case 'agent:reassigned':
        // While waiting only the name and video change (§12.4).
        if (this.w.state === 'waiting') {
          this.w.setStatus(`Calling ${data.agent.displayName}…`);
          return true;
        }
        return this.w.state === 'giveup' || this.w.state === 'incall';
      case 'agent:unavailable':
        if (this.w.state === 'waiting' || this.w.state === 'giveup') {
          clearTimeout(this.giveUpTimer);
          this.requestId = null;
          this.stopMedia();
          this.w.agent = null;
          this.w.message(COPY.nobody).then(() => {
            if (!this.w.agent) this.w.hide();
          });
          return true;
        }
        if (this.w.state === 'incall' && !this.callId) this.w.agent = null; // after a failed resume
        return this.w.state === 'incall';
    }
    return false;
  }

  accepted(data) {
    if (this.cancelled.has(data.requestId) || this.w.state !== 'waiting' ||
        (this.requestId && data.requestId !== this.requestId)) {
      // Our cancel lost the race against the agent's accept: end it at once.
      this.core.request('call:end', { callId: data.callId }).catch(() => {});
      return;
    }
    clearTimeout(this.giveUpTimer);
    this.requestId = null;
    this.callId = data.callId;
    this.ending = false;
    if (data.agent) this.w.assign(data.agent);
    this.holdCall(data.reconnectToken);
    this.w.player.pause();
    this.w.setStatus(`Connecting to ${data.agent ? data.agent.displayName : 'your agent'}…`);
    this.resetToggles();
    this.w.setState('incall');
    this.startPeer(data.ice);
  }

  // holdCall notes a fresh token: the loader resumes with it after a drop,
  // and the record lets the next page of the site resume the call.
  holdCall(token) {
    this.token = token || this.token;
    this.core.callToken = this.token;
    this.connected = true;
    this.saveRecord(false);
    clearInterval(this.refreshTimer);
    this.refreshTimer = setInterval(() => this.saveRecord(false), RECORD_REFRESH_MS);
  }

  /**
   * saveRecord stores {callId, token, agent, media, lastConnectedAt} under
   * greeter:call:<siteKey>. lastConnectedAt moves only while connected, so it
   * tells the next page how long ago the server last heard from this one.
   * A released record (pagehide) is free for the next page to take.
   */
  saveRecord(released) {
    if (!this.callId || !this.token || this.declining) return;
    const stored = this.core.readCall();
    const ours = stored ? [this.token, this.writtenToken].includes(stored.token)
      : !this.writtenToken;
    if (!ours) return; // another page has taken the call over
    const kept = stored && stored.callId === this.callId ? stored.lastConnectedAt : Date.now();
    this.core.writeCall({
      callId: this.callId,
      token: this.token,
      agent: this.w.agent,
      media: this.kind || this.resumeKind || 'camera',
      lastConnectedAt: this.connected ? Date.now() : kept,
      tab: released ? null : this.core.tabId,
    });
    this.writtenToken = this.token;
  }

  /** Takes over a call stored by the previous page: resume it, or ask first. */
  resume(record, mode) {
    this.callId = record.callId;
    this.token = record.token;
    this.writtenToken = record.token;
    this.resumeKind = record.media === 'mic' ? 'mic' : 'camera';
    if (record.agent) this.w.assign(record.agent);
    if (mode === 'prompt') this.showRejoinPrompt(record);
    else this.enterResuming();
  }

  // enterResuming shows the in-call view with "Reconnecting…" and captures the
  // same kind of media as before while call:reconnect is on its way.
  enterResuming() {
    this.ending = false;
    this.w.player.pause();
    this.w.setStatus(this.pausedStatus());
    this.resetToggles();
    this.w.setState('incall');
    this.showNotice('resuming', COPY.reconnecting);
    const callId = this.callId;
    this.mediaReady = this.capture(this.resumeKind).then((ok) => {
      if (this.callId !== callId) {
        this.stopMedia(); // the call ended while the browser was asking
        return;
      }
      if (ok) this.showSelf();
      this.resetToggles();
    });
    clearInterval(this.refreshTimer);
    this.refreshTimer = setInterval(() => this.saveRecord(false), RECORD_REFRESH_MS);
  }

  // pausedStatus is the status line while the overlay says why the call's
  // media is paused.
  pausedStatus() {
    return `Your call with ${this.w.agent ? this.w.agent.displayName : 'your agent'}`;
  }

  showRejoinPrompt(record) {
    const agent = record.agent || {};
    const img = this.w.q('.gw-avatar img');
    const avatar = this.core.asset(agent.avatarUrl);
    img.hidden = !avatar;
    if (avatar) img.src = avatar;
    this.w.q('.gw-initial').textContent = avatar ? ''
      : (agent.displayName || '?').trim().charAt(0).toUpperCase();
    this.w.setState('rejoin');

    const deadline = Number(record.lastConnectedAt) + REJOIN_WINDOW_MS;
    const tick = () => {
      const left = Math.ceil((deadline - Date.now()) / 1000);
      if (left <= 0) this.discardStoredCall();
      else this.w.q('.gw-rejoin-left').textContent = String(left);
    };
    tick();
    this.promptTimer = setInterval(tick, 1000);
  }

  /** The prompt's Rejoin: resume as after a quick reload. */
  rejoin() {
    clearInterval(this.promptTimer);
    this.core.callToken = this.token;
    this.enterResuming();
    this.core.connect();
  }

  /** The prompt's "Not now": resume only to end the call at once. */
  notNow() {
    clearInterval(this.promptTimer);
    this.declining = true;
    this.core.callToken = this.token;
    this.w.minimize();
    this.core.connect();
  }

  // discardStoredCall drops a record whose rejoin window has passed; the page
  // carries on as a fresh visitor.
  discardStoredCall() {
    clearInterval(this.promptTimer);
    this.core.forgetCall(this.token);
    this.resetCall();
    this.w.hide();
    this.core.connect();
  }

  /** The loader's call:reconnect was acknowledged. */
  resumed(data) {
    if (!this.callId || (data.callId && data.callId !== this.callId)) return;
    this.connected = true;
    this.saveRecord(false);
    if (!this.declining) return;
    this.core.request('call:end', { callId: this.callId }).catch(() => {});
    this.closeQuietly();
  }

  /**
   * call:reconnect failed. The server's call:reconnect_failed comes before
   * the failed ack and says why, so the first report is the one shown.
   */
  resumeFailed(message) {
    if (!this.callId) return;
    if (this.declining) this.closeQuietly();
    else this.finish(message);
  }

  /** call:reconnecting: the agent's connection dropped; the call is held. */
  agentDropped(data) {
    if (data.callId !== this.callId) return;
    this.w.els.live.hidden = true;
    this.w.setStatus(this.pausedStatus());
    this.showNotice('agent', data.message || COPY.agentDropped,
      Date.now() + msUntil(data.deadline, data.timeoutSeconds));
  }

  /**
   * call:reconnected: both sides are back. The token is new, and the agent
   * offers on a new peer connection, so this side starts a fresh one.
   */
  reconnected(data) {
    if (data.callId !== this.callId) return;
    if (data.agent) this.w.assign(data.agent);
    this.holdCall(data.reconnectToken);
    if (this.declining) return;
    this.w.els.live.hidden = true;
    this.w.setStatus(this.pausedStatus());
    this.showNotice('resuming', COPY.reconnecting);
    this.stopPeer();
    const callId = this.callId;
    this.peerReady = this.mediaReady.then(() => {
      if (this.callId === callId && !this.pc) this.startPeer(data.ice);
    });
  }

  startPeer(ice) {
    this.ice = ice;
    this.restarts = 0;
    const pc = new RTCPeerConnection({ iceServers: iceServersOf(ice) });
    this.pc = pc;
    this.core.widget._pc = pc;
    for (const track of this.stream ? this.stream.getTracks() : []) pc.addTrack(track, this.stream);

    const remote = new MediaStream();
    pc.ontrack = (e) => {
      if (!remote.getTracks().includes(e.track)) remote.addTrack(e.track);
      const video = this.w.els.remote;
      if (video.srcObject !== remote) video.srcObject = remote;
      this.playRemote(video);
    };
    pc.onicecandidate = (e) => {
      if (e.candidate && !e.candidate.candidate) return;
      const c = e.candidate;
      this.sendSignal({
        type: 'candidate',
        candidate: c ? {
          candidate: c.candidate,
          sdpMid: c.sdpMid,
          sdpMLineIndex: c.sdpMLineIndex,
          usernameFragment: c.usernameFragment,
        } : null,
      });
    };
    pc.onconnectionstatechange = () => this.connectionChanged(pc);
    pc.oniceconnectionstatechange = () => this.connectionChanged(pc);
  }

  // playRemote starts the agent's video; a page that has not been touched
  // yet (a resume after a navigation) may refuse sound, so it plays muted
  // with a "Tap for sound" control.
  playRemote(video) {
    video.play().catch(() => {
      video.muted = true;
      this.w.els.remoteSound.hidden = false;
      video.play().catch(() => {});
    });
  }

  unmuteRemote() {
    const video = this.w.els.remote;
    video.muted = false;
    video.play().catch(() => {});
    this.w.els.remoteSound.hidden = true;
  }

  connectionChanged(pc) {
    if (pc !== this.pc) return;
    const ice = pc.iceConnectionState;
    const connected = pc.connectionState === 'connected' || ice === 'connected' ||
      ice === 'completed';
    const name = this.w.agent ? this.w.agent.displayName : 'your agent';
    clearTimeout(this.lostTimer);
    if (connected) {
      this.restarts = 0;
      if (this.notice === 'resuming' || this.notice === 'lost') this.hideNotice();
      if (this.notice) return; // the socket or the agent is still away
      this.w.els.live.hidden = false; // "Live" only once media is connected
      this.w.setStatus(`You're talking with ${name}`);
    } else if (pc.connectionState === 'failed' || ice === 'disconnected' || ice === 'failed') {
      this.w.els.live.hidden = true;
      if (this.notice === 'blink' || this.notice === 'agent') return; // the overlay says why
      this.w.setStatus(COPY.mediaDropped);
      if (this.restarts < MAX_ICE_RESTARTS) return; // the agent restarts ICE
      if (ice === 'disconnected') {
        this.lostTimer = setTimeout(() => this.mediaLost(), DISCONNECT_GRACE_MS);
      } else {
        this.mediaLost();
      }
    }
  }

  // mediaLost: no media after the agent's ICE restarts, or long after a
  // resume. The call stays up until someone ends it, or the agent's Retry
  // brings a fresh connection.
  mediaLost() {
    if (!this.callId || this.notice === 'blink' || this.notice === 'agent') return;
    this.showNotice('lost', COPY.mediaLost);
    this.w.setStatus(COPY.mediaLost);
  }

  /** Shows the overlay on the call's video, with a countdown when given a deadline. */
  showNotice(kind, text, deadline) {
    const box = this.w.els.notice;
    this.notice = kind;
    clearInterval(this.countdownTimer);
    clearTimeout(this.resumeTimer);
    if (kind === 'resuming') {
      // An offer that never comes must not leave "Reconnecting…" up for good.
      this.resumeTimer = setTimeout(() => this.mediaLost(), RESUME_MEDIA_MS);
    }
    box.querySelector('.gw-notice-text').textContent = text;
    const count = box.querySelector('.gw-notice-count');
    count.textContent = '';
    box.dataset.kind = kind;
    box.hidden = false;
    if (!deadline) return;
    const tick = () => {
      const left = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
      count.textContent = `Holding the call for ${left} s`;
      if (!left) clearInterval(this.countdownTimer);
    };
    tick();
    this.countdownTimer = setInterval(tick, 1000);
  }

  hideNotice() {
    clearInterval(this.countdownTimer);
    clearTimeout(this.resumeTimer);
    this.notice = null;
    this.w.els.notice.hidden = true;
  }

  sendSignal(signal) {
    if (this.callId) this.core.send('webrtc:signal', { callId: this.callId, signal });
  }

  signal(data) {
    this.signals = this.signals.then(() => this.applySignal(data))
      .catch((err) => console.debug('greeter: signal failed', err));
  }

  async applySignal(data) {
    await this.peerReady;
    let pc = this.pc;
    if (!pc || data.callId !== this.callId || !data.signal) return;
    const s = data.signal;
    try {
      if (s.type === 'offer') {
        const current = pc.remoteDescription && pc.remoteDescription.sdp;
        const changed = (name) => current &&
          sdpAttribute(current, name) !== sdpAttribute(s.sdp, name);
        if (changed('fingerprint')) {
          // The agent's Retry: an offer from a new peer connection.
          this.stopPeer();
          this.startPeer(this.ice);
          pc = this.pc;
        } else if (changed('ice-ufrag')) {
          this.restarts++; // an ICE restart by the agent
        }
        await pc.setRemoteDescription({ type: 'offer', sdp: s.sdp });
        const answer = await pc.createAnswer();
        await pc.setLocalDescription(answer);
        this.sendSignal({ type: 'answer', sdp: pc.localDescription.sdp });
        for (const c of this.pendingCandidates.splice(0)) await this.addCandidate(c);
      } else if (s.type === 'candidate') {
        if (!pc.remoteDescription) this.pendingCandidates.push(s.candidate);
        else await this.addCandidate(s.candidate);
      }
    } catch (err) {
      console.debug('greeter: signal failed', err);
    }
  }

  async addCandidate(candidate) {
    if (!this.pc) return;
    try {
      await this.pc.addIceCandidate(candidate || null);
    } catch (err) {
      console.debug('greeter: ignoring a candidate', err);
    }
  }

  /** The visitor's End button. */
  async end() {
    if (!this.callId || this.ending) return;
    if (!this.connected) {
      // The socket is away: the visitor is done, and the next connection
      // resumes the call only to end it, so the agent is not kept waiting.
      this.declining = true;
      clearInterval(this.refreshTimer);
      this.core.forgetCall(this.token);
      this.hideNotice();
      this.showEnded(COPY.youEnded);
      return;
    }
    this.ending = true;
    this.w.els.end.disabled = true;
    const callId = this.callId;
    this.stopPeer();
    try {
      await this.core.request('call:end', { callId });
    } catch (err) {
      // CALL_NOT_FOUND means the call is already over; either way it is.
      if (this.callId === callId) this.finish(COPY.youEnded);
    }
  }

  /** Every end of a call: message for 5 s, media off, then minimize. */
  finish(message) {
    this.core.forgetCall(this.token);
    this.resetCall();
    this.showEnded(message);
  }

  /** Turns media off and shows message for 5 s, then minimizes. */
  showEnded(message) {
    this.stopPeer();
    this.stopMedia();
    this.w.els.live.hidden = true;
    this.w.setStatus('Call ended');
    this.w.root.classList.add('gw-ended');
    this.w.message(message).then(() => {
      if (this.w.state === 'incall') this.w.callFinished();
    });
  }

  // resetCall forgets the call's continuity state (not its media).
  resetCall() {
    this.callId = null;
    this.token = null;
    this.writtenToken = null;
    this.core.callToken = null;
    this.connected = false;
    this.declining = false;
    this.resumeKind = null;
    this.peerReady = Promise.resolve();
    clearInterval(this.refreshTimer);
    clearInterval(this.promptTimer);
    clearTimeout(this.lostTimer);
    this.hideNotice();
  }

  // closeQuietly ends this page's part in a call without a message ("Not now").
  closeQuietly() {
    this.core.forgetCall(this.token);
    this.resetCall();
    this.stopPeer();
    this.stopMedia();
  }

  /** The widget's socket dropped or closed for good. */
  connectionLost(terminal) {
    const state = this.w.state;
    if (this.callId && this.declining) {
      if (terminal) this.closeQuietly();
    } else if (state === 'incall' && this.callId) {
      if (terminal) {
        this.finish(COPY.generic);
        return;
      }
      // The loader reconnects with backoff and resumes the call first.
      this.connected = false;
      this.w.els.live.hidden = true;
      this.w.setStatus(this.pausedStatus());
      this.showNotice('blink', COPY.blink);
    } else if (state === 'waiting' || state === 'giveup') {
      clearTimeout(this.giveUpTimer);
      this.requestId = null;
      this.stopMedia();
      this.w.message(terminal ? COPY.generic : COPY.blink);
      if (this.w.agent && !terminal) this.w.open();
      else this.w.hide();
    }
  }

  /** Greeter('destroy'): everything off, no messages. */
  abort() {
    clearTimeout(this.giveUpTimer);
    this.resetCall();
    this.stopPeer();
    this.stopMedia();
  }

  stopPeer() {
    if (!this.pc) return;
    this.pc.ontrack = null;
    this.pc.onicecandidate = null;
    this.pc.onconnectionstatechange = null;
    this.pc.oniceconnectionstatechange = null;
    this.pc.close();
    this.pc = null;
    this.pendingCandidates = [];
    this.core.widget._pc = null;
    const remote = this.w.els.remote;
    if (remote.srcObject) for (const t of remote.srcObject.getTracks()) t.stop();
    remote.srcObject = null;
    remote.muted = false;
    this.w.els.remoteSound.hidden = true;
  }

  stopMedia() {
    if (this.stream) for (const t of this.stream.getTracks()) t.stop();
    this.stream = null;
    this.kind = null;
    const self = this.w.els.self;
    self.srcObject = null;
    self.hidden = true;
  }

  showSelf() {
    const self = this.w.els.self;
    const hasVideo = this.stream && this.stream.getVideoTracks().length > 0;
    self.hidden = !hasVideo;
    if (hasVideo && self.srcObject !== this.stream) {
      self.srcObject = this.stream;
      self.play().catch(() => {});
    }
  }

  toggleTrack(kind, button, onLabel, offLabel) {
    if (!this.stream) return;
    const tracks = kind === 'audio' ? this.stream.getAudioTracks() : this.stream.getVideoTracks();
    if (!tracks.length) return;
    const off = button.getAttribute('aria-pressed') !== 'true';
    for (const t of tracks) t.enabled = !off;
    button.setAttribute('aria-pressed', String(off));
    button.textContent = off ? offLabel : onLabel;
  }

  resetToggles() {
    const { mute, camera, end } = this.w.els;
    mute.setAttribute('aria-pressed', 'false');
    mute.textContent = 'Mute';
    camera.setAttribute('aria-pressed', 'false');
    camera.textContent = 'Camera off';
    camera.disabled = !(this.stream && this.stream.getVideoTracks().length);
    end.disabled = false;
  }
}

/** createCall is the module's entry point, called by the widget. */
export function createCall(widget) {
  return new VisitorCall(widget);
}
