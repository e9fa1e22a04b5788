// window.__eventviz: what the browser tests and benchmarks read and do (and anyone curious
// in the console). Nothing else in the dashboard reads it.

const SEQ_RECORD_MAX = 200000;

/** What the tests check about delivery: hops seen, their seqs in order, error frames. */
export class DeliveryRecord {
  constructor() {
    this.hopsSeen = 0;
    this.seqs = [];
    this.errors = [];
    this.runId = null;
  }

  delivered(hops) {
    this.hopsSeen += hops.length;
    for (const hop of hops) if (this.seqs.length < SEQ_RECORD_MAX) this.seqs.push(hop.seq);
  }

  runStarted(run) {
    this.runId = run ? run.id : null;
    this.seqs.length = 0;
  }

  error(message) {
    this.errors.push(message);
  }
}

/** Frames per second of requestAnimationFrame over ``ms``, with tokens in flight. */
function measureFps(tokens, ms) {
  return new Promise((resolve) => {
    let frames = 0;
    let minTokens = Infinity;
    let maxTokens = 0;
    let worst = 0;
    let last = null;
    let start = null;
    const step = (now) => {
      if (start === null) start = now;
      if (last !== null) worst = Math.max(worst, now - last);
      last = now;
      frames += 1;
      minTokens = Math.min(minTokens, tokens.stats.inFlight);
      maxTokens = Math.max(maxTokens, tokens.stats.inFlight);
      if (now - start < ms) requestAnimationFrame(step);
      else resolve({ fps: ((frames - 1) * 1000) / (now - start), frames, minTokens, maxTokens, worstFrameMs: worst });
    };
    requestAnimationFrame(step);
  });
}

/**
 * What the diagram shows where, in rendered pixels from the diagram's top left corner:
 * each node's name, each edge's label (as cytoscape lays them out), each badge the overlay
 * drew in its last frame, and the rendered size of a node name's font.
 */
function diagramBoxes(graph, tokens) {
  const only = { includeNodes: false, includeEdges: false, includeLabels: true };
  const box = (b) => ({ x1: b.x1, y1: b.y1, x2: b.x2, y2: b.y2 });
  const cy = graph.cy;
  return {
    zoom: cy.zoom(),
    nodeFontPx: parseFloat(cy.nodes().first().style("font-size")) * cy.zoom(),
    nodeLabels: cy.nodes().map((n) => ({ id: n.id(), text: n.data("display"), ...box(n.renderedBoundingBox(only)) })),
    edgeLabels: cy
      .edges()
      .filter((e) => Boolean(e.data("display")))
      .map((e) => ({ id: e.id(), text: e.data("display"), ...box(e.renderedBoundingBox(only)) })),
    badges: tokens.badgeBoxes.map((b) => ({ ...b })),
    view: { width: cy.width(), height: cy.height() },
  };
}

export function installTestHooks({ record, view, socket, connection, freeze, graph, tokens, exporter }) {
  const sequencer = view.sequencer;
  const cyBox = () => document.getElementById("cy").getBoundingClientRect();
  const findNode = (label) => graph.data.nodes.find((n) => n.label === label || n.id === label) || null;
  const hooks = {
    dropSocket: (holdMs = 0) => socket.drop(holdMs),
    freeze,
    counters: () => view.counters,
    edgeLabels: () => graph.data.edges.map((e) => e.label),
    node: findNode,
    nodeStats: (label) => {
      const node = findNode(label);
      return node && view.counters && view.counters.nodes ? view.counters.nodes[node.id] || {} : {};
    },
    nodeCenter: (label) => {
      const node = findNode(label);
      if (!node) return null;
      const p = graph.cy.getElementById(node.id).renderedPosition();
      const box = cyBox();
      return { x: box.left + p.x, y: box.top + p.y };
    },
    tokenPoints: () => {
      const box = cyBox();
      const out = [];
      for (let i = 0; i < tokens.hitList.length; i += 3) {
        out.push({ x: box.left + tokens.hitList[i], y: box.top + tokens.hitList[i + 1], msg: tokens.hitList[i + 2] });
      }
      return out;
    },
    tokenColour: (hop) => tokens.colourOf(hop),
    diagramBoxes: () => diagramBoxes(graph, tokens),
    injectTokens: (count = 500, ms = 3000) => tokens.inject(count, ms),
    measureFps: (ms = 3000) => measureFps(tokens, ms),
    graph,
    tokens,
    exporter,
  };
  const readings = {
    connected: () => connection.open,
    hopsSeen: () => record.hopsSeen,
    runId: () => record.runId,
    seqs: () => record.seqs,
    errors: () => record.errors,
    lastSeq: () => sequencer.lastSeq,
    pending: () => sequencer.pending.size,
    duplicates: () => sequencer.stats.duplicates,
    missed: () => sequencer.stats.missed,
    resumes: () => sequencer.stats.resumes,
    tokensDrawn: () => tokens.stats.drawn,
    tokensSpawned: () => tokens.stats.spawned,
    tokensInFlight: () => tokens.stats.inFlight,
    pulses: () => tokens.stats.pulses,
    denseEdges: () => [...tokens.dense.keys()],
  };
  for (const [name, get] of Object.entries(readings)) {
    Object.defineProperty(hooks, name, { get, enumerable: true });
  }
  window.__eventviz = hooks;
  return hooks;
}
