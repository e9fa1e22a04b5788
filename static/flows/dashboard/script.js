// The scenario's script in the About panel: each timed step, ticked off as the run
// reaches it (counters.script), with its narration shown once as a toast.

const describe = (step) => {
  if (step.say) return step.say;
  if (step.consumer) return `${step.consumer}: ${JSON.stringify(step.set)}`;
  if (step.producer && step.emit) return `${step.producer} sends ${step.emit.type} v${step.emit.version}`;
  if (step.producer) return `${step.producer}: ${JSON.stringify(step.set)}`;
  if (step.redrive) return `redrive ${step.redrive}`;
  if (step.replay) return `replay ${step.replay.bus} from ${step.replay.from || 0} s to ${step.replay.to} s`;
  return "";
};

export class ScriptPanel {
  constructor({ root, list, toast }) {
    this.root = root;
    this.list = list;
    this.toast = toast;
    this.steps = [];
    this.done = new Set();
    this.announced = new Set();
    this.primed = false;
  }

  setScript(steps) {
    this.steps = Array.isArray(steps) ? steps : [];
    this.root.hidden = this.steps.length === 0;
    this.render();
  }

  // A new run (or a new page): steps done before the first counters are not announced.
  reset() {
    this.done = new Set();
    this.announced = new Set();
    this.primed = false;
    this.render();
  }

  setProgress(progress) {
    const done = new Set((progress && progress.done) || []);
    const announce = this.primed;
    this.primed = true;
    for (const i of done) {
      if (announce && !this.announced.has(i) && this.steps[i] && this.steps[i].say) {
        this.toast(`${this.steps[i].at} s · ${this.steps[i].say}`);
      }
      this.announced.add(i);
    }
    if (done.size !== this.done.size) {
      this.done = done;
      this.render();
    }
  }

  render() {
    const items = this.steps.map((step, i) => {
      const li = document.createElement("li");
      li.className = this.done.has(i) ? "done" : "";
      const at = document.createElement("span");
      at.className = "at";
      at.textContent = `${step.at} s`;
      const text = document.createElement("span");
      text.textContent = describe(step);
      li.append(at, text);
      return li;
    });
    this.list.replaceChildren(...items);
  }
}
