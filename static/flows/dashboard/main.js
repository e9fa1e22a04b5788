// The dashboard page's wiring: makes the parts (diagram, token overlay, log, inspector,
// publisher, controls, script), the live view that applies server frames to them, the
// socket, and the test hooks. What each part does lives in its own module.

import { Controls } from "./controls.js";
import { bindExports } from "./exports.js";
import { Graph } from "./graph.js";
import { DeliveryRecord, installTestHooks } from "./hooks.js";
import { Inspector } from "./inspector.js";
import { LiveView } from "./live.js";
import { EventLog } from "./log.js";
import { Publisher } from "./publish.js";
import { ScriptPanel } from "./script.js";
import { LiveSocket, socketUrl } from "./socket.js";
import { TokenLayer } from "./tokens.js";
import { bindStageTools, ConnectionBadge, RateMeter, Tabs, Toast } from "./ui.js";

const $ = (id) => document.getElementById(id);

function readJson(id, fallback) {
  const node = $(id);
  if (!node) return fallback;
  try {
    return JSON.parse(node.textContent);
  } catch {
    return fallback;
  }
}

function main() {
  const root = $("dashboard");
  const slug = root.dataset.slug;
  const tabs = new Tabs(["about", "node", "trace", "publish"]);
  const showTab = (name) => tabs.show(name);
  const toast = new Toast($("toast"));
  const say = (text, tone) => toast.show(text, tone);
  const connection = new ConnectionBadge($("conn-status"));

  let socket = null;
  const send = (frame) => (socket ? socket.send(frame) : false);
  let view = null; // the live view, made once the parts exist

  // The parts refer to each other through these callbacks, so the order they are made in
  // does not matter.
  let tokens = null;
  let controls = null;
  let inspector = null;
  const graph = new Graph($("cy"), {
    slug,
    onTap: (event) => {
      const pos = event.renderedPosition || event.position;
      const target = event.target;
      const onNode = target && target !== graph.cy && target.isNode && target.isNode();
      // On a node, a token must be hit squarely: the click is more likely meant for the node.
      const msg = pos && tokens ? tokens.hitTest(pos.x, pos.y, onNode ? 5 : 10) : null;
      if (msg && !msg.startsWith("synthetic-")) {
        inspector.open(msg);
        return;
      }
      if (onNode) controls.showNode(target.id());
    },
  });
  tokens = new TokenLayer($("overlay"), graph);
  tokens.start();

  const log = new EventLog({
    body: $("log-body"),
    scroll: $("log-scroll"),
    typeSelect: $("log-type"),
    stageSelect: $("log-stage"),
    nodeSelect: $("log-node"),
    pauseButton: $("log-pause"),
    countEl: $("log-count"),
    graph,
    onPick: (msg) => inspector.open(msg),
  });

  inspector = new Inspector({
    root: $("panel-trace"),
    graph,
    tokens,
    log,
    send,
    showTab,
    currentRun: () => (view ? view.runId() : null),
  });

  const publisher = new Publisher({
    graph,
    send,
    types: readJson("publish-types", []),
    onPublished: (msg) => inspector.open(msg, { retryEmpty: true }),
  });

  const staff = root.dataset.staff === "1";
  controls = new Controls({
    graph,
    send,
    toast: say,
    showTab,
    onPublishTo: (nodeId) => {
      publisher.selectChannel(nodeId);
      showTab("publish");
    },
  });
  controls.setStaff(staff);

  const script = new ScriptPanel({ root: $("script-panel"), list: $("script-steps"), toast: say });
  const freeze = bindStageTools({ graph, tokens });

  const record = new DeliveryRecord();
  view = new LiveView({
    parts: { graph, tokens, log, inspector, publisher, controls, script },
    send,
    toast,
    rate: new RateMeter($("acct-rate")),
    staff,
    // #node=<id> (links from the coupling report): open that node once the graph is drawn.
    openNode: decodeURIComponent((location.hash.match(/^#node=(.+)$/) || [])[1] || ""),
    observer: record,
  });

  socket = new LiveSocket(socketUrl(slug), {
    onFrame: (frame) => view.onFrame(frame),
    onStatus: (status) => connection.set(status),
  });
  const exporter = bindExports({ graph, tokens, slug, currentRun: () => view.runId(), toast: say });
  installTestHooks({ record, view, socket, connection, freeze, graph, tokens, exporter });
  socket.connect();
  setInterval(() => view.tick(), 250);
}

main();
