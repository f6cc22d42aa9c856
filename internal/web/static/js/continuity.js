// Call continuity on the workbench (SPEC §9): the call's record in
// localStorage, so that a reload, a dropped connection or a server restart
// can resume the call with its reconnect token.

const REFRESH_MS = 5000;
const FRESH_MS = 30000; // the agent's rejoin window

/**
 * CallRecord keeps {callId, token, lastConnectedAt, callLogId, startedAt}
 * under greeter:call:<agentId>. lastConnectedAt moves only while the socket
 * is open, so after a reload it tells how long the server has been without
 * this agent. isConnected() says whether the socket is open right now.
 */
export class CallRecord {
  constructor(agentId, isConnected) {
    this.key = `greeter:call:${agentId}`;
    this.isConnected = isConnected;
    this.token = null; // the token this tab last wrote
    this.memory = null; // used when localStorage is unavailable
    this.timer = 0;
    window.addEventListener('pagehide', () => this.touch());
  }

  /** The stored record, or null. */
  read() {
    let rec;
    try {
      rec = JSON.parse(localStorage.getItem(this.key));
    } catch {
      rec = this.memory; // storage refused or a damaged entry
    }
    if (!rec || typeof rec.callId !== 'string' || typeof rec.token !== 'string') return null;
    return rec;
  }

  /**
   * Stores a call's fresh token; fields not given are kept from the stored
   * record of the same call. Refreshes lastConnectedAt every 5 s from now on.
   */
  hold(call) {
    const old = this.read();
    const same = old && old.callId === call.callId ? old : {};
    this.write({ ...same, ...call, lastConnectedAt: Date.now() });
    clearInterval(this.timer);
    this.timer = setInterval(() => this.touch(), REFRESH_MS);
  }

  /** Notes that the socket is open now, unless another tab took the call. */
  touch() {
    const rec = this.read();
    if (!rec || rec.token !== this.token) {
      clearInterval(this.timer); // the call ended, or moved to another tab
      return;
    }
    if (this.isConnected()) this.write({ ...rec, lastConnectedAt: Date.now() });
  }

  /** Whether the record was connected within the agent's rejoin window. */
  fresh(rec) {
    return Date.now() - Number(rec.lastConnectedAt) < FRESH_MS;
  }

  /** Forgets the call: it ended, or it cannot be resumed. */
  clear() {
    clearInterval(this.timer);
    this.token = null;
    this.memory = null;
    try {
      localStorage.removeItem(this.key);
    } catch {
      // nothing stored, nothing to remove
    }
  }

  write(rec) {
    this.token = rec.token;
    this.memory = rec;
    try {
      localStorage.setItem(this.key, JSON.stringify(rec));
    } catch (err) {
      console.debug('greeter: call record kept in memory only', err);
    }
  }
}
