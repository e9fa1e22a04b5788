// The live connection: a websocket that reconnects with backoff, and the sequencer that
// hands hops on in seq order, exactly once, asking the server to resume over any gap.

const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 10000;
const RESUME_RETRY_MS = 3000; // a resume unanswered this long is asked again
const RESUME_MIN_GAP_MS = 1000; // never ask more often than this
const GAP_GIVE_UP_MS = 8000; // hops the database does not have: skip them, say so
const TAIL_WAIT_MS = 1500; // counters say seq N exists but no hop came: resume
const PENDING_MAX = 20000;

export function socketUrl(slug) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}/ws/topologies/${encodeURIComponent(slug)}/`;
}

/** A websocket that reconnects with exponential backoff (with jitter). */
export class LiveSocket {
  constructor(url, { onFrame, onStatus }) {
    this.url = url;
    this.onFrame = onFrame;
    this.onStatus = onStatus;
    this.ws = null;
    this.attempts = 0;
    this.holdUntil = 0;
    this.timer = null;
    this.connects = 0;
  }

  connect() {
    clearTimeout(this.timer);
    this.timer = null;
    this.onStatus(this.connects ? "reconnecting" : "connecting");
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.addEventListener("open", () => {
      this.attempts = 0;
      this.connects += 1;
      this.onStatus("open");
    });
    ws.addEventListener("message", (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return; // the server only sends JSON; ignore anything else
      }
      if (frame && typeof frame.type === "string") this.onFrame(frame);
    });
    ws.addEventListener("close", () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.onStatus("closed");
      this.scheduleReconnect();
    });
  }

  scheduleReconnect() {
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** this.attempts);
    const delay = base * (0.75 + Math.random() * 0.5);
    this.attempts += 1;
    const wait = Math.max(delay, this.holdUntil - Date.now());
    this.timer = setTimeout(() => this.connect(), wait);
  }

  get open() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  /** Send a frame; false when not connected (the caller tells the user). */
  send(frame) {
    if (!this.open) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  /** Test hook: close the socket and stay away at least ``holdMs``. */
  drop(holdMs = 0) {
    this.holdUntil = Date.now() + holdMs;
    if (this.ws) this.ws.close(4000, "dropped on purpose");
  }
}

/**
 * Orders the hops of one run by seq and delivers each exactly once.
 *
 * 1. Every hop with seq <= lastSeq, or already waiting, is a duplicate: dropped.
 * 2. Hops ahead of lastSeq + 1 wait in ``pending``; a gap asks the server to resume
 *    after lastSeq (the database has every hop), at most once per RESUME_MIN_GAP_MS.
 * 3. Counters carry the run's latest seq: if hops stop coming short of it (a lost final
 *    batch), the sequencer resumes too.
 * 4. A gap the server cannot fill within GAP_GIVE_UP_MS is skipped and counted as missed.
 * 5. A sampled live frame (``frame.sampled``) covers first_seq..last_seq: the hops of that
 *    range it does not carry were sampled out, not lost; they are passed over (counted
 *    in stats.sampled), never resumed. A trace still fetches them from the database.
 */
export class HopSequencer {
  constructor({ deliver, requestResume, now = () => performance.now() }) {
    this.deliver = deliver; // (entries: {hop, live}[]) => void
    this.requestResume = requestResume; // (run, afterSeq) => boolean
    this.now = now;
    this.run = null;
    this.lastSeq = 0;
    this.pending = new Map();
    this.resumeAskedAt = -Infinity;
    this.resumeOpen = false;
    this.gapSince = null;
    this.counterSeq = 0;
    this.progressAt = 0;
    this.stats = { delivered: 0, duplicates: 0, missed: 0, resumes: 0, sampled: 0 };
    this.covered = []; // [first, last] seq ranges of sampled frames not yet passed
  }

  reset(run, lastSeq) {
    this.run = run;
    this.lastSeq = lastSeq;
    this.pending.clear();
    this.covered = [];
    this.resumeOpen = false;
    this.resumeAskedAt = -Infinity;
    this.gapSince = null;
    this.counterSeq = lastSeq;
    this.progressAt = this.now();
  }

  /** Ask for everything after lastSeq now (after a reconnect, or to backfill). */
  resumeNow() {
    if (this.run === null) return;
    this.resumeAskedAt = -Infinity;
    this.askResume();
  }

  accept(frame) {
    if (this.run === null || frame.run > this.run) {
      // A run we did not hear start (its run frame was missed): take it from its start.
      this.reset(frame.run, 0);
    } else if (frame.run !== this.run) {
      return; // an older run
    }
    const live = !frame.resumed;
    const sampled = frame.sampled;
    if (sampled && sampled.last_seq > this.lastSeq) this.covered.push([sampled.first_seq, sampled.last_seq]);
    for (const hop of frame.hops) {
      if (!Number.isInteger(hop.seq) || hop.seq <= this.lastSeq || this.pending.has(hop.seq)) {
        this.stats.duplicates += 1;
        continue;
      }
      this.pending.set(hop.seq, { hop, live });
    }
    // The last frame of a resume answer says so (more: false): the answer is complete.
    if (frame.resumed && !frame.more) this.resumeOpen = false;
    this.drain();
    if (this.pending.size) {
      if (this.gapSince === null) this.gapSince = this.now();
      this.askResume();
    }
  }

  onCounters(run, seq) {
    if (run === this.run && Number.isInteger(seq)) this.counterSeq = Math.max(this.counterSeq, seq);
  }

  /** Called every few hundred ms: tail gaps, stuck gaps. */
  tick() {
    if (this.run === null) return;
    const now = this.now();
    if (this.pending.size) {
      // gapSince moves on whenever hops are delivered, so a long resume is not cut short.
      if (this.gapSince !== null && now - this.gapSince > GAP_GIVE_UP_MS) {
        this.skipGap();
      } else {
        this.askResume();
      }
      return;
    }
    if (this.counterSeq > this.lastSeq && now - this.progressAt > TAIL_WAIT_MS) this.askResume();
  }

  askResume() {
    const now = this.now();
    const since = now - this.resumeAskedAt;
    if (since < RESUME_MIN_GAP_MS || (this.resumeOpen && since < RESUME_RETRY_MS)) return;
    if (this.requestResume(this.run, this.lastSeq)) {
      this.resumeAskedAt = now;
      this.resumeOpen = true;
      this.stats.resumes += 1;
    }
  }

  skipGap() {
    const next = Math.min(...this.pending.keys());
    this.stats.missed += next - this.lastSeq - 1;
    this.lastSeq = next - 1;
    this.drain();
  }

  /** The end of a sampled range that holds ``seq``, or 0. */
  coveredTo(seq) {
    this.covered = this.covered.filter((range) => range[1] >= seq);
    const range = this.covered.find((r) => r[0] <= seq && seq <= r[1]);
    return range ? range[1] : 0;
  }

  drain() {
    const out = [];
    const from = this.lastSeq;
    for (;;) {
      const entry = this.pending.get(this.lastSeq + 1);
      if (entry !== undefined) {
        this.pending.delete(this.lastSeq + 1);
        this.lastSeq += 1;
        out.push(entry);
        continue;
      }
      // Sampled out: pass over to the range's next hop we have, or its end.
      const end = this.coveredTo(this.lastSeq + 1);
      if (!end) break;
      let next = this.lastSeq + 1;
      while (next <= end && !this.pending.has(next)) next += 1;
      this.stats.sampled += next - this.lastSeq - 1;
      this.lastSeq = next - 1;
    }
    if (this.lastSeq !== from) this.progressAt = this.now();
    if (out.length) {
      this.stats.delivered += out.length;
      this.deliver(out);
    }
    if (!this.pending.size) this.gapSince = null;
    else if (this.lastSeq !== from) this.gapSince = this.now();
    if (this.pending.size > PENDING_MAX) this.skipGap();
  }
}
