// A ringtone made with WebAudio: a soft two-note chime every 2.5 s. Browsers
// only allow audio after a user gesture, so unlock() must run inside one
// (the workbench calls it when the agent presses "Go live").

const PATTERN_MS = 2500;
const NOTES = [
  { freq: 659.25, at: 0, length: 0.28 }, // E5
  { freq: 523.25, at: 0.3, length: 0.5 }, // C5
];

export class Ringtone {
  constructor() {
    this.ctx = null;
    this.timer = 0;
  }

  /** Creates or resumes the audio context; call from a user gesture. */
  unlock() {
    try {
      const Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) return;
      if (!this.ctx) this.ctx = new Ctx();
      if (this.ctx.state === 'suspended') this.ctx.resume().catch(() => {});
    } catch (err) {
      console.debug('greeter: ringtone unavailable', err);
    }
  }

  /** Starts ringing until stop(); does nothing while audio is locked. */
  start() {
    if (this.timer) return;
    this.chime();
    this.timer = setInterval(() => this.chime(), PATTERN_MS);
  }

  /** Stops ringing. */
  stop() {
    clearInterval(this.timer);
    this.timer = 0;
  }

  get ringing() {
    return this.timer !== 0;
  }

  chime() {
    const ctx = this.ctx;
    if (!ctx || ctx.state !== 'running') return;
    const start = ctx.currentTime + 0.02;
    for (const note of NOTES) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = 'sine';
      osc.frequency.value = note.freq;
      const t = start + note.at;
      gain.gain.setValueAtTime(0.0001, t);
      gain.gain.exponentialRampToValueAtTime(0.25, t + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t + note.length);
      osc.connect(gain).connect(ctx.destination);
      osc.start(t);
      osc.stop(t + note.length + 0.05);
    }
  }
}
