// A run's progress as Server-Sent Events. EventSource cannot send the Authorization header,
// so this reads the stream with fetch: same wire format, Last-Event-ID sent on every
// reconnect (after a network drop) and taken from the run's event log after a reload.

import { ApiError, authHeaders, errorFrom } from "./api.js";

const TERMINAL = new Set(["run_completed", "run_failed", "run_cancelled"]);
const MAX_DELAY_MS = 8000;

/**
 * Follow a project's run from the event after `lastEventId`.
 * onEvent(event) for each FlowEvent; onDraft(progress) for each section_progress message
 * (the section an agent is writing, its text so far: no id, never replayed);
 * onStatus("live" | "reconnecting" | "ended", error?).
 * Returns a function that stops following.
 */
export function followRun(projectId, lastEventId, { onEvent, onDraft = () => {}, onStatus }) {
  let stopped = false;
  let lastId = lastEventId;
  let controller = null;

  async function readOnce() {
    controller = new AbortController();
    const headers = await authHeaders();
    if (lastId > 0) headers["Last-Event-ID"] = String(lastId);
    const response = await fetch(`/api/v1/projects/${projectId}/events`, {
      headers,
      signal: controller.signal,
      cache: "no-store",
    });
    if (response.status === 204) return "ended";
    if (!response.ok) throw await errorFrom(response);
    onStatus("live");
    let ended = false;
    for await (const message of messages(response.body)) {
      if (message.event === "section_progress") {
        onDraft(JSON.parse(message.data));
        continue;
      }
      const event = JSON.parse(message.data);
      lastId = Number(message.id) || event.seq;
      onEvent(event);
      if (TERMINAL.has(event.type)) ended = true;
    }
    return ended ? "ended" : "dropped";
  }

  (async () => {
    let delay = 500;
    while (!stopped) {
      try {
        const outcome = await readOnce();
        if (outcome === "ended") {
          onStatus("ended");
          return;
        }
        delay = 500;
      } catch (error) {
        if (stopped) return;
        if (error instanceof ApiError && [401, 403, 404].includes(error.status)) {
          onStatus("ended", error);
          return;
        }
        onStatus("reconnecting", error instanceof ApiError ? error : null);
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, MAX_DELAY_MS);
    }
  })();

  return () => {
    stopped = true;
    controller?.abort();
  };
}

/** The SSE messages of a response body: {id, event, data}; comments (pings) skipped. */
async function* messages(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const message = parseBlock(block);
      if (message.data !== "") yield message;
    }
  }
}

function parseBlock(block) {
  const message = { id: "", event: "message", data: "" };
  const data = [];
  for (const line of block.split("\n")) {
    if (line === "" || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "data") data.push(value);
    else if (field === "id") message.id = value;
    else if (field === "event") message.event = value;
  }
  message.data = data.join("\n");
  return message;
}
