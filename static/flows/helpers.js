// Small helpers shared by the dashboard's modules and the admin's rule sandbox. Each name
// means one thing everywhere: element() builds a DOM element, fullCount() and shortCount()
// are the two ways a count is written, plural() is how a count meets its noun.

/**
 * A new element: ``element("td", { className: "num", text: "3" })``. Text goes in through
 * textContent, so anything that came from a message stays inert.
 */
export function element(tag, { className = "", text } = {}) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** A count in full, with thousands separators: 12,345 (the accounting line, the node panel). */
export function fullCount(n) {
  return Number(n || 0).toLocaleString("en-US");
}

/**
 * A count with its noun in agreement, the one way the UI writes "N things":
 * ``plural(1, "dead letter")`` is "1 dead letter", ``plural(2, "copy", "copies")`` "2 copies".
 */
export function plural(n, singular, many = `${singular}s`) {
  const count = Number(n || 0);
  return `${fullCount(count)} ${count === 1 ? singular : many}`;
}

/** A count squeezed into a badge on the diagram: 9999, 12k, 1.2M. */
export function shortCount(n) {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e4) return `${Math.round(n / 1e3)}k`;
  return String(n);
}
