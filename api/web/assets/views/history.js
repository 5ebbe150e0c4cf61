// One document: its versions and why each exists, any one rendered, two compared, and
// "make this version active" (a rollback: it names the later documents that go stale).

import { html, useState } from "../vendor/preact-htm.js";
import { api, currentSession } from "../api.js";
import { Markdown } from "../markdown.js";
import { Link, setQuery } from "../router.js";
import { DiffView } from "./diff.js";
import {
  ErrorNotice,
  formatTime,
  isQualityRevision,
  Loading,
  STEPS,
  useAction,
  useNames,
  useResource,
} from "../ui.js";

export function DocumentHistoryView({ projectId, document: documentId, query }) {
  const base = `/projects/${projectId}/documents/${documentId}`;
  const versions = useResource(`${base}/versions`);
  const latest = versions.data ? versions.data[versions.data.length - 1].version : null;
  const shown = Number(query.get("view")) || latest;
  const content = useResource(shown ? `${base}/versions/${shown}` : null);
  const [message, setMessage] = useState(null);
  const [confirming, setConfirming] = useState(null); // the version asked to be made active
  const activating = useAction();
  const name = useNames();
  if (versions.loading && !versions.data) return html`<${Loading} what="Loading the versions" />`;
  if (versions.error) return html`<${ErrorNotice} error=${versions.error} onRetry=${versions.reload} />`;

  const list = versions.data;
  const to = Number(query.get("to")) || latest;
  const from = Number(query.get("from")) || Math.max(1, to - 1);
  const canAct = currentSession()?.role !== "viewer";

  const activate = (version) =>
    activating.run(async () => {
      setMessage(null);
      setConfirming(null);
      const result = await api(`${base}/versions/${version}/activate`, { method: "POST" });
      const stale = result.downstream_marked_stale;
      setMessage(
        `Version ${result.accepted_version} is now the active one.` +
          (stale ? ` ${stale} document(s) of later steps are marked stale.` : ""),
      );
      versions.reload();
    });

  return html`<div class="history">
    <p><${Link} href=${`/app/projects/${projectId}/documents`}>All documents</${Link}></p>
    ${content.data && html`<h2 class="doc-heading"><code>${content.data.path}</code></h2>`}
    ${message && html`<p class="notice info" role="status">${message}</p>`}
    <${ErrorNotice} error=${activating.error} />
    <section class="card">
      <h2>Versions</h2>
      <table class="doc-table versions">
        <thead><tr><th scope="col">Version</th><th scope="col">Why it exists</th><th scope="col">When</th><th scope="col">State</th><th scope="col"></th></tr></thead>
        <tbody>
          ${list.map(
            (entry) => html`<tr key=${entry.id} data-version=${entry.version}>
              <td>v${entry.version}</td>
              <td class="why">${whyItExists(entry, list, name)} <span class="meta">(${entry.writer})</span></td>
              <td>${formatTime(entry.created_at)}</td>
              <td>${entry.accepted ? html`<span class="pill active">active</span>` : ""}</td>
              <td class="row-actions"><div>
                <button type="button" class="link" aria-pressed=${entry.version === shown}
                  onClick=${() => showVersion(entry.version)}>Read</button>
                ${!entry.accepted &&
                html`<button type="button" class="secondary" disabled=${!canAct || activating.busy}
                  aria-expanded=${confirming === entry.version}
                  onClick=${() => setConfirming(entry.version)}>Make this version active</button>`}
              </div></td>
            </tr>`,
          )}
        </tbody>
      </table>
      ${confirming && html`<${ConfirmActivation} projectId=${projectId} documentId=${documentId}
        version=${confirming} busy=${activating.busy} onConfirm=${() => activate(confirming)}
        onCancel=${() => setConfirming(null)} />`}
    </section>
    ${list.length > 1 && html`<${Compare} base=${base} list=${list} from=${from} to=${to} />`}
    <${VersionReader} version=${shown} content=${content} />
  </div>`;
}

/** Why a version exists, in words: the agent's first draft, a revision and its feedback,
 * an automatic quality revision, a person's edit, an edit re-applied to a new version. */
export function whyItExists(entry, list, name) {
  const activated = entry.meta?.activated;
  const why = originOf(entry, list, name);
  if (!activated) return why;
  const instead = activated.instead_of ? ` instead of v${activated.instead_of}` : "";
  return html`${why} <span class="activated">Made active again${instead} by ${name(activated.by)}, ${formatTime(activated.at)}.</span>`;
}

function originOf(entry, list, name) {
  const meta = entry.meta || {};
  if (entry.source === "edit") {
    return `Edited by ${name(entry.created_by)}${meta.edited_from ? ` from v${meta.edited_from}` : ""}.`;
  }
  if (entry.source === "merge") {
    const places = meta.merge.conflicts.length;
    return `The edit of v${meta.merge.edit_version} re-applied to the agent's v${meta.merge.agent_version}` +
      (places ? `; ${places} conflicting place${places === 1 ? "" : "s"} kept as the person wrote them.` : ".");
  }
  if (entry.created_by === "docflow export") return "Made by the package export.";
  const feedback = (meta.feedback || []).at(-1);
  const merged = list.find((other) => other.meta?.merge?.agent_version === entry.version);
  const shown = merged ? ` Not reviewed as is: v${merged.version} re-applies an edit to it.` : "";
  if (!feedback) return `Written by the ${entry.created_by}.${shown}`;
  if (isQualityRevision(feedback)) {
    return `Rewritten by the ${entry.created_by} to fix quality findings.${shown}`;
  }
  const quoted = feedback.length > 160 ? `${feedback.slice(0, 160)}…` : feedback;
  return html`Revised by the ${entry.created_by}, asked: <q>${quoted}</q>.${shown}`;
}

/** "Make vN active?" naming the documents of later steps that will go stale. */
function ConfirmActivation({ projectId, documentId, version, busy, onConfirm, onCancel }) {
  const documents = useResource(`/projects/${projectId}/documents`);
  if (!documents.data) {
    return html`<div class="notice info">${documents.loading && html`<${Loading} what="Finding what depends on it" />`}
      <${ErrorNotice} error=${documents.error} onRetry=${documents.reload} /></div>`;
  }
  const order = STEPS.map((step) => step.id);
  const step = documents.data.find((document) => document.id === documentId)?.step;
  const later = documents.data.filter(
    (document) => order.indexOf(document.step) > order.indexOf(step) && document.accepted_version,
  );
  return html`<div class="notice info confirm" role="alertdialog" aria-labelledby="confirm-title" aria-describedby="confirm-body">
    <p id="confirm-title"><strong>Make version ${version} the active one?</strong></p>
    <div id="confirm-body">
      ${later.length === 0
        ? html`<p>No document of a later step depends on it.</p>`
        : html`<p>${later.length} document${later.length === 1 ? "" : "s"} of later steps will be marked
          stale, to be regenerated from it: any edit made to them is re-applied to their new versions.</p>
          <ul class="stale-list">${later.map((document) => html`<li key=${document.id}><code>${document.path}</code></li>`)}</ul>`}
    </div>
    <div class="actions">
      <button type="button" disabled=${busy} onClick=${onConfirm}>Make version ${version} active</button>
      <button type="button" class="secondary" onClick=${onCancel}>Keep the current one</button>
    </div>
  </div>`;
}

function showVersion(version) {
  setQuery({ view: version });
  requestAnimationFrame(() => document.getElementById("reader-title")?.scrollIntoView());
}

function VersionReader({ version, content }) {
  return html`<section class="card" aria-labelledby="reader-title">
    <h2 id="reader-title">Version ${version}</h2>
    ${content.loading && html`<${Loading} what="Loading the version" />`}
    <${ErrorNotice} error=${content.error} onRetry=${content.reload} />
    ${content.data && html`<${Markdown} source=${content.data.content_md} label=${`Version ${version}`} />`}
  </section>`;
}

function Compare({ base, list, from, to }) {
  const diff = useResource(`${base}/diff?from=${from}&to=${to}`);
  const picker = (name, value) => html`<label>${name === "from" ? "From" : "To"}
    <select name=${name} value=${value} aria-label=${name === "from" ? "From version" : "To version"} onChange=${(event) => setQuery({ [name]: event.currentTarget.value })}>
      ${list.map((entry) => html`<option value=${entry.version}>v${entry.version}</option>`)}
    </select>
  </label>`;
  return html`<section class="card" aria-labelledby="compare-title">
    <h2 id="compare-title">Compare versions</h2>
    <div class="compare-pickers">${picker("from", from)} ${picker("to", to)}</div>
    ${diff.loading && html`<${Loading} what="Comparing" />`}
    <${ErrorNotice} error=${diff.error} onRetry=${diff.reload} />
    ${diff.data && html`<${DiffView} diff=${diff.data} />`}
  </section>`;
}
