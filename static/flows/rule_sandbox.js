// The rule editor's sandbox: test the unsaved pattern against a sample or recent event,
// and see what the draft would change over the bus's recent traffic. Every value from an
// event or a pattern is shown with textContent.
import { element, plural } from "./helpers.js";

(function () {
  "use strict";

  function csrfToken() {
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function pattern() {
    return document.getElementById("id_event_pattern").value;
  }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(body),
    });
    return { status: response.status, data: await response.json() };
  }

  function showError(out, message) {
    out.replaceChildren(element("p", { text: message, className: "errornote" }));
  }

  function showTest(out, data) {
    if (!data.valid) {
      showError(out, "The pattern is not valid: " + data.error);
      return;
    }
    const verdict = element("p", {
      text: data.matches ? "Match" : "No match",
      className: data.matches ? "sandbox-match" : "sandbox-nomatch",
    });
    const nodes = [verdict];
    if (!data.matches) {
      const table = element("table", { className: "sandbox-explain" });
      const head = element("tr");
      ["clause (path)", "expected", "actual", "why"].forEach((h) => head.append(element("th", { text: h })));
      table.append(head);
      data.explanation.forEach((m) => {
        const row = element("tr");
        row.append(element("td", { text: m.path }));
        row.append(element("td", { text: JSON.stringify(m.expected) }));
        row.append(element("td", { text: m.missing ? "(missing)" : JSON.stringify(m.actual) }));
        row.append(element("td", { text: m.message || "" }));
        table.append(row);
      });
      nodes.push(table);
    }
    out.replaceChildren(...nodes);
  }

  function showWhatIf(out, data) {
    if (!data.valid) {
      showError(out, "The pattern is not valid: " + data.error);
      return;
    }
    if (!data.events) {
      out.replaceChildren(element("p", { text: "This bus has no recent events yet: start a run, then try again." }));
      return;
    }
    const where = data.source === "archive" ? "archived on this bus" : "published on this bus";
    const summary = element("p", { text:
      `Of the last ${plural(data.events, "event")} ${where}, the saved rule matches ${data.matched_before} and the ` +
      `draft would match ${data.matched_after} (${data.gained_count} gained, ` +
      `${data.lost_count} lost). Events no rule matches: ${data.unmatched_before} now, ` +
      `${data.unmatched_after} with the draft.` });
    summary.id = "whatif-summary";
    const nodes = [summary];
    // The id lists are capped by the server; the counts above are exact.
    [["gained", data.gained, data.gained_count], ["lost", data.lost, data.lost_count]]
      .forEach(([what, ids, count]) => {
        if (!count) return;
        const shown = ids.length < count ? `showing ${ids.length} of ${count}` : `${count}`;
        const details = element("details", { className: "whatif-ids" });
        details.dataset.list = what;
        details.append(element("summary", { text: `Events ${what} (${shown})` }));
        details.append(element("p", { text: ids.join(", "), className: "whatif-id-list" }));
        nodes.push(details);
      });
    if (data.targets.length) {
      const list = element("ul");
      data.targets.forEach((t) => {
        const sign = t.change > 0 ? "gains" : t.change < 0 ? "loses" : "keeps";
        list.append(element("li", { text: `${t.target} ${sign} ${Math.abs(t.change)} ` +
                                         `(${t.before} → ${plural(t.after, "event")})` }));
      });
      nodes.push(list);
    } else {
      nodes.push(element("p", { text: "This rule has no saved targets yet.", className: "help" }));
    }
    out.replaceChildren(...nodes);
  }

  async function loadRecent(panel) {
    const bus = document.getElementById("id_bus");
    const select = document.getElementById("sandbox-recent");
    if (!bus || !bus.value) return;
    const url = panel.dataset.recentUrl.replace(/0\/$/, bus.value + "/");
    const response = await fetch(url, { credentials: "same-origin" });
    if (!response.ok) return;
    const { events } = await response.json();
    select.replaceChildren(element("option", { text: events.length ? "— pick a recent event —"
                                                                 : "— no recent events on this bus —" }));
    select.firstChild.value = "";
    events.forEach((event, i) => {
      const option = element("option", { text: `${event["detail-type"] || "?"} · ${event.id} · ${event.time}` });
      option.value = String(i);
      select.append(option);
    });
    select.onchange = () => {
      if (select.value === "") return;
      document.getElementById("sandbox-event").value =
        JSON.stringify(events[Number(select.value)], null, 2);
    };
  }

  document.addEventListener("DOMContentLoaded", () => {
    const panel = document.getElementById("rule-sandbox");
    if (!panel) return;
    const out = document.getElementById("sandbox-result");
    document.getElementById("sandbox-test").addEventListener("click", async () => {
      let event;
      try {
        event = JSON.parse(document.getElementById("sandbox-event").value);
      } catch (e) {
        showError(out, "The sample event is not valid JSON: " + e.message);
        return;
      }
      const { status, data } = await post(panel.dataset.sandboxUrl, { pattern: pattern(), event });
      status === 200 ? showTest(out, data) : showError(out, data.error);
    });
    document.getElementById("sandbox-whatif").addEventListener("click", async () => {
      const bus = document.getElementById("id_bus");
      const body = {
        pattern: pattern(),
        bus: bus && bus.value ? Number(bus.value) : null,
        rule: panel.dataset.rule ? Number(panel.dataset.rule) : null,
        limit: 200,
      };
      const { status, data } = await post(panel.dataset.whatifUrl, body);
      status === 200 ? showWhatIf(out, data) : showError(out, data.error);
    });
    const bus = document.getElementById("id_bus");
    if (bus) bus.addEventListener("change", () => loadRecent(panel));
    loadRecent(panel);
  });
})();
