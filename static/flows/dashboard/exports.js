// Exports from the dashboard, for slides and bug reports: the diagram as SVG or PNG, a
// WebM clip of the animation (diagram and moving tokens, recorded in the browser), and
// the link to the current run's hops as JSON Lines.

import cytoscape from "../../vendor/cytoscape-3.35.0.esm.min.js";

const $ = (id) => document.getElementById(id);

function save(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

let svgReady = null;

/** cytoscape-svg is a classic (UMD) script: load it on first use, then register it. */
function loadSvgExtension(src) {
  if (!svgReady) {
    svgReady = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = src;
      script.onload = () => {
        cytoscape.use(window.cytoscapeSvg);
        resolve();
      };
      script.onerror = () => {
        svgReady = null;
        reject(new Error("the SVG exporter did not load"));
      };
      document.head.append(script);
    });
  }
  return svgReady;
}

const WEBM_TYPES = ["video/webm;codecs=vp9", "video/webm;codecs=vp8", "video/webm"];

export class Exporter {
  constructor({ graph, tokens, slug, svgSrc, currentRun }) {
    this.graph = graph;
    this.tokens = tokens;
    this.slug = slug;
    this.svgSrc = svgSrc;
    this.currentRun = currentRun;
    this.recording = null;
  }

  background() {
    return this.graph.colors.bg || "#ffffff";
  }

  /** The whole diagram as a PNG blob (Cytoscape's own renderer, 2x for sharp slides). */
  png() {
    return this.graph.cy.png({ full: true, scale: 2, bg: this.background(), output: "blob" });
  }

  /** The whole diagram as SVG text (vector: edit it, scale it). */
  async svg() {
    await loadSvgExtension(this.svgSrc);
    return this.graph.cy.svg({ full: true, scale: 1, bg: this.background() });
  }

  async savePng() {
    save(this.png(), `${this.slug}.png`);
  }

  async saveSvg() {
    save(new Blob([await this.svg()], { type: "image/svg+xml" }), `${this.slug}.svg`);
  }

  /**
   * Record ``seconds`` of the animation at ``speed`` (0.25 = quarter speed) as a WebM blob.
   *
   * Cytoscape draws on a few stacked canvases and the tokens on one more; each frame they
   * are composited, in page order, onto one canvas whose stream MediaRecorder encodes.
   * The speed scales the tokens' animation clock while recording, so a clip at 0.25x
   * shows each message moving four times slower.
   */
  record({ seconds = 5, speed = 1, fps = 30 } = {}) {
    if (this.recording) return Promise.reject(new Error("already recording"));
    const type = WEBM_TYPES.find((t) => window.MediaRecorder && MediaRecorder.isTypeSupported(t));
    if (!type) return Promise.reject(new Error("this browser cannot record WebM"));
    const container = this.graph.container;
    const dpr = window.devicePixelRatio || 1;
    const box = container.getBoundingClientRect();
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(2, Math.round(box.width * dpr));
    canvas.height = Math.max(2, Math.round(box.height * dpr));
    const ctx = canvas.getContext("2d");
    const layers = () => [...container.querySelectorAll("canvas"), this.tokens.canvas];
    const paint = () => {
      ctx.fillStyle = this.background();
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      for (const layer of layers()) {
        if (layer.width && layer.height) ctx.drawImage(layer, 0, 0, canvas.width, canvas.height);
      }
    };
    paint();
    const stream = canvas.captureStream(fps);
    const recorder = new MediaRecorder(stream, { mimeType: type, videoBitsPerSecond: 4_000_000 });
    const chunks = [];
    recorder.ondataavailable = (event) => {
      if (event.data && event.data.size) chunks.push(event.data);
    };
    const scale = this.tokens.timeScale;
    this.tokens.setTimeScale(speed);
    let frame = 0;
    const loop = () => {
      paint();
      frame = requestAnimationFrame(loop);
    };
    frame = requestAnimationFrame(loop);
    this.recording = new Promise((resolve, reject) => {
      recorder.onstop = () => {
        cancelAnimationFrame(frame);
        this.tokens.setTimeScale(scale);
        for (const track of stream.getTracks()) track.stop();
        this.recording = null;
        resolve(new Blob(chunks, { type: "video/webm" }));
      };
      recorder.onerror = (event) => {
        this.recording = null;
        reject(event.error || new Error("recording failed"));
      };
    });
    recorder.start(250);
    setTimeout(() => recorder.state !== "inactive" && recorder.stop(), seconds * 1000);
    return this.recording;
  }

  async saveClip(options) {
    const blob = await this.record(options);
    save(blob, `${this.slug}-${options.seconds}s-${options.speed}x.webm`);
    return blob;
  }

  /** Where the current run's hops download from (null before the first run). */
  hopsUrl() {
    const run = this.currentRun();
    return run ? `/topologies/${this.slug}/runs/${run}/hops.jsonl` : null;
  }
}

/** Wire the export buttons of the page (any missing one is skipped). */
export function bindExports({ graph, tokens, slug, currentRun, toast }) {
  const svgButton = $("export-svg");
  const exporter = new Exporter({
    graph,
    tokens,
    slug,
    svgSrc: svgButton ? svgButton.dataset.src : "",
    currentRun,
  });
  const fail = (error) => toast(`Export failed: ${error.message || error}`, "bad");
  if (svgButton) svgButton.addEventListener("click", () => exporter.saveSvg().catch(fail));
  const pngButton = $("export-png");
  if (pngButton) pngButton.addEventListener("click", () => exporter.savePng().catch(fail));
  const clipButton = $("export-clip");
  if (clipButton) {
    clipButton.addEventListener("click", async () => {
      const seconds = Math.min(120, Math.max(1, Number($("clip-seconds").value) || 5));
      const speed = Number($("clip-speed").value) || 1;
      clipButton.disabled = true;
      clipButton.textContent = `Recording ${seconds} s…`;
      try {
        const blob = await exporter.saveClip({ seconds, speed });
        toast(`Clip saved (${Math.round(blob.size / 1024)} KB)`);
      } catch (error) {
        fail(error);
      } finally {
        clipButton.disabled = false;
        clipButton.textContent = "Record clip";
      }
    });
  }
  const hopsLink = $("export-hops");
  if (hopsLink) {
    const refresh = () => {
      const url = exporter.hopsUrl();
      hopsLink.hidden = !url;
      if (url) hopsLink.href = url;
    };
    refresh();
    setInterval(refresh, 1000);
  }
  return exporter;
}
