// Client idle auto-away (SPEC §13): a live agent outside a call who has not
// moved, typed, scrolled or touched for 5 min is set Away. A hidden tab first
// asks "Are you still at your desk?" and waits 60 s for any sign of life.

const IDLE_MS = 5 * 60 * 1000;
const HIDDEN_GRACE_MS = 60 * 1000;
const CHECK_MS = 10 * 1000;
const ACTIVITY = ['pointermove', 'pointerdown', 'keydown', 'scroll', 'touchstart', 'wheel'];

export class IdleWatch {
  /** isAvailable() says whether auto-away applies now; goAway() acts on it. */
  constructor({ isAvailable, goAway }) {
    this.isAvailable = isAvailable;
    this.goAway = goAway;
    this.lastActivity = Date.now();
    this.promptedAt = 0;
    this.notification = null;

    const touch = () => this.activity();
    for (const name of ACTIVITY) window.addEventListener(name, touch, { passive: true });
    setInterval(() => this.check(), CHECK_MS);
  }

  activity() {
    this.lastActivity = Date.now();
    this.promptedAt = 0;
    this.notification?.close();
    this.notification = null;
  }

  check() {
    const now = Date.now();
    if (!this.isAvailable()) {
      this.activity();
      return;
    }
    if (now - this.lastActivity < IDLE_MS) return;

    if (document.visibilityState === 'visible') {
      this.fire();
    } else if (!this.promptedAt) {
      this.promptedAt = now;
      this.ask();
    } else if (now - this.promptedAt >= HIDDEN_GRACE_MS) {
      this.fire();
    }
  }

  fire() {
    this.activity();
    this.goAway();
  }

  ask() {
    if (!('Notification' in window) || Notification.permission !== 'granted') return;
    try {
      this.notification = new Notification('Are you still at your desk?', {
        body: 'Greeter will set you to Away in a minute.',
        tag: 'greeter-idle',
      });
      this.notification.onclick = () => {
        window.focus();
        this.activity();
      };
    } catch (err) {
      console.debug('greeter: notification failed', err);
    }
  }
}
