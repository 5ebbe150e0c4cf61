// Two versions compared (the lines of GET .../diff): split or unified, unchanged runs folded
// to a few lines of context, changed words marked inside a changed line; or rendered, the
// Markdown blocks drawn with the added and removed ones marked.

import { html, useEffect, useRef, useState } from "../vendor/preact-htm.js";
import { marked } from "../vendor/marked.js";
import { decorate, markdownToHtml } from "../markdown.js";
import { ErrorNotice, isQualityRevision, Loading, useResource } from "../ui.js";

const CONTEXT = 3; // unchanged lines shown around a change
const WORD_DIFF_CELLS = 250_000; // above this many token pairs a line is marked whole

const VIEWS = [
  { id: "split", label: "Side by side" },
  { id: "unified", label: "Unified" },
  { id: "rendered", label: "Rendered" },
];

function narrowScreen() {
  return window.matchMedia("(max-width: 700px)").matches;
}

export function DiffView({ diff, initialView }) {
  const [view, setView] = useState(() => initialView || (narrowScreen() ? "unified" : "split"));
  const changes = chunks(diff.lines);
  const changed = changes.filter((chunk) => chunk.kind === "change").length;
  return html`<div class="diff-view">
    <div class="diff-head">
      <p class="meta">${changed === 0 ? "The two versions are identical." : `${changed} changed place${changed === 1 ? "" : "s"}.`}</p>
      <div class="segmented" role="radiogroup" aria-label="How to show the changes">
        ${VIEWS.map((option) => html`<label key=${option.id}>
          <input type="radio" name=${`diff-view-${diff.document_id}`} checked=${view === option.id}
            onChange=${() => setView(option.id)} />${option.label}</label>`)}
      </div>
    </div>
    ${view === "rendered"
      ? html`<${RenderedDiff} lines=${diff.lines} />`
      : html`<${LineDiff} changes=${changes} unified=${view === "unified"} diff=${diff} />`}
  </div>`;
}

/** Runs of diff lines: an unchanged line, or a change (its deleted and inserted lines). */
export function chunks(lines) {
  const out = [];
  let index = 0;
  while (index < lines.length) {
    if (lines[index].op === "equal") {
      out.push({ kind: "equal", line: lines[index] });
      index += 1;
      continue;
    }
    const deleted = [];
    const inserted = [];
    while (index < lines.length && lines[index].op === "delete") deleted.push(lines[index++]);
    while (index < lines.length && lines[index].op === "insert") inserted.push(lines[index++]);
    out.push({ kind: "change", deleted, inserted });
  }
  return out;
}

/** Rows to draw: in split, a deleted line beside the inserted line it became; in unified,
 * the deleted lines, then the inserted ones. Paired lines carry their word marks. */
function rows(changes, unified) {
  const out = [];
  for (const chunk of changes) {
    if (chunk.kind === "equal") {
      out.push({ equal: true, left: chunk.line, right: chunk.line });
      continue;
    }
    const paired = chunk.deleted.map((line, i) =>
      chunk.inserted[i] ? wordDiff(line.text, chunk.inserted[i].text) : null,
    );
    const size = Math.max(chunk.deleted.length, chunk.inserted.length);
    if (unified) {
      chunk.deleted.forEach((line, i) => out.push({ equal: false, left: line, words: paired[i]?.[0] }));
      chunk.inserted.forEach((line, i) => out.push({ equal: false, right: line, words: paired[i]?.[1] }));
    } else {
      for (let i = 0; i < size; i += 1) {
        out.push({ equal: false, left: chunk.deleted[i], right: chunk.inserted[i], pair: paired[i] });
      }
    }
  }
  return out;
}

/** Unchanged runs longer than the context around them become one fold. */
function folded(all) {
  const out = [];
  let start = 0;
  while (start < all.length) {
    if (!all[start].equal) {
      out.push(all[start]);
      start += 1;
      continue;
    }
    let end = start;
    while (end < all.length && all[end].equal) end += 1;
    const head = start === 0 ? 0 : CONTEXT;
    const tail = end === all.length ? 0 : CONTEXT;
    if (end - start > head + tail + 1) {
      out.push(...all.slice(start, start + head));
      out.push({ fold: all.slice(start + head, end - tail), at: start + head });
      out.push(...all.slice(end - tail, end));
    } else {
      out.push(...all.slice(start, end));
    }
    start = end;
  }
  return out;
}

function LineDiff({ changes, unified, diff }) {
  const [opened, setOpened] = useState(() => new Set());
  const shown = folded(rows(changes, unified)).flatMap((row) =>
    row.fold && opened.has(row.at) ? row.fold : [row],
  );
  const open = (at) => setOpened(new Set([...opened, at]));
  const label = `v${diff.from_version} and v${diff.to_version}${unified ? ", unified" : " side by side"}`;
  return html`<div class="diff-wrap">
    <table class=${`diff ${unified ? "unified" : "split"}`} aria-label=${label}>
      ${unified
        ? html`<colgroup><col class="num" /><col class="num" /><col /></colgroup>`
        : html`<colgroup><col class="num" /><col /><col class="num" /><col /></colgroup>`}
      <thead>${unified
        ? html`<tr><th scope="col">v${diff.from_version}</th><th scope="col">v${diff.to_version}</th><th scope="col">Line</th></tr>`
        : html`<tr><th colspan="2" scope="col">v${diff.from_version}</th><th colspan="2" scope="col">v${diff.to_version}</th></tr>`}</thead>
      <tbody>
        ${shown.map((row) =>
          row.fold
            ? html`<tr class="fold"><td colspan=${unified ? 3 : 4}>
                <button type="button" class="link" onClick=${() => open(row.at)}>
                  Show ${row.fold.length} unchanged line${row.fold.length === 1 ? "" : "s"}</button></td></tr>`
            : unified
              ? unifiedRow(row)
              : splitRow(row),
        )}
      </tbody>
    </table>
  </div>`;
}

function splitRow(row) {
  const kind = row.equal ? "equal" : "change";
  const cell = (line, side, words) =>
    line
      ? html`<td class="num">${side === "left" ? line.old_line : line.new_line}</td>
          <td class=${`text ${line.op}`}>${words ? segments(words, line.op) : line.text}</td>`
      : html`<td class="num"></td><td class="text empty"></td>`;
  return html`<tr class=${kind}>${cell(row.left, "left", row.pair?.[0])}${cell(row.right, "right", row.pair?.[1])}</tr>`;
}

function unifiedRow(row) {
  const line = row.left || row.right;
  const sign = row.equal ? " " : line.op === "delete" ? "−" : "+";
  return html`<tr class=${row.equal ? "equal" : "change"}>
    <td class="num">${line.old_line ?? ""}</td><td class="num">${line.new_line ?? ""}</td>
    <td class=${`text ${row.equal ? "equal" : line.op}`}><span class="sign" aria-hidden="true">${sign}</span>${row.words ? segments(row.words, line.op) : line.text}</td>
  </tr>`;
}

function segments(words, op) {
  const Mark = op === "delete" ? "del" : "ins";
  return words.map((part) => (part.changed ? html`<${Mark}>${part.text}<//>` : part.text));
}

/** The two lines as segments of words, each marked changed or not (a token-level LCS). */
export function wordDiff(before, after) {
  const a = tokens(before);
  const b = tokens(after);
  if (a.length * b.length > WORD_DIFF_CELLS) {
    return [[{ text: before, changed: true }], [{ text: after, changed: true }]];
  }
  const lengths = commonLengths(a, b);
  const left = [];
  const right = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      push(left, a[i++], false);
      push(right, b[j++], false);
    } else if (j < b.length && (i === a.length || lengths[i][j + 1] >= lengths[i + 1][j])) {
      push(right, b[j++], true);
    } else {
      push(left, a[i++], true);
    }
  }
  return [tidy(left), tidy(right)];
}

/** A lone unchanged punctuation mark between two changes ("3.12" -> "1.22") joins them. */
function tidy(parts) {
  const out = [];
  for (let k = 0; k < parts.length; k += 1) {
    const part = parts[k];
    const lone = !part.changed && /^[^\s\p{L}\p{N}]$/u.test(part.text);
    if (lone && out.at(-1)?.changed && parts[k + 1]?.changed) {
      out.at(-1).text += part.text + parts[k + 1].text;
      k += 1;
    } else if (out.at(-1) && out.at(-1).changed === part.changed) {
      out.at(-1).text += part.text;
    } else {
      out.push({ ...part });
    }
  }
  return out;
}

/** lengths[i][j]: the longest common subsequence of a[i:] and b[j:], for a walk from 0, 0. */
function commonLengths(a, b) {
  const lengths = Array.from({ length: a.length + 1 }, () => new Uint32Array(b.length + 1));
  for (let i = a.length - 1; i >= 0; i -= 1) {
    for (let j = b.length - 1; j >= 0; j -= 1) {
      lengths[i][j] = a[i] === b[j] ? lengths[i + 1][j + 1] + 1 : Math.max(lengths[i + 1][j], lengths[i][j + 1]);
    }
  }
  return lengths;
}

function tokens(text) {
  return text.match(/\s+|[\p{L}\p{N}_]+|[^\s\p{L}\p{N}_]/gu) || [];
}

function push(parts, text, changed) {
  const last = parts[parts.length - 1];
  if (last && last.changed === changed) last.text += text;
  else parts.push({ text, changed });
}

/** The new version drawn as Markdown, blocks added or removed since the old one marked. */
function RenderedDiff({ lines }) {
  const ref = useRef(null);
  const before = lines.filter((line) => line.op !== "insert").map((line) => line.text).join("\n");
  const after = lines.filter((line) => line.op !== "delete").map((line) => line.text).join("\n");
  useEffect(() => {
    const container = ref.current;
    container.innerHTML = blockDiff(before, after)
      .map(({ kind, raw }) => {
        const body = markdownToHtml(raw);
        if (kind === "equal") return body;
        const said = kind === "insert" ? "Added" : "Removed";
        return `<div class="block-${kind}" role="group" aria-label="${said}">${body}</div>`;
      })
      .join("");
    decorate(container);
  }, [before, after]);
  return html`<article class="markdown rendered-diff" tabindex="0" aria-label="The new version, changes marked" ref=${ref}></article>`;
}

/** Markdown blocks of the two texts aligned (an LCS of the blocks' source). */
export function blockDiff(before, after) {
  const a = blocks(before);
  const b = blocks(after);
  const lengths = commonLengths(a, b);
  const out = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      out.push({ kind: "equal", raw: b[j] });
      i += 1;
      j += 1;
    } else if (i < a.length && (j === b.length || lengths[i + 1][j] >= lengths[i][j + 1])) {
      out.push({ kind: "delete", raw: a[i++] });
    } else {
      out.push({ kind: "insert", raw: b[j++] });
    }
  }
  return out;
}

function blocks(text) {
  return marked
    .lexer(text || "", { gfm: true })
    .filter((token) => token.type !== "space")
    .map((token) => token.raw.trim());
}

/** At a gate: the version on screen against the one the person saw before it, with the
 * reason it exists (the feedback quoted, an edit, an edit re-applied). Open when the
 * version answers the person (a revision or an edit), folded otherwise. */
export function WhatChanged({ projectId, documentId, version }) {
  const base = `/projects/${projectId}/documents/${documentId}`;
  const versions = useResource(`${base}/versions`);
  const previous = versions.data ? previousShown(versions.data, version.version) : null;
  const diff = useResource(previous ? `${base}/diff?from=${previous.version}&to=${version.version}` : null);
  if (!previous) return null;
  const reason = changeReason(version);
  return html`<details class="what-changed" open=${reason.answers}>
    <summary>What changed since v${previous.version}</summary>
    <p class="change-reason">${reason.text}</p>
    ${diff.loading && html`<${Loading} what="Comparing" />`}
    <${ErrorNotice} error=${diff.error} onRetry=${diff.reload} />
    ${diff.data && html`<${DiffView} diff=${diff.data} initialView="rendered" />`}
  </details>`;
}

/** The latest earlier version a person could have seen: not an agent's text that only
 * exists under a merged version. */
export function previousShown(list, number) {
  const underMerge = new Set(list.map((entry) => entry.meta?.merge?.agent_version).filter(Boolean));
  const earlier = list.filter(
    (entry) => entry.version < number && !(entry.source === "agent" && underMerge.has(entry.version)),
  );
  return earlier.at(-1) || null;
}

function changeReason(version) {
  const meta = version.meta || {};
  if (version.source === "edit") return { answers: true, text: "Edited by hand." };
  if (version.source === "merge") {
    return { answers: true, text: "The agent wrote the document again; your edit is re-applied to its new text." };
  }
  const feedback = (meta.feedback || []).at(-1);
  if (!feedback) return { answers: false, text: "A new draft by the agent." };
  if (isQualityRevision(feedback)) {
    return { answers: true, text: "Rewritten by the agent to fix the quality findings." };
  }
  return { answers: true, text: html`The agent's revision, for the feedback: <q>${feedback}</q>` };
}
