// The gate: the step's documents rendered, their quality, and the three decisions.

import { html, useEffect, useRef, useState } from "../vendor/preact-htm.js";
import { api } from "../api.js";
import { Markdown } from "../markdown.js";
import { Link, setQuery } from "../router.js";
import { AnsweredComments, PassageCommenter, PendingComments, useComments } from "./comments.js";
import { WhatChanged } from "./diff.js";
import { MergeNotice } from "./merge.js";
import { ClarifyingQuestions } from "./questions.js";
import { DocumentPicker, Outline, useViewed } from "./review.js";
import { ShortcutHelp } from "./shortcuts.js";
import {
  ErrorNotice,
  forgetDrafts,
  hasDraft,
  Loading,
  stepInfo,
  useAction,
  useDraft,
  sendOnCtrlEnter,
  useFocusOnMount,
  useResource,
  useShortcuts,
} from "../ui.js";

export function GateReview({ projectId, gate, canAct, onDecided, shownDocument }) {
  // The document on screen is in the address (?doc=), so a reload or a new gate keeps it.
  const found = gate.versions.findIndex((entry) => entry.document_id === shownDocument);
  const selected = found < 0 ? 0 : found;
  const ref = gate.versions[selected];
  const drafts = draftNames(ref);
  // read | revise | edit; an unsent draft (say, from before the session expired) reopens its form
  const [mode, setMode] = useState(() =>
    ref && hasDraft(drafts.edit) ? "edit" : ref && hasDraft(drafts.revise) ? "revise" : "read",
  );
  const [headings, setHeadings] = useState([]);
  const frame = useRef(null);
  const notes = useComments(gate);
  const [commentSignal, setCommentSignal] = useState(0);
  const { isViewed, setViewed } = useViewed();
  const { busy, error, run } = useAction();
  const version = useResource(
    ref ? `/projects/${projectId}/documents/${ref.document_id}/versions/${ref.version}` : null,
  );
  // The loaded version, once it is the one picked: never the previous document's text
  // under the new document's name while the new one loads.
  const shown = version.data?.id === ref?.version_id ? version.data : null;
  const quality = gate.quality?.find((entry) => entry.version_id === ref?.version_id);
  const step = stepInfo(gate.step);

  const decide = (decision) =>
    run(async () => {
      const body = { step: gate.step, document_id: ref.document_id, version: ref.version, ...decision };
      const state = await api(`/projects/${projectId}/runs/current/decisions`, { method: "POST", body });
      forgetDrafts(Object.values(drafts));
      if (decision.action === "revise") notes.clear();
      onDecided(state);
    });
  const pick = (entry) => {
    setQuery({ doc: entry.document_id });
    setMode("read");
    setHeadings([]);
    requestAnimationFrame(() => document.getElementById("gate-title")?.scrollIntoView({ block: "start" }));
  };
  const [helpOpen, setHelpOpen] = useState(false);
  const stepBy = (offset) => {
    const next = gate.versions[selected + offset];
    if (next) pick(next);
  };
  const acting = canAct && !busy;
  useShortcuts(
    {
      j: () => stepBy(1),
      k: () => stepBy(-1),
      v: () => ref && setViewed(ref.version_id, !isViewed(ref.version_id)),
      r: () => acting && setMode("revise"),
      e: () => acting && shown && setMode("edit"),
      A: () => acting && decide({ action: "approve" }),
      c: () => setCommentSignal((count) => count + 1),
      "?": () => setHelpOpen(true),
    },
    mode === "read", // while the shortcut list is open the focus is in it, and keys are left alone
  );

  return html`<section class="card gate" aria-labelledby="gate-title">
    <h2 id="gate-title">Review: ${step.title} <span class="meta">by the ${step.agent}</span></h2>
    <${DocumentPicker} versions=${gate.versions} selected=${selected} isViewed=${isViewed} onPick=${pick} />
    ${mode === "read" && ref &&
    html`<${DecisionBar} gate=${gate} current=${ref} busy=${busy} canAct=${canAct} canEdit=${Boolean(shown)}
      isViewed=${isViewed} setViewed=${setViewed} pendingComments=${notes.comments.length}
      onApprove=${() => decide({ action: "approve" })} onRevise=${() => setMode("revise")}
      onEdit=${() => setMode("edit")} onHelp=${() => setHelpOpen(true)} />`}
    <${ShortcutHelp} open=${helpOpen} onClose=${() => setHelpOpen(false)} />
    <div class="gate-layout">
      <div class="gate-main" ref=${frame}>
        ${mode === "read" && ref && html`<${PassageCommenter} frame=${frame} path=${ref.path} canAct=${canAct}
          onAdd=${notes.add} openSignal=${commentSignal} />`}
        ${ref && html`<p class="doc-path"><code>${ref.path}</code> version ${ref.version}${" · "}<${Link} href=${`/app/projects/${projectId}/documents/${ref.document_id}`}>history</${Link}></p>`}
        ${shown && html`<${WhatChanged} key=${shown.id} projectId=${projectId}
          documentId=${ref.document_id} version=${shown} />`}
        ${shown && html`<${AnsweredComments} comments=${shown.meta?.comments}
          path=${ref.path} content=${shown.content_md} />`}
        <${PendingComments} comments=${notes.comments} onRemove=${notes.remove} />
        ${shown?.meta?.merge && html`<${MergeNotice} projectId=${projectId} documentId=${ref.document_id}
          content=${shown.content_md} merge=${shown.meta.merge} busy=${busy} canAct=${canAct}
          onSettle=${(content) => decide({ action: "edit", content })} />`}
        ${quality && html`<${QualityReport} quality=${quality} />`}
        ${gate.coverage && html`<${Coverage} coverage=${gate.coverage} />`}
        ${gate.usage?.sections > 0 && html`<${WritingCost} usage=${gate.usage} />`}
        <${ErrorNotice} error=${error} />
        ${mode === "revise" &&
        html`<${ReviseForm} busy=${busy} agent=${step.agent} draft=${drafts.revise} onCancel=${() => setMode("read")}
          comments=${notes.comments.length}
          onSubmit=${(feedback) => decide({ action: "revise", feedback, comments: notes.comments })} />`}
        ${mode === "edit" && shown &&
        html`<${EditForm} busy=${busy} initial=${shown.content_md} draft=${drafts.edit}
          onCancel=${() => setMode("read")}
          onSubmit=${(content) => decide({ action: "edit", content })} />`}
        ${ref && !shown && !version.error && html`<${Loading} what="Loading the document" />`}
        <${ErrorNotice} error=${version.error} onRetry=${version.reload} />
        ${mode !== "edit" && shown &&
        html`<${Markdown} source=${shown.content_md} label=${ref.path} onHeadings=${setHeadings} />`}
        ${gate.step === "description" && mode === "read" && html`<${ClarifyingQuestions}
          key=${ref?.version_id} projectId=${projectId} canAct=${canAct} busy=${busy}
          onRevise=${(feedback) => decide({ action: "revise", feedback })} />`}
      </div>
      ${mode !== "edit" && html`<aside class="gate-side"><${Outline} headings=${headings} /></aside>`}
    </div>
  </section>`;
}

/** Approve, revise, edit and "viewed", in a bar that sticks to the top of the screen once
 * scrolled past and to its bottom while below it: in reach on a laptop and a phone, however
 * long the document, and early in the keyboard's order. */
function DecisionBar({ gate, current, busy, canAct, canEdit, isViewed, setViewed, pendingComments, onApprove, onRevise, onEdit, onHelp }) {
  const count = gate.versions.length;
  const unread = gate.versions.filter((entry) => !isViewed(entry.version_id)).length;
  const approve = count > 1 ? `Approve all ${count} documents` : "Approve";
  return html`<div class="decision-bar" role="group" aria-label="Your decision">
    <label class="viewed-toggle">
      <input type="checkbox" checked=${isViewed(current.version_id)}
        onChange=${(event) => setViewed(current.version_id, event.currentTarget.checked)} />
      Viewed
    </label>
    <button type="button" disabled=${busy || !canAct} onClick=${onApprove}
      aria-describedby=${unread && count > 1 ? "unread-count" : undefined}>${approve}</button>
    <button type="button" class="secondary" disabled=${busy || !canAct} onClick=${onRevise}>
      Ask for a revision
    </button>
    <button type="button" class="secondary" disabled=${busy || !canAct || !canEdit} onClick=${onEdit}>Edit</button>
    ${count > 1 && html`<span class="hint" id="unread-count">${unread === 0
      ? "All viewed."
      : `${unread} of ${count} not marked viewed.`}</span>`}
    ${pendingComments > 0 && html`<span class="hint">${pendingComments} comment${pendingComments === 1 ? "" : "s"} not sent yet: "Ask for a revision" sends them.</span>`}
    ${!canAct && html`<span class="hint">Viewers can read; an editor or owner decides.</span>`}
    <button type="button" class="link keys-help" onClick=${onHelp} aria-keyshortcuts="?">Shortcuts (?)</button>
  </div>`;
}

/** What the agent's write of this step cost: sections, tokens, time. */
function WritingCost({ usage }) {
  const seconds = Math.round(usage.duration_ms / 100) / 10;
  const kept = usage.resumed ? ` (${usage.resumed} kept from an earlier attempt)` : "";
  return html`<p class="usage" aria-label="Writing cost">
    Written by ${usage.writer}: ${usage.sections} sections${kept},${" "}
    ${usage.tokens_in.toLocaleString()} tokens in, ${usage.tokens_out.toLocaleString()} out,${" "}
    ${seconds} s.
  </p>`;
}

export function QualityReport({ quality }) {
  const grade = quality.flesch_kincaid_grade;
  const ease = quality.flesch_reading_ease;
  return html`<div class=${`quality ${quality.passed ? "passed" : "failed"}`} aria-label="Quality report">
    <p>
      <strong>Quality: ${quality.passed ? "passed" : "needs work"}</strong>${" · "}${quality.errors} error${quality.errors === 1 ? "" : "s"}, ${quality.warnings} warning${quality.warnings === 1 ? "" : "s"}
      ${ease !== null && ease !== undefined && html` · reading ease ${ease.toFixed(0)}`}
      ${grade !== null && grade !== undefined && html` · grade level ${grade.toFixed(1)}`}
    </p>
    ${quality.findings.length > 0 &&
    html`<ul class="findings">${quality.findings.map((finding) => html`<li>${finding}</li>`)}</ul>`}
  </div>`;
}

/** How far the plan delivers the description's Must requirements (the traceability
 * matrix the package exports as docs/traceability.md). */
export function Coverage({ coverage }) {
  const whole = coverage.uncovered.length === 0 && coverage.unknown_ids.length === 0;
  const epics = coverage.epics_citing_nothing.map((path) => path.split("/").pop());
  return html`<div class=${`quality ${whole ? "passed" : "failed"}`} aria-label="Traceability">
    <p>
      <strong>${`Traceability: ${coverage.must_delivered} of ${coverage.must} Must requirements delivered (${coverage.percent}%)`}</strong>
      ${" · "}${coverage.requirements} requirements in all
    </p>
    ${(coverage.uncovered.length > 0 || coverage.unknown_ids.length > 0 || epics.length > 0) &&
    html`<ul class="findings">
      ${coverage.uncovered.length > 0 && html`<li>No acceptance criterion delivers ${coverage.uncovered.join(", ")}.</li>`}
      ${coverage.unknown_ids.length > 0 && html`<li>Cited but not in about.md: ${coverage.unknown_ids.join(", ")}.</li>`}
      ${epics.length > 0 && html`<li>Epics that cite no requirement: ${epics.join(", ")}.</li>`}
    </ul>`}
  </div>`;
}

/** Drafts belong to one version of one document: a newer version starts afresh. */
function draftNames(ref) {
  const version = ref ? `${ref.document_id}.v${ref.version}` : "none";
  return { revise: `revise.${version}`, edit: `edit.${version}` };
}

function ReviseForm({ busy, agent, draft, comments, onCancel, onSubmit }) {
  const [feedback, setFeedback, clear] = useDraft(draft, "");
  const field = useFocusOnMount();
  const discard = () => {
    clear();
    onCancel();
  };
  const ready = Boolean(feedback.trim()) || comments > 0;
  const send = () => ready && !busy && onSubmit(feedback);
  return html`<form class="revise" onSubmit=${(event) => { event.preventDefault(); send(); }}>
    ${comments > 0 && html`<p class="notice info">Your ${comments === 1 ? "comment" : `${comments} comments`} on passages
      go with this request, each quoting its passage. Anything else?</p>`}
    <label>What should the ${agent} change?${comments > 0 ? " (optional)" : ""}
      <textarea ref=${field} rows="5" required=${comments === 0} maxlength="10000" value=${feedback}
        aria-describedby="revise-keys" onKeyDown=${sendOnCtrlEnter(send)}
        onInput=${(event) => setFeedback(event.currentTarget.value)}></textarea>
    </label>
    <p class="hint" id="revise-keys">Ctrl+Enter (⌘+Enter on a Mac) sends.</p>
    <div class="actions">
      <button type="submit" disabled=${busy || !ready}>Send for revision</button>
      <button type="button" class="secondary" onClick=${discard}>Discard</button>
    </div>
  </form>`;
}

function EditForm({ busy, initial, draft, onCancel, onSubmit }) {
  const [content, setContent, clear] = useDraft(draft, initial);
  const [preview, setPreview] = useState(content);
  const field = useFocusOnMount();
  const discard = () => {
    clear();
    onCancel();
  };
  const save = () => content.trim() && content !== initial && !busy && onSubmit(content);
  useEffect(() => {
    const timer = setTimeout(() => setPreview(content), 250);
    return () => clearTimeout(timer);
  }, [content]);
  return html`<form class="edit" onSubmit=${(event) => { event.preventDefault(); save(); }}>
    <div class="editor">
      <label>Markdown
        <textarea ref=${field} class="markdown-input" rows="24" spellcheck="true" value=${content}
          aria-describedby="edit-keys" onKeyDown=${sendOnCtrlEnter(save)}
          onInput=${(event) => setContent(event.currentTarget.value)}></textarea>
        <span class="hint" id="edit-keys">Ctrl+Enter (⌘+Enter on a Mac) saves.</span>
      </label>
      <div class="preview" tabindex="0" role="region" aria-label="Preview of your edit">
        <span class="label">Preview</span>
        <${Markdown} source=${preview} label="Preview" />
      </div>
    </div>
    <div class="actions">
      <button type="submit" disabled=${busy || !content.trim() || content === initial}>Save my edit</button>
      <button type="button" class="secondary" onClick=${discard}>Discard</button>
    </div>
  </form>`;
}
