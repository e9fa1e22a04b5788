// The publish editor: pick a channel and a message type, edit the JSON (prefilled with an
// example built from the type's JSON Schema), validated as JSON before it is sent. Under
// the JSON it says which envelope the server will send (type, kind, source), before it is
// sent: the JSON's detail-type wins, and the type list follows it.

import { element } from "../helpers.js";
import { publishFrame } from "./protocol.js";

const CUSTOM = "";
// What the server puts in an envelope the JSON leaves out (flows/services.py envelope_build).
const DEFAULT_TYPE = "TestMessage";
const DEFAULT_SOURCE = "eventviz.client";

/**
 * The envelope the server will build from ``message`` (a parsed JSON object), by the same
 * rules as flows/services.py envelope_build: a JSON with ``detail`` or ``detail-type`` is an
 * envelope, anything else is the detail of a ``TestMessage``. ``types``: the topology's
 * message types ({name, kind, version, source}).
 */
export function envelopeFor(message, types) {
  const isEnvelope = "detail" in message || "detail-type" in message;
  const named = isEnvelope && message["detail-type"] !== undefined ? String(message["detail-type"]) : "";
  const versions = types.filter((t) => t.name === named).sort((a, b) => b.version - a.version);
  const known = versions[0] || null;
  return {
    isEnvelope,
    named,
    known,
    type: named || DEFAULT_TYPE,
    kind: message.kind || (known ? known.kind : "event"),
    source: String(message.source || (known && known.source) || DEFAULT_SOURCE),
    sourceDefaulted: !message.source && !(known && known.source),
    version: Number(message.schema_version || (known ? known.version : 1)),
  };
}

function exampleString(schema, name) {
  const key = (name || "").toLowerCase();
  switch (schema.format) {
    case "date-time":
      return new Date().toISOString();
    case "date":
      return new Date().toISOString().slice(0, 10);
    case "email":
      return "someone@example.com";
    case "uuid":
      return crypto.randomUUID();
    case "uri":
      return "https://example.com/";
    default:
      break;
  }
  if (key.endsWith("id")) return `${key.replace(/_?id$/, "") || "id"}-${Math.floor(1000 + Math.random() * 9000)}`;
  if (key.includes("email")) return "someone@example.com";
  if (key === "currency") return "EUR";
  if (key === "region") return "eu-west";
  if (key === "customer" || key === "name") return "ada";
  const min = schema.minLength || 0;
  const text = "example";
  return text.length >= min ? text : text.padEnd(min, "x");
}

function exampleNumber(schema, integer) {
  let value = integer ? 1 : 42.5;
  if (typeof schema.minimum === "number") value = Math.max(value, schema.minimum);
  if (typeof schema.exclusiveMinimum === "number") value = Math.max(value, schema.exclusiveMinimum + 1);
  if (typeof schema.maximum === "number") value = Math.min(value, schema.maximum);
  return integer ? Math.round(value) : value;
}

/** A value that fits ``schema`` (best effort: a starting point to edit, not a fuzzer). */
export function exampleFor(schema, name = "", depth = 0) {
  if (!schema || typeof schema !== "object" || depth > 6) return null;
  if ("const" in schema) return schema.const;
  if ("default" in schema) return schema.default;
  if (Array.isArray(schema.examples) && schema.examples.length) return schema.examples[0];
  if (Array.isArray(schema.enum) && schema.enum.length) return schema.enum[0];
  for (const key of ["oneOf", "anyOf"]) {
    if (Array.isArray(schema[key]) && schema[key].length) return exampleFor(schema[key][0], name, depth + 1);
  }
  let type = schema.type;
  if (Array.isArray(type)) type = type.find((t) => t !== "null") ?? type[0];
  if (!type && schema.properties) type = "object";
  switch (type) {
    case "object": {
      const out = {};
      for (const [key, sub] of Object.entries(schema.properties || {})) out[key] = exampleFor(sub, key, depth + 1);
      return out;
    }
    case "array":
      return schema.items ? [exampleFor(schema.items, name, depth + 1)] : [];
    case "string":
      return exampleString(schema, name);
    case "integer":
      return exampleNumber(schema, true);
    case "number":
      return exampleNumber(schema, false);
    case "boolean":
      return true;
    default:
      return null;
  }
}

export class Publisher {
  constructor({ graph, send, types, onPublished }) {
    this.graph = graph;
    this.send = send;
    this.types = types;
    this.onPublished = onPublished;
    this.pending = false;
    this.channelChosen = false;
    this.$ = (id) => document.getElementById(id);
    const typeSelect = this.$("publish-type");
    for (const t of types) {
      typeSelect.appendChild(new Option(`${t.name} (${t.kind} v${t.version})`, t.name));
    }
    typeSelect.appendChild(new Option("custom message", CUSTOM));
    typeSelect.addEventListener("change", () => this.fillExample());
    this.$("publish-channel").addEventListener("change", () => {
      this.channelChosen = true;
    });
    this.$("publish-json").addEventListener("input", () => {
      this.validate();
      this.followType();
    });
    this.$("publish-reset").addEventListener("click", () => this.fillExample());
    this.$("publish-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
  }

  setChannels(channels) {
    const select = this.$("publish-channel");
    const current = select.value;
    select.replaceChildren();
    for (const c of channels) select.appendChild(new Option(`${c.label} (${c.kind})`, c.id));
    if (channels.some((c) => c.id === current)) select.value = current;
    else this.suggestChannel();
    if (!this.$("publish-json").value) this.fillExample();
  }

  selectChannel(nodeId) {
    this.$("publish-channel").value = nodeId;
    this.channelChosen = true;
  }

  type() {
    const name = this.$("publish-type").value;
    return this.types.find((t) => t.name === name) || null;
  }

  suggestChannel() {
    if (this.channelChosen) return;
    const channels = this.graph.channels();
    const type = this.type();
    const prefer = type && type.kind === "command" ? ["queue", "direct", "topic", "bus"] : ["bus", "topic", "queue", "direct"];
    for (const kind of prefer) {
      const hit = channels.find((c) => c.kind === kind);
      if (hit) {
        this.$("publish-channel").value = hit.id;
        return;
      }
    }
  }

  fillExample() {
    const type = this.type();
    const message = type
      ? { "detail-type": type.name, detail: exampleFor(type.schema) || {}, attributes: {} }
      : { "detail-type": "TestMessage", detail: { note: "hello" }, attributes: {} };
    this.$("publish-json").value = JSON.stringify(message, null, 2);
    this.suggestChannel();
    this.validate();
  }

  /** The type list shows the type the JSON names (or "custom message"): the JSON wins. */
  followType() {
    const envelope = this.envelope;
    if (!envelope) return;
    const select = this.$("publish-type");
    const want = envelope.known ? envelope.known.name : CUSTOM;
    if (select.value !== want) select.value = want;
  }

  /** Say what will be sent, in words, with what the server fills in marked. */
  showEnvelope(envelope) {
    const box = this.$("publish-envelope");
    if (!envelope) {
      box.replaceChildren();
      return;
    }
    const parts = [element("span", { text: `Will send: ${envelope.kind} ` }), element("strong", { text: envelope.type })];
    if (envelope.known) parts.push(element("span", { text: ` v${envelope.version}` }));
    parts.push(element("span", { text: " from " }));
    parts.push(element("strong", { text: envelope.source }));
    parts.push(element("span", { text: "." }));
    const notes = [];
    if (!envelope.isEnvelope) {
      notes.push(`The JSON has no detail-type or detail: it is sent whole as the detail of a ${envelope.type} from ${envelope.source}.`);
    } else if (!envelope.named) {
      notes.push(`The JSON names no detail-type: it is sent as ${envelope.type}.`);
    } else if (!envelope.known) {
      notes.push(`${envelope.type} is not a message type of this topology: it goes out as a custom message, checked against no schema.`);
    }
    if (envelope.isEnvelope && envelope.sourceDefaulted) notes.push(`No source given: ${envelope.source}.`);
    for (const note of notes) parts.push(element("span", { className: "defaulted", text: ` ${note}` }));
    box.replaceChildren(...parts);
  }

  /** The message as an object, or null (and the reason shown) when it is not valid. */
  validate() {
    const value = this.parse();
    this.envelope = value === null ? null : envelopeFor(value, this.types);
    this.showEnvelope(this.envelope);
    // A new error makes the last "Published message …" line stale.
    if (value === null) this.$("publish-result").textContent = "";
    return value;
  }

  parse() {
    const error = this.$("publish-error");
    const area = this.$("publish-json");
    let value;
    try {
      value = JSON.parse(area.value);
    } catch (exc) {
      error.textContent = `Not valid JSON: ${exc.message}`;
      area.setAttribute("aria-invalid", "true");
      return null;
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      error.textContent = "The message must be a JSON object.";
      area.setAttribute("aria-invalid", "true");
      return null;
    }
    if ("detail" in value && (value.detail === null || typeof value.detail !== "object" || Array.isArray(value.detail))) {
      error.textContent = "detail must be a JSON object.";
      area.setAttribute("aria-invalid", "true");
      return null;
    }
    error.textContent = "";
    area.removeAttribute("aria-invalid");
    return value;
  }

  submit() {
    const message = this.validate();
    if (message === null) return;
    const channelId = this.$("publish-channel").value;
    const id = Number(String(channelId).split(":")[1]);
    const result = this.$("publish-result");
    result.textContent = "";
    if (!Number.isInteger(id)) {
      this.$("publish-error").textContent = "Pick a channel.";
      return;
    }
    if (!this.send(publishFrame(id, message))) {
      result.textContent = "Not connected; try again in a moment.";
      return;
    }
    this.pending = true;
    this.sent = this.envelope;
    result.textContent = "publishing…";
  }

  onAck(frame) {
    this.pending = false;
    const what = this.sent ? `${this.sent.kind} ${this.sent.type} from ${this.sent.source}` : "message";
    this.$("publish-result").textContent = `Published ${what} (${frame.msg}); following it in the Trace tab.`;
    this.onPublished(frame.msg);
  }

  /** An error frame while a publish was pending is that publish's answer. */
  onError(message) {
    if (!this.pending) return false;
    this.pending = false;
    this.$("publish-result").textContent = "";
    this.$("publish-error").textContent = message;
    return true;
  }
}
