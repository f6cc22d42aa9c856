// The agent's camera and microphone, captured once and shared by the live
// preview and the call.

export class Media {
  constructor() {
    this.stream = null;
    this.pending = null;
    this.generation = 0; // bumped by stop(), so a late capture is released
  }

  /**
   * Returns the camera+mic stream, asking the browser on first use. Falls back
   * to the microphone alone, then to null, so a call can still receive.
   */
  camera() {
    if (this.stream && this.stream.getTracks().some((t) => t.readyState === 'live')) {
      return Promise.resolve(this.stream);
    }
    if (!this.pending) {
      const generation = this.generation;
      this.pending = capture().then((stream) => {
        if (generation !== this.generation) {
          if (stream) for (const t of stream.getTracks()) t.stop();
          return null;
        }
        this.stream = stream;
        this.pending = null;
        return stream;
      });
    }
    return this.pending;
  }

  /** Turns the tracks of one kind ("audio" or "video") on or off. */
  setEnabled(kind, on) {
    if (!this.stream) return;
    for (const t of this.stream.getTracks()) if (t.kind === kind) t.enabled = on;
  }

  /** Releases the camera and microphone. */
  stop() {
    this.generation++;
    this.pending = null;
    if (this.stream) for (const t of this.stream.getTracks()) t.stop();
    this.stream = null;
  }
}

async function capture() {
  if (!navigator.mediaDevices?.getUserMedia) return null;
  try {
    return await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
  } catch (err) {
    console.warn('greeter: camera unavailable, trying the microphone alone', err);
  }
  try {
    return await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch (err) {
    console.warn('greeter: microphone unavailable', err);
    return null;
  }
}
