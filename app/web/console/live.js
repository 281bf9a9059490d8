// The operator event stream, shared by every view: new handoffs, status changes, messages.
// It keeps the waiting count in the page title and announces new handoffs (optionally with
// a short tone made by WebAudio, so no sound file is needed).
import { api, operatorEventsUrl } from "./api.js";
import { t } from "./i18n.js";
import { announce, toast } from "./ui.js";

const SOUND_KEY = "answerdesk.console.sound";
const TYPES = ["handoff", "status", "message", "rating"];

class Live extends EventTarget {
  constructor() {
    super();
    this.source = null;
    this.waiting = 0;
    this.unseen = 0;
    this.audio = null;
    this.connected = false;
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden) {
        this.unseen = 0;
        this.updateTitle();
      }
    });
  }

  start() {
    this.stop();
    this.refreshCount();
    // Reconnects by itself, sending Last-Event-ID so no event is missed.
    this.source = new EventSource(operatorEventsUrl());
    this.source.addEventListener("open", () => this.setConnected(true));
    this.source.addEventListener("error", () => {
      this.setConnected(false);
      if (this.source && this.source.readyState === EventSource.CLOSED) {
        // The server refused (a revoked token, a restart): check the session, then retry.
        api("/v1/console/me")
          .then(() => setTimeout(() => this.source && this.start(), 3000))
          .catch(() => this.stop());
      }
    });
    for (const type of TYPES) {
      this.source.addEventListener(type, (event) => this.receive(type, event));
    }
  }

  stop() {
    if (this.source) this.source.close();
    this.source = null;
    this.setConnected(false);
  }

  setConnected(value) {
    this.connected = value;
    this.dispatchEvent(new CustomEvent("connection", { detail: value }));
  }

  receive(type, event) {
    let data;
    try {
      data = JSON.parse(event.data);
    } catch {
      return;
    }
    if (type === "handoff") {
      if (document.hidden || !location.hash.startsWith("#/queue")) this.unseen += 1;
      const who = (data.customer && data.customer.name) || t("queue.anonymous");
      const text = t("live.newHandoff", { who, question: data.question || "" });
      announce(text);
      toast(text, "info");
      this.beep();
    }
    if (type === "handoff" || type === "status") this.refreshCount();
    this.dispatchEvent(new CustomEvent(type, { detail: data }));
  }

  async refreshCount() {
    try {
      const list = await api("/v1/handoffs", { query: { status: "waiting", limit: 1000 } });
      this.waiting = list.items.length;
    } catch {
      return;
    }
    this.updateTitle();
    this.dispatchEvent(new CustomEvent("count", { detail: this.waiting }));
  }

  updateTitle() {
    const base = t("title.console");
    const badge = this.source && this.waiting ? `(${this.waiting}${this.unseen ? "!" : ""}) ` : "";
    document.title = badge + base;
  }

  soundOn() {
    return localStorage.getItem(SOUND_KEY) === "on";
  }

  setSound(on) {
    localStorage.setItem(SOUND_KEY, on ? "on" : "off");
    if (on) this.beep(); // also unlocks audio: browsers allow it after a click
  }

  beep() {
    if (!this.soundOn()) return;
    try {
      this.audio = this.audio || new AudioContext();
      const now = this.audio.currentTime;
      const tone = this.audio.createOscillator();
      const gain = this.audio.createGain();
      tone.type = "sine";
      tone.frequency.setValueAtTime(880, now);
      tone.frequency.setValueAtTime(660, now + 0.12);
      gain.gain.setValueAtTime(0.0001, now);
      gain.gain.exponentialRampToValueAtTime(0.2, now + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + 0.3);
      tone.connect(gain).connect(this.audio.destination);
      tone.start(now);
      tone.stop(now + 0.32);
    } catch {
      // no audio device: the visual announcement is enough
    }
  }
}

export const live = new Live();
