// Greeter widget UI and greeting player (SPEC §12.2-§12.8). Loaded by the
// loader after the host page's load event; it builds the widget in an open
// Shadow DOM under <div id="greeter-widget"> and drives its states. The call
// module (call.js) is loaded on the first camera or microphone click.

const BANNER_MS = 5000;
const INTRO_MEMORY_MS = 30 * 60 * 1000;
const INTRO_MEMORY_KEY = 'greeter:intro';
const LOAD_RETRIES = 2;
const DEFAULT_SETTINGS = {
  position: 'bottom-right',
  size: 'medium',
  theme: 'dark',
  triggerDelaySeconds: 3,
  autoHideSeconds: null,
  devices: 'all',
  showMinimizeButton: true,
};

const STYLES = `
:host { all: initial; }
.gw-root {
  --w: 320px; --bg: #111827; --fg: #f9fafb; --muted: #9ca3af; --btn: #1f2937;
  --btn-fg: #f9fafb; --line: rgba(255,255,255,.12); --accent: #14b8a6; --accent-fg: #042f2e;
  position: fixed; z-index: 2147483647; display: flex; flex-direction: column; gap: 10px;
  align-items: flex-end; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--fg); -webkit-font-smoothing: antialiased; max-width: calc(100vw - 24px);
}
.gw-root[data-theme="light"] {
  --bg: #ffffff; --fg: #111827; --muted: #6b7280; --btn: #f3f4f6; --btn-fg: #111827;
  --line: rgba(0,0,0,.08); --accent: #0f766e; --accent-fg: #ffffff;
}
.gw-root[data-size="small"] { --w: 260px; }
.gw-root[data-size="large"] { --w: 380px; }
.gw-root[data-position="bottom-right"] { right: 20px; bottom: 20px; }
.gw-root[data-position="bottom-left"] { left: 20px; bottom: 20px; align-items: flex-start; }
.gw-root[data-position="top-right"] { right: 20px; top: 20px; flex-direction: column-reverse; }
.gw-root[data-position="top-left"] {
  left: 20px; top: 20px; align-items: flex-start; flex-direction: column-reverse;
}
.gw-root[data-position="center"] {
  left: 50%; top: 50%; transform: translate(-50%, -50%); align-items: center;
}
.gw-root[data-state="hidden"] { display: none; }
[hidden] { display: none !important; }
* { box-sizing: border-box; }
.gw-card {
  width: var(--w); max-width: 100%; background: var(--bg); border-radius: 16px; overflow: hidden;
  box-shadow: 0 18px 50px rgba(0,0,0,.35), 0 0 0 1px var(--line);
  animation: gw-in .25s ease-out;
}
.gw-root[data-state="minimized"] .gw-card { display: none; }
.gw-ended .gw-remote, .gw-ended .gw-self, .gw-ended .gw-row { display: none !important; }
.gw-stage { position: relative; aspect-ratio: 4 / 3; background: #000; }
.gw-stage video { position: absolute; inset: 0; width: 100%; height: 100%; object-fit: cover; }
.gw-vid { visibility: hidden; }
.gw-vid.gw-greeting { visibility: visible; }
.gw-remote { background: #000; }
.gw-self {
  inset: auto 8px 8px auto !important; width: 30% !important; height: auto !important;
  aspect-ratio: 4 / 3; border-radius: 8px; border: 2px solid rgba(255,255,255,.7);
  transform: scaleX(-1); background: #1f2937;
}
.gw-still {
  position: absolute; inset: 0; display: grid; place-items: center; font-size: 56px;
  font-weight: 800; color: #fff; background: linear-gradient(135deg, #0f766e, #6366f1);
}
.gw-tag {
  position: absolute; left: 8px; top: 8px; padding: 2px 8px; border-radius: 999px;
  background: rgba(0,0,0,.55); color: #fff; font-size: 11px; letter-spacing: .02em;
}
.gw-live-badge { background: #dc2626; font-weight: 700; }
.gw-overlay {
  position: absolute; left: 50%; top: 50%; transform: translate(-50%, -50%);
  padding: 8px 14px; border-radius: 999px; border: 0; background: rgba(0,0,0,.65);
  color: #fff; font: inherit; font-weight: 600; cursor: pointer;
}
.gw-sound {
  position: absolute; right: 8px; bottom: 8px; padding: 4px 10px; border-radius: 999px;
  border: 0; background: rgba(0,0,0,.6); color: #fff; font: inherit; font-size: 12px;
  cursor: pointer;
}
.gw-min {
  position: absolute; right: 8px; top: 8px; width: 28px; height: 28px; border-radius: 50%;
  border: 0; background: rgba(0,0,0,.55); color: #fff; font: 700 16px/1 system-ui;
  cursor: pointer;
}
.gw-body { padding: 12px 14px 10px; }
.gw-title { font-size: 15px; margin: 0 0 2px; }
.gw-agent-name { font-weight: 700; }
.gw-avail { color: var(--muted); }
.gw-avail::before {
  content: ""; display: inline-block; width: 8px; height: 8px; border-radius: 50%;
  background: #22c55e; margin: 0 6px 1px 6px;
}
.gw-status { margin: 2px 0 0; font-weight: 600; }
.gw-hint { margin: 8px 0 0; color: var(--muted); font-size: 12px; }
.gw-row { display: flex; gap: 8px; margin-top: 10px; flex-wrap: wrap; }
.gw-btn {
  flex: 1 1 auto; display: inline-flex; align-items: center; justify-content: center; gap: 6px;
  padding: 9px 10px; border-radius: 10px; border: 1px solid var(--line); background: var(--btn);
  color: var(--btn-fg); font: inherit; font-weight: 600; cursor: pointer; min-height: 40px;
}
.gw-btn:disabled { opacity: .55; cursor: default; }
.gw-btn svg { width: 16px; height: 16px; flex: none; }
.gw-primary { background: var(--accent); color: var(--accent-fg); border-color: transparent; }
.gw-danger { background: #dc2626; color: #fff; border-color: transparent; }
button:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.gw-foot { margin-top: 10px; color: var(--muted); font-size: 11px; text-align: center; }
.gw-message {
  width: var(--w); max-width: 100%; padding: 10px 14px; border-radius: 12px;
  background: var(--bg); color: var(--fg);
  box-shadow: 0 8px 30px rgba(0,0,0,.3), 0 0 0 1px var(--line);
  font-weight: 600;
}
.gw-bubble {
  display: none; width: 72px; height: 72px; padding: 0; border-radius: 50%; overflow: hidden;
  border: 3px solid var(--accent); background: #000; cursor: pointer; position: relative;
  box-shadow: 0 10px 30px rgba(0,0,0,.35);
}
.gw-root[data-state="minimized"] .gw-bubble { display: block; }
.gw-bubble video { width: 100%; height: 100%; object-fit: cover; }
.gw-remote-sound { right: auto; left: 8px; }
.gw-notice {
  position: absolute; left: 10px; right: 10px; top: 50%; transform: translateY(-50%);
  padding: 10px 12px; border-radius: 12px; background: rgba(0,0,0,.72); color: #fff;
  text-align: center; font-weight: 600;
}
.gw-notice-count { display: block; margin-top: 2px; font-size: 12px; font-weight: 400; }
.gw-root[data-state="rejoin"] .gw-stage { display: none; }
.gw-rejoin { display: flex; gap: 12px; align-items: center; }
.gw-avatar {
  flex: none; width: 52px; height: 52px; border-radius: 50%; overflow: hidden;
  display: grid; place-items: center; font: 800 22px/1 system-ui; color: #fff;
  background: linear-gradient(135deg, #0f766e, #6366f1);
}
.gw-avatar img { width: 100%; height: 100%; object-fit: cover; }
@keyframes gw-in { from { opacity: 0; transform: translateY(8px); } to { opacity: 1; } }
@media (prefers-reduced-motion: reduce) { .gw-card { animation: none; } }
@media (max-width: 768px) {
  .gw-root[data-state="incall"] { inset: 0; transform: none; max-width: none; }
  .gw-root[data-state="incall"] .gw-card {
    width: 100%; height: 100%; border-radius: 0; display: flex; flex-direction: column;
  }
  .gw-root[data-state="incall"] .gw-stage { flex: 1; aspect-ratio: auto; }
}
`;

const ICON_CAMERA = '<svg viewBox="0 0 24 24" aria-hidden="true"><path fill="currentColor" ' +
  'd="M4 6h11a2 2 0 0 1 2 2v1.5l4-2.5v10l-4-2.5V16a2 2 0 0 1-2 2H4a2 2 0 0 1-2-2V8a2 2 0 0 1 ' +
  '2-2z"/></svg>';
const ICON_MIC = '<svg viewBox="0 0 24 24" aria-hidden="true"><path fill="currentColor" ' +
  'd="M12 14a3 3 0 0 0 3-3V5a3 3 0 0 0-6 0v6a3 3 0 0 0 3 3zm5-3a5 5 0 0 1-10 0H5a7 7 0 0 0 6 ' +
  '6.9V21h2v-3.1A7 7 0 0 0 19 11z"/></svg>';

const TEMPLATE = `
<div class="gw-root" data-state="hidden" data-position="bottom-right" data-size="medium"
     data-theme="dark">
  <div class="gw-message" role="status" aria-live="polite" hidden></div>
  <div class="gw-card" role="region" aria-label="Video greeting">
    <div class="gw-stage">
      <video class="gw-vid" data-role="wave" playsinline muted loop preload="auto"></video>
      <video class="gw-vid" data-role="intro" playsinline preload="none"></video>
      <video class="gw-vid" data-role="loop" playsinline loop preload="none"></video>
      <div class="gw-still" hidden></div>
      <video class="gw-remote" playsinline autoplay data-show="incall" hidden></video>
      <video class="gw-self" playsinline autoplay muted hidden></video>
      <span class="gw-tag gw-recorded" data-show="open minimized">Recorded greeting</span>
      <span class="gw-tag gw-live-badge" hidden>Live</span>
      <button class="gw-overlay" data-action="play" type="button" hidden>▶ Play greeting</button>
      <button class="gw-overlay" data-action="reload" type="button" hidden>Retry</button>
      <button class="gw-sound" data-action="sound" type="button" hidden>🔊 Tap for sound</button>
      <button class="gw-sound gw-remote-sound" data-action="remote-sound" type="button"
              hidden>🔊 Tap for sound</button>
      <div class="gw-notice" role="status" aria-live="polite" hidden>
        <span class="gw-notice-text"></span><span class="gw-notice-count"></span>
      </div>
      <button class="gw-min" data-action="minimize" type="button" data-show="open"
              aria-label="Minimize" title="Minimize">–</button>
    </div>
    <div class="gw-body">
      <p class="gw-title" data-show="open">
        <span class="gw-agent-name"></span><span class="gw-avail">available now</span>
      </p>
      <p class="gw-status" data-show="waiting giveup incall"></p>
      <div class="gw-rejoin" data-show="rejoin">
        <div class="gw-avatar"><img alt="" hidden><span class="gw-initial"></span></div>
        <div>
          <p class="gw-title">Your call with <span class="gw-agent-name"></span></p>
          <p class="gw-hint">The connection dropped. The call is held for you for
            <span class="gw-rejoin-left">60</span> s.</p>
        </div>
      </div>
      <div class="gw-row" data-show="rejoin">
        <button class="gw-btn gw-primary" data-action="rejoin" type="button">Rejoin</button>
        <button class="gw-btn" data-action="not-now" type="button">Not now</button>
      </div>
      <div class="gw-row" data-show="open">
        <button class="gw-btn gw-primary" data-action="camera" type="button">${ICON_CAMERA}
          Talk with camera</button>
        <button class="gw-btn" data-action="mic" type="button">${ICON_MIC}
          Talk with mic only</button>
      </div>
      <p class="gw-hint" data-show="open">Your browser will ask before using your camera or mic.</p>
      <div class="gw-row" data-show="incall">
        <button class="gw-btn" data-action="mute" type="button" aria-pressed="false">Mute</button>
        <button class="gw-btn" data-action="toggle-camera" type="button"
                aria-pressed="false">Camera off</button>
        <button class="gw-btn gw-danger" data-action="end" type="button">End</button>
      </div>
      <div class="gw-row" data-show="waiting giveup">
        <button class="gw-btn gw-primary" data-action="retry" type="button"
                data-show="giveup">Try again</button>
        <button class="gw-btn" data-action="cancel" type="button">Cancel</button>
      </div>
      <div class="gw-foot">Powered by Greeter</div>
    </div>
  </div>
  <button class="gw-bubble" data-action="expand" type="button">
    <video class="gw-bubble-video" playsinline muted loop preload="none"></video>
  </button>
</div>`;

/** Milliseconds since an RFC 3339 time, guarded against a skewed client clock. */
function elapsedSince(iso, fallbackStart) {
  const start = Date.parse(iso);
  const now = Date.now();
  if (Number.isNaN(start) || start > now || now - start > 3600 * 1000) {
    return fallbackStart ? now - fallbackStart : 0;
  }
  return now - start;
}

function prefersStill() {
  const reduce = window.matchMedia('(prefers-reduced-motion: reduce)').matches;
  const saveData = navigator.connection && navigator.connection.saveData;
  return reduce || saveData;
}

function readIntroMemory() {
  try {
    const m = JSON.parse(sessionStorage.getItem(INTRO_MEMORY_KEY) || 'null');
    if (m && Date.now() - m.at < INTRO_MEMORY_MS) return m;
  } catch (e) { /* storage blocked or corrupt */ }
  return null;
}

function writeIntroMemory(value) {
  try {
    if (value) sessionStorage.setItem(INTRO_MEMORY_KEY, JSON.stringify(value));
    else sessionStorage.removeItem(INTRO_MEMORY_KEY);
  } catch (e) { /* storage blocked */ }
}

/**
 * GreetingPlayer plays wave → intro → loop on three stacked videos (§12.3).
 * Only the playing video is visible (it carries the class gw-greeting).
 */
class GreetingPlayer {
  constructor(shadow) {
    this.wave = shadow.querySelector('[data-role=wave]');
    this.intro = shadow.querySelector('[data-role=intro]');
    this.loop = shadow.querySelector('[data-role=loop]');
    this.still = shadow.querySelector('.gw-still');
    this.soundButton = shadow.querySelector('[data-action=sound]');
    this.playButton = shadow.querySelector('[data-action=play]');
    this.reloadButton = shadow.querySelector('[data-action=reload]');
    this.all = [this.wave, this.intro, this.loop];
    this.agent = null;
    this.urls = null;
    this.phase = 'idle'; // idle | wave | intro | loop
    this.active = false;
    this.quietMode = false;
    this.sound = !!(navigator.userActivation && navigator.userActivation.hasBeenActive);
    this.wavePassed = false;
    this.waveTime = 0;
    this.errors = new Map();
    this.userStarted = false;

    this.wave.addEventListener('playing', () => this.prefetch());
    this.wave.addEventListener('timeupdate', () => this.watchWave());
    this.intro.addEventListener('ended', () => this.introEnded());
    for (const v of this.all) v.addEventListener('error', () => this.failed(v));
  }

  /** Loads an agent's videos; keeps playing if the player is active. */
  load(agent, urls) {
    const same = this.urls && JSON.stringify(this.urls) === JSON.stringify(urls) &&
      this.agent && this.agent.id === agent.id;
    this.agent = agent;
    if (same) return;
    this.urls = urls;
    this.reset();
    const initial = agent.displayName ? agent.displayName.trim().charAt(0).toUpperCase() : '';
    this.still.textContent = initial;
    if (this.active) this.begin();
  }

  reset() {
    for (const v of this.all) {
      v.pause();
      v.removeAttribute('src');
      v.classList.remove('gw-greeting');
      v.load();
    }
    this.phase = 'idle';
    this.wavePassed = false;
    this.waveTime = 0;
    this.errors.clear();
    this.still.hidden = true;
    this.soundButton.hidden = true;
    this.playButton.hidden = true;
    this.reloadButton.hidden = true;
  }

  /** Starts (or resumes) playback because the widget is on screen. */
  play() {
    this.active = true;
    this.quietMode = false;
    if (this.phase === 'idle') this.begin();
    else this.resume();
  }

  /** Keeps the greeting visible but silent (while a call is being placed). */
  quiet() {
    this.quietMode = true;
    for (const v of this.all) v.muted = true;
  }

  /** Pauses everything (widget hidden, minimized or in a call). */
  pause() {
    this.active = false;
    for (const v of this.all) v.pause();
  }

  /** Called on the first user activation: sound may now play. */
  unlockSound() {
    if (this.sound) return;
    this.sound = true;
    this.advance();
  }

  begin() {
    if (!this.urls || !this.urls.loop) return;
    if (prefersStill() && !this.userStarted) {
      this.setSrc(this.loop, this.urls.loop, 'metadata');
      this.show(this.loop);
      this.playButton.hidden = false;
      return;
    }

    const memory = readIntroMemory();
    const remembered = memory && this.agent && memory.agentId === this.agent.id &&
      JSON.stringify(memory.urls) === JSON.stringify(this.urls);
    if (remembered) {
      this.phase = 'loop';
      this.playLoop(this.sound && !this.quietMode);
    } else if (this.urls.wave) {
      this.phase = 'wave';
      this.setSrc(this.wave, this.urls.wave, 'auto');
      this.wave.muted = true;
      this.start(this.wave);
    } else {
      // No wave: the loop plays muted in its place until sound is allowed.
      this.phase = 'wave';
      this.wavePassed = true;
      this.playLoop(false);
      this.prefetch();
      this.advance();
    }
  }

  resume() {
    const current = this.all.find((v) => v.classList.contains('gw-greeting'));
    if (current && current.paused) this.start(current);
    this.advance();
  }

  setSrc(video, url, preload) {
    if (video.getAttribute('src') !== url) {
      video.preload = preload;
      video.src = url;
    }
  }

  // prefetch fetches the intro and loop once the wave plays.
  prefetch() {
    if (!this.urls) return;
    this.setSrc(this.intro, this.urls.intro, 'auto');
    if (this.urls.wave) this.setSrc(this.loop, this.urls.loop, 'auto');
  }

  // watchWave notices when the looping wave has completed one full pass.
  watchWave() {
    const t = this.wave.currentTime;
    if (t + 0.3 < this.waveTime || (this.wave.duration && t >= this.wave.duration - 0.15)) {
      this.wavePassed = true;
      this.advance();
    }
    this.waveTime = t;
  }

  // advance moves on to the intro once sound is allowed and the wave is done.
  advance() {
    if (!this.active || this.quietMode || !this.sound) return;
    if (this.phase === 'wave' && this.wavePassed) this.playIntro();
    else if (this.phase === 'loop' && this.loop.muted && this.soundButton.hidden) {
      this.playLoop(true);
    }
  }

  playIntro() {
    if (!this.urls.intro) {
      this.phase = 'loop';
      this.playLoop(true);
      return;
    }
    this.phase = 'intro';
    this.setSrc(this.intro, this.urls.intro, 'auto');
    this.intro.muted = false;
    this.intro.currentTime = 0;
    this.intro.play().then(() => this.show(this.intro), () => {
      // Sound refused: keep the loop going muted and offer a tap for sound.
      this.phase = 'loop';
      this.playLoop(false);
      this.soundButton.hidden = false;
    });
  }

  introEnded() {
    if (this.agent) writeIntroMemory({ agentId: this.agent.id, urls: this.urls, at: Date.now() });
    this.phase = 'loop';
    this.playLoop(!this.quietMode);
  }

  playLoop(withSound) {
    this.setSrc(this.loop, this.urls.loop, 'auto');
    this.loop.loop = true;
    this.loop.muted = !withSound;
    this.loop.play().then(() => this.show(this.loop), () => {
      if (!this.loop.muted) {
        this.loop.muted = true;
        this.soundButton.hidden = false;
        this.start(this.loop);
      } else {
        this.show(this.loop);
        this.playButton.hidden = false;
      }
    });
  }

  // start plays a muted video; a refusal shows the tap-to-play control.
  start(video) {
    video.play().then(() => {
      this.playButton.hidden = true;
      this.show(video);
    }, () => {
      this.show(video);
      this.playButton.hidden = false;
    });
  }

  show(video) {
    for (const v of this.all) {
      v.classList.toggle('gw-greeting', v === video);
      if (v !== video) v.pause();
    }
  }

  /** The visitor tapped "Play greeting" (autoplay refused or reduced motion). */
  userPlay() {
    this.userStarted = true;
    this.playButton.hidden = true;
    this.sound = true;
    if (this.phase === 'idle') this.begin();
    else this.resume();
  }

  /** The visitor tapped "Tap for sound". */
  userSound() {
    this.sound = true;
    this.soundButton.hidden = true;
    if (this.phase === 'loop' && !readIntroMemory()) this.playIntro();
    else this.playLoop(true);
  }

  failed(video) {
    if (!video.getAttribute('src')) return;
    const n = (this.errors.get(video) || 0) + 1;
    this.errors.set(video, n);
    if (n <= LOAD_RETRIES) {
      setTimeout(() => {
        video.load();
        if (this.active && video.classList.contains('gw-greeting')) this.start(video);
      }, 1000 * n);
      return;
    }
    this.still.hidden = false;
    this.reloadButton.hidden = false;
  }

  /** The visitor tapped Retry after repeated load errors. */
  retry() {
    const urls = this.urls;
    this.urls = null;
    this.load(this.agent, urls);
    this.begin();
  }
}

/** Widget is the state machine of §12.2 around the greeting player. */
class Widget {
  constructor(core) {
    this.core = core;
    this.settings = Object.assign({}, DEFAULT_SETTINGS, core.settings);
    this.state = 'hidden';
    this.agent = null;
    this.call = null;
    this.callLoading = null;
    this.revealTimer = 0;
    this.autoHideTimer = 0;
    this.messageTimer = 0;

    this.host = document.createElement('div');
    this.host.id = 'greeter-widget';
    this.shadow = this.host.attachShadow({ mode: 'open' });
    this.applyStyles();
    const tpl = document.createElement('template');
    tpl.innerHTML = TEMPLATE;
    this.shadow.appendChild(tpl.content);
    this.root = this.shadow.querySelector('.gw-root');
    this.player = new GreetingPlayer(this.shadow);
    this.bubbleVideo = this.shadow.querySelector('.gw-bubble-video');
    this.els = {
      remote: this.q('.gw-remote'),
      self: this.q('.gw-self'),
      live: this.q('.gw-live-badge'),
      status: this.q('.gw-status'),
      message: this.q('.gw-message'),
      mute: this.q('[data-action=mute]'),
      camera: this.q('[data-action=toggle-camera]'),
      end: this.q('[data-action=end]'),
      notice: this.q('.gw-notice'),
      remoteSound: this.q('[data-action=remote-sound]'),
    };
    document.body.appendChild(this.host);

    this.shadow.addEventListener('click', (e) => this.clicked(e));
    this.shadow.addEventListener('pointerdown', () => this.touched(), { passive: true });
    this.shadow.addEventListener('keydown', () => this.touched());
    document.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && this.state === 'open') this.minimize();
    });
    const unlock = (e) => {
      // A press on "Talk with…" allows sound but starts a call, not the intro.
      if (e.composedPath().some((el) => el.dataset && /^(camera|mic)$/.test(el.dataset.action))) {
        this.player.quiet();
      }
      this.player.unlockSound();
    };
    for (const name of ['pointerdown', 'keydown', 'touchend']) {
      document.addEventListener(name, unlock, { capture: true, passive: true });
    }
    this.applySettings(this.settings);
    this.setState('hidden');
    core.busy = () => !!(this.call && this.call.busy);
    const listen = () => core.listen((event, data) => this.onEvent(event, data));
    // A call stored by the previous page needs the call module before any
    // event: the loader keeps them until then.
    if (core.storedCall) this.resumeStoredCall(core.storedCall).then(listen);
    else listen();
  }

  q(selector) {
    return this.shadow.querySelector(selector);
  }

  applyStyles() {
    try {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(STYLES);
      this.shadow.adoptedStyleSheets = [sheet];
    } catch (e) {
      const style = document.createElement('style');
      style.textContent = STYLES;
      this.shadow.appendChild(style);
    }
  }

  applySettings(settings) {
    this.settings = Object.assign({}, DEFAULT_SETTINGS, this.core.settings, settings || {});
    const s = this.settings;
    this.root.dataset.position = s.position;
    this.root.dataset.size = s.size;
    this.root.dataset.theme = s.theme;
    this.q('[data-action=minimize]').classList.toggle('gw-off', s.showMinimizeButton === false);
    this.updateShown();
  }

  /** setState switches the visible state; data-state is the hook tests read. */
  setState(state) {
    this.state = state;
    this.root.dataset.state = state;
    this.root.classList.remove('gw-ended');
    this.updateShown();
    if (state === 'minimized') this.playBubble();
    else this.bubbleVideo.pause();
  }

  updateShown() {
    for (const el of this.shadow.querySelectorAll('[data-show]')) {
      const states = el.dataset.show.split(' ');
      el.hidden = !states.includes(this.state) || el.classList.contains('gw-off');
    }
  }

  setStatus(text) {
    this.els.status.textContent = text;
  }

  /** Shows a banner for 5 s; resolves when it is gone (or replaced). */
  message(text, ms = BANNER_MS) {
    const box = this.els.message;
    box.textContent = text;
    box.hidden = false;
    clearTimeout(this.messageTimer);
    return new Promise((resolve) => {
      this.messageTimer = setTimeout(() => {
        box.hidden = true;
        resolve();
      }, ms);
    });
  }

  command(name) {
    if (name === 'open' && this.agent && !this.busy()) this.open();
    if (name === 'minimize' && this.state === 'open') this.minimize();
  }

  busy() {
    return !!(this.call && this.call.busy);
  }

  onEvent(event, data) {
    switch (event) {
      case 'agent:assigned':
        this.assign(data.agent, data.settings);
        this.scheduleReveal(data.visitorConnectedAt);
        break;
      case 'agent:reassigned':
        this.reassigned(data);
        break;
      case 'agent:unavailable':
        this.unavailable(data);
        break;
      case 'org:paused':
        this.hide();
        break;
      case 'widget:closed':
        this.connectionClosed(data);
        break;
      case 'widget:released':
        if (!this.busy()) this.hide();
        break;
      case 'widget:destroyed':
        if (this.call) this.call.abort();
        this.player.pause();
        break;
      default:
        if (this.call) this.call.handle(event, data);
    }
  }

  assign(agent, settings) {
    if (!agent) return;
    this.agent = agent;
    if (settings) this.applySettings(settings);
    for (const el of this.shadow.querySelectorAll('.gw-agent-name')) {
      el.textContent = agent.displayName;
    }
    const card = this.q('.gw-card');
    card.setAttribute('aria-label', `Recorded video greeting from ${agent.displayName}`);
    this.q('.gw-bubble').setAttribute('aria-label', `Open the greeting from ${agent.displayName}`);
    const v = agent.videos || {};
    const urls = {
      wave: this.core.asset(v.wave),
      intro: this.core.asset(v.intro),
      loop: this.core.asset(v.loop),
    };
    this.player.load(agent, urls);
    if (this.state === 'minimized') this.playBubble();
  }

  reassigned(data) {
    const previous = data.previousAgentName;
    writeIntroMemory(null); // a new agent starts with their intro
    this.assign(data.agent, data.settings);
    if (this.call && this.call.handle('agent:reassigned', data)) return;
    if (data.reason === 'page_changed' || !previous) return;
    if (this.state === 'open' || this.state === 'minimized') {
      this.message(`${previous} had to step away. ${data.agent.displayName} is here for you now.`);
    }
  }

  unavailable(data) {
    if (this.call && this.call.handle('agent:unavailable', data)) return;
    clearTimeout(this.revealTimer);
    this.agent = null;
    const name = data.previousAgentName;
    if (name && (this.state === 'open' || this.state === 'minimized')) {
      this.player.pause();
      this.message(`${name} had to step away.`).then(() => {
        if (!this.agent) this.hide();
      });
      return;
    }
    this.hide();
  }

  connectionClosed(data) {
    if (this.call) this.call.connectionLost(data.terminal);
    if (data.terminal) {
      clearTimeout(this.revealTimer);
      this.agent = null;
      this.hide();
    }
  }

  // scheduleReveal shows the widget once what is left of the trigger delay,
  // counted from when the visitor connected, has passed.
  scheduleReveal(visitorConnectedAt) {
    if (this.state !== 'hidden') return;
    clearTimeout(this.revealTimer);
    const delayMs = Math.max(0, Number(this.settings.triggerDelaySeconds) || 0) * 1000;
    const left = Math.max(0, delayMs - elapsedSince(visitorConnectedAt, this.core.firstOpenAt));
    this.revealTimer = setTimeout(() => this.reveal(), left);
  }

  reveal() {
    if (!this.agent || this.state !== 'hidden') return;
    this.open();
    this.startAutoHide();
    const idle = window.requestIdleCallback || ((fn) => setTimeout(fn, 2000));
    idle(() => this.core.load('call').catch(() => {})); // prefetch the call module
  }

  open() {
    this.setState('open');
    this.player.play();
  }

  minimize() {
    clearTimeout(this.autoHideTimer);
    this.player.pause();
    this.setState('minimized');
  }

  hide() {
    clearTimeout(this.autoHideTimer);
    this.player.pause();
    this.setState('hidden');
  }

  playBubble() {
    const url = this.agent && this.core.asset(this.agent.videos && this.agent.videos.loop);
    if (!url) return;
    if (this.bubbleVideo.getAttribute('src') !== url) this.bubbleVideo.src = url;
    this.bubbleVideo.play().catch(() => {});
  }

  startAutoHide() {
    const secs = Number(this.settings.autoHideSeconds);
    if (!secs) return;
    clearTimeout(this.autoHideTimer);
    this.autoHideTimer = setTimeout(() => {
      if (this.state === 'open') this.minimize();
    }, secs * 1000);
  }

  touched() {
    clearTimeout(this.autoHideTimer);
  }

  clicked(e) {
    const button = e.target.closest && e.target.closest('[data-action]');
    if (!button || button.disabled) return;
    const action = button.dataset.action;
    switch (action) {
      case 'camera':
      case 'mic':
        this.startCall(action);
        break;
      case 'minimize':
        this.minimize();
        break;
      case 'expand':
        this.open();
        break;
      case 'play':
        this.player.userPlay();
        break;
      case 'sound':
        this.player.userSound();
        break;
      case 'reload':
        this.player.retry();
        break;
      default:
        if (this.call) this.call.action(action);
    }
  }

  loadCall() {
    if (!this.callLoading) {
      this.callLoading = this.core.load('call').then((mod) => {
        this.call = mod.createCall(this);
        return this.call;
      });
    }
    return this.callLoading;
  }

  /** Resumes, or offers to rejoin, the call the previous page was in (SPEC §9). */
  resumeStoredCall(stored) {
    return this.loadCall().then((call) => call.resume(stored.record, stored.mode), (err) => {
      this.callLoading = null;
      console.debug('greeter: call module failed to load', err);
      this.core.forgetCall();
      this.core.callToken = null;
      this.core.connect();
    });
  }

  /** Loads the call module on first use and starts a call with one device. */
  startCall(kind) {
    this.player.quiet();
    this.player.unlockSound();
    this.loadCall().then((call) => call.start(kind), (err) => {
      this.callLoading = null;
      console.debug('greeter: call module failed to load', err);
      this.message("That didn't work. Please try once more.");
      this.player.play();
    });
  }

  /** The call module reports that a call is over: minimize after its message. */
  callFinished() {
    this.player.quietMode = false;
    if (this.agent) this.minimize();
    else this.hide();
  }
}

/** mount builds the widget; the loader calls it once with its core. */
export function mount(core) {
  const widget = new Widget(core);
  return { command: (name) => widget.command(name) };
}
