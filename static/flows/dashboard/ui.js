// The page's small UI pieces: the side panel's tabs, the toast, the connection badge, the
// diagram's tools (freeze, fit, reset layout, the pointer over a token) and the hop rate.

import { plural } from "../helpers.js";

const $ = (id) => document.getElementById(id);

/** The side panel's tabs: click or arrow keys; ``show(name)`` for the other modules. */
export class Tabs {
  constructor(names) {
    this.names = names;
    for (const name of names) $(`tab-${name}`).addEventListener("click", () => this.show(name));
    $("side").querySelector("[role=tablist]").addEventListener("keydown", (event) => {
      const i = names.findIndex((t) => $(`tab-${t}`).getAttribute("aria-selected") === "true");
      const step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
      if (!step) return;
      const next = names[(i + step + names.length) % names.length];
      this.show(next);
      $(`tab-${next}`).focus();
    });
  }

  show(name) {
    for (const t of this.names) {
      $(`tab-${t}`).setAttribute("aria-selected", String(t === name));
      $(`panel-${t}`).hidden = t !== name;
    }
  }
}

/** A short message at the bottom of the page; a bad one stays longer. */
export class Toast {
  constructor(box) {
    this.box = box;
    this.timer = null;
  }

  show(text, tone = "") {
    this.box.textContent = text;
    this.box.dataset.tone = tone;
    this.box.hidden = false;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.box.hidden = true;
    }, tone === "bad" ? 6000 : 3000);
  }
}

const CONNECTION_TEXT = {
  open: "live",
  connecting: "connecting…",
  reconnecting: "reconnecting…",
  closed: "offline — reconnecting",
};

/** The live connection's badge in the header. */
export class ConnectionBadge {
  constructor(box) {
    this.box = box;
    this.open = false;
  }

  set(status) {
    this.box.dataset.state = status;
    this.box.querySelector(".conn-text").textContent = CONNECTION_TEXT[status] || status;
    this.open = status === "open";
  }
}

/**
 * The diagram's tools: Freeze (and the space bar), Fit, Reset layout, and a pointer
 * cursor over a token ("click to trace"). Returns ``freeze(frozen)``.
 */
export function bindStageTools({ graph, tokens }) {
  const freeze = (frozen) => {
    tokens.setFrozen(frozen);
    const button = $("anim-pause");
    button.setAttribute("aria-pressed", String(frozen));
    button.textContent = frozen ? "Unfreeze" : "Freeze";
  };
  $("anim-pause").addEventListener("click", () => freeze(tokens.frozenAt === null));
  document.addEventListener("keydown", (event) => {
    if (event.key !== " " || event.target.closest("input, textarea, select, button, [tabindex]")) return;
    event.preventDefault();
    freeze(tokens.frozenAt === null);
  });
  $("graph-fit").addEventListener("click", () => graph.refit());
  $("graph-reset").addEventListener("click", () => graph.forgetPositions());

  let hoverAt = 0;
  $("cy").addEventListener("mousemove", (event) => {
    const now = performance.now();
    if (now - hoverAt < 60) return;
    hoverAt = now;
    const box = $("cy").getBoundingClientRect();
    const hit = tokens.hitTest(event.clientX - box.left, event.clientY - box.top);
    $("stage").classList.toggle("over-token", Boolean(hit));
  });
  return freeze;
}

const SAMPLED_LINGER_MS = 2500; // "sampled" stays shown this long after the last sampled frame

/** Live hops per second, shown next to the accounting line every two seconds. */
export class RateMeter {
  constructor(box) {
    this.box = box;
    this.count = 0;
    this.since = performance.now();
    this.every = 0;
    this.sampledAt = -Infinity;
  }

  add(n) {
    this.count += n;
  }

  /** A sampled frame left ``skipped`` hops out; the server sends 1 in ``every``. */
  sampled(skipped, every) {
    this.count += skipped;
    this.every = every;
    this.sampledAt = performance.now();
  }

  /** N while the server sends 1 in N hop events, else 0. */
  samplingEvery() {
    return performance.now() - this.sampledAt < SAMPLED_LINGER_MS ? this.every : 0;
  }

  tick(running) {
    const now = performance.now();
    if (now - this.since < 2000) return;
    const rate = (this.count * 1000) / (now - this.since);
    const every = this.samplingEvery();
    const sampled = every ? ` · sampled: 1 in ${every}` : "";
    this.box.textContent = running ? `· ${plural(Math.round(rate), "hop")}/s${sampled}` : "";
    this.count = 0;
    this.since = now;
  }
}
