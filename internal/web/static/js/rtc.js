// The agent's side of a call's media. The agent is always the WebRTC offerer
// (SPEC §8.4): it offers after call:started, answers nothing, and restarts ICE
// when the connection fails or stays disconnected for more than 5 s.

const DISCONNECT_GRACE_MS = 5000;
const MAX_RESTARTS = 3;

/** Turns an RTCIceCandidate into the wire shape of SPEC §5 (null = end). */
export function candidateSignal(c) {
  if (!c) return { type: 'candidate', candidate: null };
  return {
    type: 'candidate',
    candidate: {
      candidate: c.candidate,
      sdpMid: c.sdpMid,
      sdpMLineIndex: c.sdpMLineIndex,
      usernameFragment: c.usernameFragment,
    },
  };
}

/** Keeps only well-formed ICE server entries, with urls always an array. */
export function normalizeIceServers(list) {
  if (!Array.isArray(list)) return [];
  return list
    .filter((s) => s && s.urls)
    .map((s) => {
      const out = { urls: Array.isArray(s.urls) ? s.urls : [s.urls] };
      if (s.username) out.username = s.username;
      if (s.credential) out.credential = s.credential;
      return out;
    });
}

/**
 * AgentPeer runs one RTCPeerConnection. send(signal) relays a signal to the
 * visitor; onRemoteStream(stream), onConnected() and onMediaLost() report
 * progress to the call stage.
 */
export class AgentPeer {
  constructor({ iceServers, localStream, send, onRemoteStream, onConnected, onMediaLost }) {
    this.send = send;
    this.onConnected = onConnected;
    this.onMediaLost = onMediaLost;
    this.remoteStream = new MediaStream();
    this.pendingCandidates = [];
    this.restarts = 0;
    this.disconnectTimer = 0;
    this.closed = false;

    const pc = new RTCPeerConnection({ iceServers: normalizeIceServers(iceServers) });
    this.pc = pc;
    if (localStream && localStream.getTracks().length) {
      for (const track of localStream.getTracks()) pc.addTrack(track, localStream);
    }
    // Always receive both kinds, even when this side has no camera or mic.
    for (const kind of ['audio', 'video']) {
      if (!pc.getTransceivers().some((t) => t.sender.track?.kind === kind)) {
        pc.addTransceiver(kind, { direction: 'recvonly' });
      }
    }

    pc.onicecandidate = (e) => {
      if (e.candidate && !e.candidate.candidate) return; // per-generation end marker
      this.send(candidateSignal(e.candidate));
    };
    pc.ontrack = (e) => {
      if (!this.remoteStream.getTracks().includes(e.track)) this.remoteStream.addTrack(e.track);
      onRemoteStream(this.remoteStream);
    };
    pc.oniceconnectionstatechange = () => this.iceStateChanged();
  }

  /** Creates and sends the offer. */
  async start() {
    await this.offer({});
  }

  async offer(options) {
    const offer = await this.pc.createOffer(options);
    if (this.closed) return;
    await this.pc.setLocalDescription(offer);
    this.send({ type: 'offer', sdp: this.pc.localDescription.sdp });
  }

  /** Applies a signal from the visitor: an answer or an ICE candidate. */
  async handleSignal(signal) {
    if (this.closed || !signal) return;
    if (signal.type === 'answer') {
      if (this.pc.signalingState !== 'have-local-offer') return;
      await this.pc.setRemoteDescription({ type: 'answer', sdp: signal.sdp });
      const queued = this.pendingCandidates.splice(0);
      for (const c of queued) await this.addCandidate(c);
      return;
    }
    if (signal.type === 'candidate') {
      if (!this.pc.remoteDescription) {
        this.pendingCandidates.push(signal.candidate);
        return;
      }
      await this.addCandidate(signal.candidate);
    }
  }

  async addCandidate(candidate) {
    try {
      await this.pc.addIceCandidate(candidate || null);
    } catch (err) {
      console.debug('greeter: ignoring an ICE candidate', err);
    }
  }

  iceStateChanged() {
    const state = this.pc.iceConnectionState;
    clearTimeout(this.disconnectTimer);
    if (state === 'connected' || state === 'completed') {
      this.restarts = 0;
      this.onConnected();
    } else if (state === 'failed') {
      this.restartIce();
    } else if (state === 'disconnected') {
      this.disconnectTimer = setTimeout(() => this.restartIce(), DISCONNECT_GRACE_MS);
    }
  }

  /** Restarts ICE with a new offer; after 3 tries reports the media lost. */
  restartIce() {
    if (this.closed) return;
    if (this.restarts >= MAX_RESTARTS) {
      this.onMediaLost();
      return;
    }
    this.restarts++;
    this.offer({ iceRestart: true }).catch((err) => {
      console.warn('greeter: ICE restart failed', err);
    });
  }

  /** Closes the connection; the local tracks stay with their owner. */
  close() {
    this.closed = true;
    clearTimeout(this.disconnectTimer);
    this.pc.onicecandidate = null;
    this.pc.ontrack = null;
    this.pc.oniceconnectionstatechange = null;
    this.pc.close();
    for (const t of this.remoteStream.getTracks()) t.stop();
  }
}
