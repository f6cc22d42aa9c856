// The incoming-call modal: visitor facts, a countdown from expiresInMs, the
// looping ringtone, a flashing tab title and a system notification.
import { byId, flagOf, formatDuration } from './dom.js';

const TITLE_FLASH_MS = 1000;
const AFTER_DEADLINE_MS = 3000; // the server's call:cancelled normally comes first

export class IncomingCall {
  constructor(ringtone, { onAccept, onDecline }) {
    this.ringtone = ringtone;
    this.modal = byId('incoming');
    this.accept = byId('accept');
    this.decline = byId('decline');
    this.countdown = byId('countdown');
    this.request = null;
    this.timer = 0;
    this.titleTimer = 0;
    this.baseTitle = document.title;
    this.notification = null;

    this.accept.addEventListener('click', () => this.request && onAccept(this.request));
    this.decline.addEventListener('click', () => this.request && onDecline(this.request));
  }

  /** The requestId being rung, or null. */
  get requestId() {
    return this.request ? this.request.requestId : null;
  }

  /** Shows the modal for a call:incoming payload and starts ringing. */
  show(data) {
    this.stop();
    const visitor = data.visitor || {};
    const expiresInMs = Number(data.expiresInMs) || (Number(data.rnaSeconds) || 15) * 1000;
    this.request = {
      requestId: data.requestId,
      deadline: performance.now() + expiresInMs,
      connectedAt: Date.parse(visitor.connectedAt) || Date.now(),
    };

    byId('incoming-page').textContent = visitor.pageUrl || 'Unknown page';
    byId('incoming-location').textContent = describeLocation(visitor);
    byId('incoming-pool').textContent = visitor.poolName || '—';
    this.accept.disabled = false;
    this.decline.disabled = false;
    this.tick();
    this.timer = setInterval(() => this.tick(), 250);
    this.modal.hidden = false;
    this.accept.focus();

    this.ringtone.start();
    this.flashTitle();
    this.notify(visitor);
  }

  /** Disables the buttons while an answer is on its way. */
  busy() {
    this.accept.disabled = true;
    this.decline.disabled = true;
    this.silence();
  }

  tick() {
    const r = this.request;
    if (!r) return;
    const left = r.deadline - performance.now();
    this.countdown.textContent = String(Math.max(0, Math.ceil(left / 1000)));
    byId('incoming-time').textContent = formatDuration((Date.now() - r.connectedAt) / 1000);
    if (left < -AFTER_DEADLINE_MS) this.stop();
  }

  /** Stops ringing and hides the modal. */
  stop() {
    this.silence();
    clearInterval(this.timer);
    this.timer = 0;
    this.request = null;
    this.modal.hidden = true;
  }

  silence() {
    this.ringtone.stop();
    clearInterval(this.titleTimer);
    this.titleTimer = 0;
    document.title = this.baseTitle;
    this.notification?.close();
    this.notification = null;
  }

  flashTitle() {
    let on = false;
    this.titleTimer = setInterval(() => {
      on = !on;
      document.title = on ? '📞 Incoming call' : this.baseTitle;
    }, TITLE_FLASH_MS);
  }

  notify(visitor) {
    if (!('Notification' in window) || Notification.permission !== 'granted') return;
    try {
      this.notification = new Notification('Incoming call', {
        body: visitor.pageUrl || 'A visitor wants to talk',
        tag: 'greeter-incoming',
        requireInteraction: true,
      });
      this.notification.onclick = () => window.focus();
    } catch (err) {
      console.debug('greeter: notification failed', err);
    }
  }
}

function describeLocation(v) {
  const place = [v.city, v.region, v.country].filter(Boolean).join(', ');
  if (!place) return 'Unknown';
  const flag = flagOf(v.country);
  return flag ? `${flag} ${place}` : place;
}
