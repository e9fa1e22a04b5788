// The websocket protocol as the dashboard speaks it: the names of the frames the server
// sends, and a builder for every frame the dashboard sends. flows/live/socket.py is the
// other side (its docstring lists every frame; flows/live/frames.py holds their schemas).

/** Server -> client frame types. */
export const SERVER = Object.freeze({
  SNAPSHOT: "snapshot",
  HOPS: "hops",
  COUNTERS: "counters",
  GRAPH: "graph",
  RUN: "run",
  TRACE: "trace",
  ACK: "ack",
  ERROR: "error",
});

/** Client -> server frame types; all but RESUME and TRACE are for staff only. */
export const CLIENT = Object.freeze({
  RESUME: "resume",
  TRACE: "trace",
  RUN_START: "run.start",
  RUN_STOP: "run.stop",
  PRODUCER_PAUSE: "producer.pause",
  PRODUCER_RESUME: "producer.resume",
  CONSUMER_OFFLINE: "consumer.offline",
  CONSUMER_ONLINE: "consumer.online",
  PUBLISH: "publish",
  REDRIVE: "redrive",
});

/** Every hop of ``run`` after ``afterSeq``; answered by hops frames, the last with more: false. */
export function resumeFrame(run, afterSeq) {
  return { type: CLIENT.RESUME, run, after_seq: afterSeq };
}

/**
 * The hops of message ``msg``. Send ``run`` whenever there is one: the same seed makes the
 * same message ids in every run, and the server keeps to at most 500 hops.
 */
export function traceFrame(msg, run) {
  const frame = { type: CLIENT.TRACE, msg };
  if (Number.isInteger(run)) frame.run = run;
  return frame;
}

/** Start a run; without a seed the server picks one. */
export function runStartFrame(seed) {
  const frame = { type: CLIENT.RUN_START };
  if (seed !== undefined) frame.seed = seed;
  return frame;
}

export function runStopFrame() {
  return { type: CLIENT.RUN_STOP };
}

/** Pause (``paused`` true) or resume producer ``producer`` (its id). */
export function producerFrame(producer, paused) {
  return { type: paused ? CLIENT.PRODUCER_PAUSE : CLIENT.PRODUCER_RESUME, producer };
}

/** Take consumer ``consumer`` (its id) online (``online`` true) or offline. */
export function consumerFrame(consumer, online) {
  return { type: online ? CLIENT.CONSUMER_ONLINE : CLIENT.CONSUMER_OFFLINE, consumer };
}

/** Publish ``message`` (a detail or a whole envelope) into channel ``channel`` (its id). */
export function publishFrame(channel, message) {
  return { type: CLIENT.PUBLISH, channel, message };
}

/** Send a dead-letter queue's messages (``channel``, its id) back where they came from. */
export function redriveFrame(channel) {
  return { type: CLIENT.REDRIVE, channel };
}
