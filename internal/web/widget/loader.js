/*
 * Greeter widget loader (SPEC §12.1). Customers embed it with
 *   <script async src="…/widget/v1/loader.js" data-site-key="pk_…"></script>
 *
 * It never blocks or breaks the host page: it runs async, catches every error
 * (console.debug only) and does nothing when loaded twice. It fetches the
 * site's config, keeps the visitor's WebSocket and joins, and loads the
 * greeting player after the page's load event. The only global it adds is
 * window.Greeter, which also accepts queued commands: Greeter('open'),
 * Greeter('minimize'), Greeter('destroy').
 */
(function () {
  'use strict';

  // Filled in by the server at start-up: module name → content-hashed file.
  var MODULES = {/*GREETER_ASSETS*/};

  var ACK_TIMEOUT_MS = 10000;
  var RECONNECT_MIN_MS = 1000;
  var RECONNECT_MAX_MS = 10000;
  var RATE_LIMITED_WAIT_MS = 30000;
  var HIDDEN_RELEASE_MS = 15 * 60 * 1000;
  // A stored call (SPEC §9): resumed at once when the page lost it less than
  // 30 s ago, offered with a Rejoin prompt up to 60 s, discarded after that.
  var RESUME_AUTO_MS = 30000;
  var RESUME_PROMPT_MS = 60000;
  // A record refreshed this recently still belongs to a page that is open
  // (the call module refreshes it every 5 s and releases it on pagehide).
  var CALL_HELD_MS = 10000;
  var TERMINAL_CODES = { 4102: 1, 4104: 1, 4105: 1, 4106: 1 };

  var script = document.currentScript;

  function debug() {
    try {
      console.debug.apply(console, ['greeter:'].concat([].slice.call(arguments)));
    } catch (e) { /* no console */ }
  }

  function guard(fn) {
    return function () {
      try {
        return fn.apply(this, arguments);
      } catch (err) {
        debug(err);
      }
    };
  }

  function shouldReconnect(code) {
    return (code >= 4000 && code <= 4099) || code === 1001 || code === 1006 ||
      (code >= 1011 && code <= 1013);
  }

  function isMobile() {
    var narrow = window.matchMedia('(max-width: 768px)').matches;
    var coarseOnly = window.matchMedia('(pointer: coarse)').matches &&
      !window.matchMedia('(any-pointer: fine)').matches;
    return narrow || coarseOnly;
  }

  function deviceAllowed(devices) {
    if (devices === 'desktop') return !isMobile();
    if (devices === 'mobile') return isMobile();
    return true;
  }

  function storageGet(store, key) {
    try {
      return window[store].getItem(key);
    } catch (e) {
      return null;
    }
  }

  function storageSet(store, key, value) {
    try {
      window[store].setItem(key, value);
    } catch (e) { /* storage blocked: the server issues a new id */ }
  }

  // tabID names this browser tab. It lives in sessionStorage, which a reload
  // or a navigation in the same tab keeps, so the tab knows its own call
  // record even when the page went without a pagehide (a crash).
  function tabID() {
    var id = storageGet('sessionStorage', 'greeter:tab');
    if (!id) {
      id = Math.random().toString(36).slice(2);
      storageSet('sessionStorage', 'greeter:tab', id);
    }
    return id;
  }

  // socketURL resolves the config's wsUrl against the server and makes sure it
  // names the site key.
  function socketURL(wsUrl, server, siteKey) {
    var u = new URL(wsUrl || '/ws/visitor', server);
    if (u.protocol === 'http:') u.protocol = 'ws:';
    if (u.protocol === 'https:') u.protocol = 'wss:';
    if (!u.searchParams.get('siteKey')) u.searchParams.set('siteKey', siteKey);
    return u.href;
  }

  /*
   * Core holds everything the UI modules need from the loader: the socket,
   * acked requests, the event feed, settings and module loading.
   */
  function Core(siteKey, server, base) {
    this.siteKey = siteKey;
    this.server = server; // e.g. "https://greeter.example.com"
    this.base = base; // ".../widget/v1/"
    this.settings = {};
    this.config = {};
    this.ws = null;
    this.joined = false;
    this.destroyed = false;
    this.released = false;
    this.attempt = 0;
    this.nextAck = 1;
    this.pending = {};
    this.backlog = [];
    this.listener = null;
    this.modules = {};
    this.firstOpenAt = 0;
    this.lastJoinedURL = '';
    this.visitorKey = 'greeter:visitor:' + siteKey;
    this.callKey = 'greeter:call:' + siteKey;
    this.callToken = null; // while set, a new connection resumes this call first
    this.storedCall = null; // {record, mode: 'resume'|'prompt'} found on load
    this.tabId = tabID();
    this.busy = function () { return false; }; // the call module overrides it
  }

  Core.prototype.connect = function () {
    if (this.destroyed || this.ws) return;
    clearTimeout(this.reconnectTimer);
    var self = this;
    var ws = new WebSocket(this.wsURL);
    this.ws = ws;
    ws.onopen = guard(function () {
      self.attempt = 0;
      if (!self.firstOpenAt) self.firstOpenAt = Date.now();
      if (self.callToken) self.resume();
      else self.join();
    });
    ws.onmessage = guard(function (msg) { self.receive(msg.data); });
    ws.onclose = guard(function (ev) { self.closed(ws, ev.code); });
  };

  Core.prototype.join = function () {
    var self = this;
    var data = { pageUrl: location.href };
    var visitorId = storageGet('sessionStorage', this.visitorKey);
    if (visitorId) data.visitorId = visitorId;
    this.lastJoinedURL = location.href;
    this.request('visitor:join', data).then(function (res) {
      self.joined = true;
      if (res.visitorId) storageSet('sessionStorage', self.visitorKey, res.visitorId);
    }, function (err) {
      debug('join failed', err.code, err.message);
    });
  };

  // resume sends call:reconnect as the connection's first event (SPEC §9). On
  // failure the call's record goes and the connection joins as a fresh visitor.
  Core.prototype.resume = function () {
    var self = this;
    var token = this.callToken;
    var stored = this.readCall();
    if (stored && stored.token !== token) {
      // Another page of this site has resumed the call with a newer token.
      this.callToken = null;
      this.emit('widget:call_moved', {});
      this.join();
      return;
    }
    this.lastJoinedURL = location.href;
    this.request('call:reconnect', { reconnectToken: token, pageUrl: location.href })
      .then(function (res) {
        self.joined = true;
        if (res.visitorId) storageSet('sessionStorage', self.visitorKey, res.visitorId);
        self.emit('widget:resumed', res);
      }, function (err) {
        if (err.code === 'DISCONNECTED') return; // the next connection tries again
        if (self.callToken === token) self.callToken = null;
        self.forgetCall(token);
        self.emit('widget:resume_failed', err);
        self.join();
      });
  };

  /** readCall returns the stored call record, or null. */
  Core.prototype.readCall = function () {
    try {
      var rec = JSON.parse(storageGet('localStorage', this.callKey) || 'null');
      if (rec && rec.callId && rec.token) return rec;
    } catch (e) { /* corrupt: treat as none */ }
    return null;
  };

  Core.prototype.writeCall = function (rec) {
    storageSet('localStorage', this.callKey, JSON.stringify(rec));
  };

  /** forgetCall removes the record; with a token, only if it is still that one. */
  Core.prototype.forgetCall = function (token) {
    var rec = this.readCall();
    if (token && rec && rec.token !== token) return;
    try {
      window.localStorage.removeItem(this.callKey);
    } catch (e) { /* storage blocked */ }
  };

  // checkStoredCall decides on load what a stored call means: resume it now,
  // offer to rejoin it, leave it to the page that holds it, or discard it.
  Core.prototype.checkStoredCall = function () {
    var rec = this.readCall();
    if (!rec) return;
    var age = Date.now() - Number(rec.lastConnectedAt || 0);
    if (rec.tab && rec.tab !== this.tabId && age >= 0 && age < CALL_HELD_MS) {
      return; // the call is open in another tab
    }
    if (!(age >= 0 && age < RESUME_PROMPT_MS)) {
      this.forgetCall();
      return;
    }
    var mode = age < RESUME_AUTO_MS ? 'resume' : 'prompt';
    this.storedCall = { record: rec, mode: mode };
    if (mode === 'resume') this.callToken = rec.token;
  };

  // rejoin re-sends visitor:join after an SPA navigation (SPEC §7.6).
  Core.prototype.rejoin = function () {
    if (!this.joined || location.href === this.lastJoinedURL) return;
    this.join();
  };

  Core.prototype.receive = function (raw) {
    var frame = JSON.parse(raw);
    if (frame.event === 'ack') {
      var waiter = this.pending[frame.ack];
      if (!waiter) return;
      delete this.pending[frame.ack];
      clearTimeout(waiter.timer);
      var data = frame.data || {};
      if (data.ok) waiter.resolve(data);
      else waiter.reject(data.error || { code: 'ERROR', message: '' });
      return;
    }
    var payload = frame.data || {};
    if (frame.event === 'agent:assigned' && payload.visitorId) {
      storageSet('sessionStorage', this.visitorKey, payload.visitorId);
    }
    if (frame.event === 'call:reconnected' && payload.reconnectToken) this.rotateToken(payload);
    this.emit(frame.event, payload);
  };

  // rotateToken keeps a resumed call's fresh token at once: the old one is
  // refused from now on, and the visitor may leave the page before the call
  // module has loaded and stored the new one.
  Core.prototype.rotateToken = function (data) {
    if (this.callToken) this.callToken = data.reconnectToken;
    var rec = this.readCall();
    if (!rec || rec.callId !== data.callId) return;
    rec.token = data.reconnectToken;
    rec.lastConnectedAt = Date.now();
    this.writeCall(rec);
  };

  // emit hands an event to the UI, or keeps it until the UI has loaded.
  Core.prototype.emit = function (event, data) {
    if (this.listener) this.listener(event, data);
    else this.backlog.push([event, data]);
  };

  /** listen sets the UI's event handler and replays what it missed. */
  Core.prototype.listen = function (fn) {
    this.listener = fn;
    var missed = this.backlog.splice(0);
    for (var i = 0; i < missed.length; i++) fn(missed[i][0], missed[i][1]);
  };

  /** send writes an event without an ack; false when not connected. */
  Core.prototype.send = function (event, data) {
    if (!this.ws || this.ws.readyState !== 1) return false;
    this.ws.send(JSON.stringify({ event: event, data: data || {} }));
    return true;
  };

  /** request sends an acked event: resolves with the result, rejects with {code, message}. */
  Core.prototype.request = function (event, data) {
    var self = this;
    return new Promise(function (resolve, reject) {
      var ack = self.nextAck++;
      if (!self.ws || self.ws.readyState !== 1) {
        reject({ code: 'DISCONNECTED', message: 'Not connected.' });
        return;
      }
      var timer = setTimeout(function () {
        delete self.pending[ack];
        reject({ code: 'TIMEOUT', message: 'No answer from the server.' });
      }, ACK_TIMEOUT_MS);
      self.pending[ack] = { resolve: resolve, reject: reject, timer: timer };
      self.ws.send(JSON.stringify({ event: event, data: data || {}, ack: ack }));
    });
  };

  Core.prototype.failPending = function () {
    var acks = Object.keys(this.pending);
    for (var i = 0; i < acks.length; i++) {
      var waiter = this.pending[acks[i]];
      clearTimeout(waiter.timer);
      waiter.reject({ code: 'DISCONNECTED', message: 'The connection dropped.' });
    }
    this.pending = {};
  };

  Core.prototype.closed = function (ws, code) {
    if (ws !== this.ws) return;
    this.ws = null;
    this.joined = false;
    this.failPending();
    if (this.destroyed || this.released) return;

    if (!shouldReconnect(code)) {
      if (code === 4104) {
        console.warn('Greeter: this page\'s origin is not in the site\'s allowed origins. ' +
          'Add ' + location.origin + ' to the site in Greeter\'s admin console.');
      } else if (!TERMINAL_CODES[code]) {
        debug('connection closed for good', code);
      }
      this.emit('widget:closed', { code: code, terminal: true });
      return;
    }

    this.emit('widget:closed', { code: code, terminal: false });
    var wait = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * Math.pow(2, this.attempt));
    wait = wait * (0.5 + Math.random());
    if (code === 4008) wait = Math.max(wait, RATE_LIMITED_WAIT_MS);
    this.attempt++;
    var self = this;
    this.reconnectTimer = setTimeout(guard(function () { self.connect(); }), wait);
  };

  Core.prototype.reconnectNow = function () {
    if (this.destroyed || this.released || this.ws || !this.reconnectTimer) return;
    this.connect();
  };

  // release closes an idle hidden tab's connection so that it does not hold
  // an agent's capacity; it rejoins when the tab is visible again.
  Core.prototype.watchVisibility = function () {
    var self = this;
    var timer = 0;
    document.addEventListener('visibilitychange', guard(function () {
      clearTimeout(timer);
      if (document.visibilityState === 'hidden') {
        timer = setTimeout(guard(function () {
          if (self.busy() || !self.ws) return;
          self.released = true;
          self.ws.close(1000, 'hidden');
          self.emit('widget:released', {});
        }), HIDDEN_RELEASE_MS);
      } else if (self.released) {
        self.released = false;
        self.connect();
      }
    }));
  };

  /** load imports a widget module once; resolves with its exports. */
  Core.prototype.load = function (name) {
    if (!this.modules[name]) {
      var url = this.base + MODULES[name];
      this.modules[name] = import(url);
    }
    return this.modules[name];
  };

  /** asset resolves a server-relative URL (a greeting video) to an absolute one. */
  Core.prototype.asset = function (url) {
    return url ? new URL(url, this.server).href : null;
  };

  Core.prototype.destroy = function () {
    this.destroyed = true;
    clearTimeout(this.reconnectTimer);
    this.failPending();
    if (this.ws) this.ws.close(1000, 'destroyed');
    this.ws = null;
    this.emit('widget:destroyed', {});
    var host = document.getElementById('greeter-widget');
    if (host) host.remove();
  };

  // watchHistory re-joins on SPA navigations.
  function watchHistory(core) {
    var again = guard(function () { setTimeout(guard(function () { core.rejoin(); }), 0); });
    ['pushState', 'replaceState'].forEach(function (name) {
      var original = history[name];
      if (typeof original !== 'function') return;
      history[name] = function () {
        var result = original.apply(this, arguments);
        again();
        return result;
      };
    });
    window.addEventListener('popstate', again);
  }

  function whenLoaded(fn) {
    if (document.readyState === 'complete') setTimeout(fn, 0);
    else window.addEventListener('load', fn, { once: true });
  }

  function start() {
    var previous = window.Greeter;
    if (previous && previous._loaded) return; // a second loader is a no-op
    if (!script || !script.src) return;

    var siteKey = script.getAttribute('data-site-key') || '';
    if (!/^pk_[A-Za-z0-9]{1,64}$/.test(siteKey)) {
      debug('missing or malformed data-site-key');
      return;
    }

    var src = new URL(script.src, location.href);
    var core = new Core(siteKey, src.origin, new URL('.', src).href);
    var ui = null;
    var queued = (previous && previous.q) ? [].slice.call(previous.q) : [];

    function command(name) {
      if (name === 'destroy') {
        core.destroy();
      } else if (name === 'open' || name === 'minimize') {
        if (ui) ui.command(name);
        else queued.push([name]);
      } else {
        console.warn('Greeter: unknown command "' + name + '"');
      }
    }

    var Greeter = function (name) {
      try {
        command(String(name));
      } catch (err) {
        debug(err);
      }
    };
    Greeter._loaded = true;
    Greeter._pc = null; // the call's RTCPeerConnection, for diagnostics
    window.Greeter = Greeter;
    core.widget = Greeter;

    fetch(src.origin + '/api/widget/config?siteKey=' + encodeURIComponent(siteKey), {
      credentials: 'omit',
      mode: 'cors',
    }).then(function (res) {
      if (!res.ok) throw new Error('config answered ' + res.status);
      return res.json();
    }).then(guard(function (cfg) {
      if (!cfg || !cfg.enabled) return;
      core.config = cfg;
      core.settings = cfg.settings || {};
      if (!deviceAllowed(core.settings.devices)) return;

      core.wsURL = socketURL(cfg.wsUrl, src.origin, siteKey);
      watchHistory(core);
      core.watchVisibility();
      window.addEventListener('online', guard(function () { core.reconnectNow(); }));
      core.checkStoredCall();
      // The Rejoin prompt connects once the visitor has chosen.
      if (!core.storedCall || core.storedCall.mode === 'resume') core.connect();

      whenLoaded(guard(function () {
        if (core.destroyed) return;
        core.load('greeting').then(function (mod) {
          if (core.destroyed) return;
          ui = mod.mount(core);
          var pending = queued.splice(0);
          for (var i = 0; i < pending.length; i++) command(String(pending[i][0]));
        }).catch(debug);
      }));
    })).catch(debug);

    // Commands queued before the loader ran (destroy applies at once).
    var early = queued.splice(0);
    for (var i = 0; i < early.length; i++) command(String(early[i][0]));
  }

  try {
    start();
  } catch (err) {
    debug(err);
  }
})();
