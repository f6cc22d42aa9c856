// The workbench's WebSocket to /ws/agent: frames and acks (SPEC §4.2),
// acked requests with timeout and retries, and reconnects by close code (§4.4).

const ACK_TIMEOUT_MS = 5000;
const RETRY_BACKOFF_MS = [500, 1000, 2000];
const RECONNECT_MIN_MS = 1000;
const RECONNECT_MAX_MS = 10000;
const RATE_LIMITED_WAIT_MS = 30000;

/** Close codes after which the client reconnects on its own. */
export function shouldReconnect(code) {
  return (code >= 4000 && code <= 4099) || [1001, 1006, 1011, 1012, 1013].includes(code);
}

/** An acked request that failed: the server's error, or a local timeout. */
export class RequestError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

/**
 * AgentSocket keeps one connection open and reports what happens through
 * callbacks: onEvent(event, data), onOpen(), onDown(code) while it will
 * reconnect, and onTerminal(code) when it will not.
 */
export class AgentSocket {
  constructor(url, handlers) {
    this.url = url;
    this.handlers = handlers;
    this.ws = null;
    this.nextAck = 1;
    this.pending = new Map(); // ack number → {resolve, timer}
    this.attempt = 0;
    this.reconnectTimer = 0;
    this.stopped = false;
    this.terminal = false;
    window.addEventListener('online', () => this.reconnectNow());
  }

  /** Opens the connection (again). Safe to call after a terminal close. */
  connect() {
    this.stopped = false;
    this.terminal = false;
    clearTimeout(this.reconnectTimer);
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) return;

    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.onopen = () => {
      this.attempt = 0;
      this.handlers.onOpen?.();
    };
    ws.onmessage = (msg) => this.receive(msg.data);
    ws.onclose = (ev) => this.closed(ws, ev.code);
  }

  /** Closes for good (logout). */
  close() {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    this.ws?.close(1000, 'bye');
  }

  /** Whether frames can be sent right now. */
  get isOpen() {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  /** Sends an event without an ack; returns false when not connected. */
  send(event, data = {}) {
    return this.write({ event, data });
  }

  /**
   * Sends an acked event and resolves with the ack's result. Without an answer
   * within 5 s it tries again with the same ack number (the server replays its
   * reply for a repeated number), up to 3 tries with 0.5/1/2 s pauses. A
   * failure answered by the server rejects at once with its code and message.
   */
  async request(event, data = {}) {
    const ack = this.nextAck++;
    for (let attempt = 0; attempt < RETRY_BACKOFF_MS.length; attempt++) {
      if (attempt > 0) await sleep(RETRY_BACKOFF_MS[attempt - 1]);
      const reply = await this.tryOnce(ack, event, data);
      if (!reply) continue;
      if (reply.ok) return reply;
      const err = reply.error || {};
      throw new RequestError(err.code || 'ERROR', err.message || 'That did not work.');
    }
    throw new RequestError('TIMEOUT', 'Greeter did not answer in time. Please try again.');
  }

  tryOnce(ack, event, data) {
    return new Promise((resolve) => {
      if (!this.write({ event, data, ack })) {
        resolve(null);
        return;
      }
      const timer = setTimeout(() => {
        this.pending.delete(ack);
        resolve(null);
      }, ACK_TIMEOUT_MS);
      this.pending.set(ack, { resolve, timer });
    });
  }

  write(frame) {
    if (!this.isOpen) return false;
    try {
      this.ws.send(JSON.stringify(frame));
      return true;
    } catch {
      return false;
    }
  }

  receive(raw) {
    let frame;
    try {
      frame = JSON.parse(raw);
    } catch {
      console.warn('greeter: ignoring a frame that is not JSON');
      return;
    }
    if (frame.event === 'ack') {
      const waiter = this.pending.get(frame.ack);
      if (!waiter) return;
      this.pending.delete(frame.ack);
      clearTimeout(waiter.timer);
      waiter.resolve(frame.data || { ok: false });
      return;
    }
    this.handlers.onEvent(frame.event, frame.data || {});
  }

  closed(ws, code) {
    if (ws !== this.ws) return; // an old socket we already replaced
    this.ws = null;
    if (this.stopped) return;
    if (!shouldReconnect(code)) {
      this.terminal = true;
      this.handlers.onTerminal?.(code);
      return;
    }

    this.handlers.onDown?.(code);
    const base = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** this.attempt);
    let wait = base * (0.5 + Math.random()); // ±50 % jitter
    if (code === 4008) wait = Math.max(wait, RATE_LIMITED_WAIT_MS);
    this.attempt++;
    this.reconnectTimer = setTimeout(() => this.connect(), wait);
  }

  reconnectNow() {
    if (this.stopped || this.terminal || this.ws) return;
    this.connect();
  }
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
