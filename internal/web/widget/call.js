// Greeter widget call module (SPEC §12.4, §8): camera or microphone capture,
// the call request and its waiting and give-up states, and the visitor's side
// of the WebRTC call. The visitor never offers: it answers the agent's offer.

const GIVE_UP_MIN_MS = 45000;
const COPY = {
  nobody: 'Everyone is helping other visitors right now. Please try again shortly.',
  generic: "That didn't work. Please try once more.",
  blink: 'Your connection blinked. Reconnecting…',
  giveUp: 'Still trying to reach someone…',
  ended: 'The call has ended.',
  youEnded: 'You ended the call.',
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
  }

  /** Whether a request or a call is in progress. */
  get busy() {
    return this.starting || ['waiting', 'giveup', 'incall'].includes(this.w.state);
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
    else this.w.message(COPY.generic);
  }

  /** No answer in time: cancel with reason timeout and offer Try again. */
  giveUp() {
    if (this.w.state !== 'waiting') return;
    const requestId = this.requestId;
    this.cancelled.add(requestId);
    this.requestId = null;
    this.core.request('call:cancel', { requestId, reason: 'timeout' }).catch(() => {});
    this.w.setStatus(COPY.giveUp);
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
        if (this.callId) this.finish(data.message || COPY.ended);
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
    this.w.player.pause();
    this.w.setStatus(`Connecting to ${data.agent ? data.agent.displayName : 'your agent'}…`);
    this.resetToggles();
    this.w.setState('incall');
    this.startPeer(data.ice);
  }

  startPeer(ice) {
    const pc = new RTCPeerConnection({ iceServers: iceServersOf(ice) });
    this.pc = pc;
    this.core.widget._pc = pc;
    for (const track of this.stream ? this.stream.getTracks() : []) pc.addTrack(track, this.stream);

    const remote = new MediaStream();
    pc.ontrack = (e) => {
      if (!remote.getTracks().includes(e.track)) remote.addTrack(e.track);
      const video = this.w.els.remote;
      if (video.srcObject !== remote) video.srcObject = remote;
      video.play().catch(() => {});
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

  connectionChanged(pc) {
    if (pc !== this.pc) return;
    const ice = pc.iceConnectionState;
    const connected = pc.connectionState === 'connected' || ice === 'connected' ||
      ice === 'completed';
    const name = this.w.agent ? this.w.agent.displayName : 'your agent';
    if (connected) {
      this.w.els.live.hidden = false; // "Live" only once media is connected
      this.w.setStatus(`You're talking with ${name}`);
    } else if (pc.connectionState === 'failed' || ice === 'disconnected' || ice === 'failed') {
      this.w.els.live.hidden = true;
      this.w.setStatus('The video link dropped, which usually means a slow network. ' +
        "Let's reconnect.");
    }
  }

  sendSignal(signal) {
    if (this.callId) this.core.send('webrtc:signal', { callId: this.callId, signal });
  }

  async signal(data) {
    const pc = this.pc;
    if (!pc || data.callId !== this.callId || !data.signal) return;
    const s = data.signal;
    try {
      if (s.type === 'offer') {
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
    try {
      await this.pc.addIceCandidate(candidate || null);
    } catch (err) {
      console.debug('greeter: ignoring a candidate', err);
    }
  }

  /** The visitor's End button. */
  async end() {
    if (!this.callId || this.ending) return;
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
    this.callId = null;
    this.stopPeer();
    this.stopMedia();
    this.w.els.live.hidden = true;
    this.w.setStatus('Call ended');
    this.w.root.classList.add('gw-ended');
    this.w.message(message).then(() => {
      if (this.w.state === 'incall') this.w.callFinished();
    });
  }

  /** The widget's socket dropped or closed for good. */
  connectionLost(terminal) {
    const state = this.w.state;
    if (state === 'incall' && this.callId) {
      this.finish(COPY.blink);
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
    this.callId = null;
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
