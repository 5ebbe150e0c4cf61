// The gate: the step's documents rendered, their quality, and the three decisions.

import { html, useEffect, useState } from "../vendor/preact-htm.js";
import { api } from "../api.js";
import { Markdown } from "../markdown.js";
import { Link, setQuery } from "../router.js";
import { MergeNotice } from "./merge.js";
import {
  ErrorNotice,
  forgetDrafts,
  hasDraft,
  Loading,
  stepInfo,
  useAction,
  useDraft,
  useResource,
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
  const { busy, error, run } = useAction();
  const version = useResource(
    ref ? `/projects/${projectId}/documents/${ref.document_id}/versions/${ref.version}` : null,
  );
  const quality = gate.quality?.find((entry) => entry.version_id === ref?.version_id);
  const step = stepInfo(gate.step);

  const decide = (decision) =>
    run(async () => {
      const body = { step: gate.step, document_id: ref.document_id, version: ref.version, ...decision };
      const state = await api(`/projects/${projectId}/runs/current/decisions`, { method: "POST", body });
      forgetDrafts(Object.values(drafts));
      onDecided(state);
    });

  return html`<section class="card gate" aria-labelledby="gate-title">
    <h2 id="gate-title">Review: ${step.title} <span class="meta">by the ${step.agent}</span></h2>
    ${gate.versions.length > 1 &&
    html`<div class="doc-tabs" role="group" aria-label="Documents in this step">
      ${gate.versions.map(
        (entry, index) => html`<button type="button" key=${entry.version_id}
          aria-pressed=${index === selected} onClick=${() => { setQuery({ doc: entry.document_id }); setMode("read"); }}>
          ${entry.path.split("/").pop()} <span class="meta">v${entry.version}</span>
        </button>`,
      )}
    </div>`}
    ${ref && html`<p class="doc-path"><code>${ref.path}</code> version ${ref.version}${" · "}<${Link} href=${`/app/projects/${projectId}/documents/${ref.document_id}`}>history</${Link}></p>`}
    ${version.data?.meta?.merge && html`<${MergeNotice} projectId=${projectId} documentId=${ref.document_id}
      content=${version.data.content_md} merge=${version.data.meta.merge} busy=${busy} canAct=${canAct}
      onSettle=${(content) => decide({ action: "edit", content })} />`}
    ${quality && html`<${QualityReport} quality=${quality} />`}
    ${gate.usage?.sections > 0 && html`<${WritingCost} usage=${gate.usage} />`}
    <${ErrorNotice} error=${error} />
    ${mode === "read" &&
    html`<div class="actions gate-actions">
      <button type="button" disabled=${busy || !canAct} onClick=${() => decide({ action: "approve" })}>
        ${gate.versions.length > 1 ? `Approve all ${gate.versions.length} documents` : "Approve"}
      </button>
      <button type="button" class="secondary" disabled=${busy || !canAct} onClick=${() => setMode("revise")}>
        Ask for a revision
      </button>
      <button type="button" class="secondary" disabled=${busy || !canAct || !version.data}
        onClick=${() => setMode("edit")}>Edit</button>
      ${!canAct && html`<span class="hint">Viewers can read; an editor or owner decides.</span>`}
    </div>`}
    ${mode === "revise" &&
    html`<${ReviseForm} busy=${busy} agent=${step.agent} draft=${drafts.revise} onCancel=${() => setMode("read")}
      onSubmit=${(feedback) => decide({ action: "revise", feedback })} />`}
    ${mode === "edit" && version.data &&
    html`<${EditForm} busy=${busy} initial=${version.data.content_md} draft=${drafts.edit}
      onCancel=${() => setMode("read")}
      onSubmit=${(content) => decide({ action: "edit", content })} />`}
    ${version.loading && html`<${Loading} what="Loading the document" />`}
    <${ErrorNotice} error=${version.error} onRetry=${version.reload} />
    ${mode !== "edit" && version.data && html`<${Markdown} source=${version.data.content_md} label=${ref.path} />`}
  </section>`;
}

/** What the agent's write of this step cost: sections, tokens, time. */
function WritingCost({ usage }) {
  const seconds = Math.round(usage.duration_ms / 100) / 10;
  const kept = usage.resumed ? ` (${usage.resumed} kept from an earlier attempt)` : "";
  return html`<p class="usage" aria-label="Writing cost">
    Written by ${usage.writer}: ${usage.sections} sections${kept},
    ${usage.tokens_in.toLocaleString()} tokens in, ${usage.tokens_out.toLocaleString()} out,
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

/** Drafts belong to one version of one document: a newer version starts afresh. */
function draftNames(ref) {
  const version = ref ? `${ref.document_id}.v${ref.version}` : "none";
  return { revise: `revise.${version}`, edit: `edit.${version}` };
}

function ReviseForm({ busy, agent, draft, onCancel, onSubmit }) {
  const [feedback, setFeedback, clear] = useDraft(draft, "");
  const discard = () => {
    clear();
    onCancel();
  };
  return html`<form class="revise" onSubmit=${(event) => { event.preventDefault(); onSubmit(feedback); }}>
    <label>What should the ${agent} change?
      <textarea rows="5" required maxlength="10000" value=${feedback} autofocus
        onInput=${(event) => setFeedback(event.currentTarget.value)}></textarea>
    </label>
    <div class="actions">
      <button type="submit" disabled=${busy || !feedback.trim()}>Send for revision</button>
      <button type="button" class="secondary" onClick=${discard}>Discard</button>
    </div>
  </form>`;
}

function EditForm({ busy, initial, draft, onCancel, onSubmit }) {
  const [content, setContent, clear] = useDraft(draft, initial);
  const [preview, setPreview] = useState(content);
  const discard = () => {
    clear();
    onCancel();
  };
  useEffect(() => {
    const timer = setTimeout(() => setPreview(content), 250);
    return () => clearTimeout(timer);
  }, [content]);
  return html`<form class="edit" onSubmit=${(event) => { event.preventDefault(); onSubmit(content); }}>
    <div class="editor">
      <label>Markdown
        <textarea class="markdown-input" rows="24" spellcheck="true" value=${content} autofocus
          onInput=${(event) => setContent(event.currentTarget.value)}></textarea>
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
