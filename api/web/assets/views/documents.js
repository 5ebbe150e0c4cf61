import { html } from "../vendor/preact-htm.js";
import { Markdown } from "../markdown.js";
import { Link, setQuery } from "../router.js";
import { ErrorNotice, Loading, STEPS, useResource } from "../ui.js";

export function DocumentsView({ projectId, query }) {
  const documents = useResource(`/projects/${projectId}/documents`);
  if (documents.loading && !documents.data) return html`<${Loading} what="Loading the documents" />`;
  if (documents.error) return html`<${ErrorNotice} error=${documents.error} onRetry=${documents.reload} />`;
  if (documents.data.length === 0) return html`<p>No documents yet: they appear as the agents write them.</p>`;
  return html`<div class="documents">
    <${MemorySearch} projectId=${projectId} question=${query.get("q") || ""} />
    ${STEPS.map((step) => {
      const mine = documents.data.filter((document) => document.step === step.id);
      if (mine.length === 0) return null;
      return html`<section key=${step.id} class="card">
        <h2>${step.title} <span class="meta">by the ${step.agent}</span></h2>
        <table class="doc-table">
          <thead><tr><th scope="col">Document</th><th scope="col">Active</th><th scope="col">Latest</th><th scope="col"></th></tr></thead>
          <tbody>
            ${mine.map(
              (document) => html`<tr key=${document.id}>
                <td><${Link} href=${`/app/projects/${projectId}/documents/${document.id}`}>${document.path}</${Link}>
                  <span class="meta"> ${document.title}</span></td>
                <td>${document.accepted_version ? `v${document.accepted_version}` : "none yet"}</td>
                <td>v${document.latest_version}</td>
                <td>${document.stale && html`<span class="pill stale" title="An earlier document changed since this one was accepted">stale</span>`}</td>
              </tr>`,
            )}
          </tbody>
        </table>
      </section>`;
    })}
  </div>`;
}

/** Passages of the accepted documents closest to a question (the project's memory). */
function MemorySearch({ projectId, question }) {
  const path = question ? `/projects/${projectId}/search?${new URLSearchParams({ q: question, limit: "8" })}` : null;
  const results = useResource(path);
  const submit = (event) => {
    event.preventDefault();
    setQuery({ q: String(new FormData(event.currentTarget).get("q")).trim() });
  };
  return html`<section class="card search" aria-labelledby="search-title">
    <h2 id="search-title">Search the accepted documents</h2>
    <form role="search" onSubmit=${submit}>
      <label>Question
        <input name="q" type="search" value=${question} maxlength="2000" placeholder="How are payments handled?" />
      </label>
      <button type="submit">Search</button>
    </form>
    ${results.loading && html`<${Loading} what="Searching" />`}
    <${ErrorNotice} error=${results.error} onRetry=${results.reload} />
    ${results.data &&
    (results.data.length === 0
      ? html`<p>Nothing found. Only accepted documents are searched.</p>`
      : html`<ol class="passages">
          ${results.data.map(
            (passage) => html`<li key=${`${passage.version_id}-${passage.chunk_index}`}>
              <p><${Link} href=${`/app/projects/${projectId}/documents/${passage.document_id}?view=${passage.version}`}>${passage.path}</${Link}>
                ${passage.heading && html`<span class="meta"> · ${passage.heading}</span>`}
                <span class="meta"> · v${passage.version} · relevance ${passage.score.toFixed(2)}</span></p>
              <blockquote tabindex="0"><${Markdown} compact source=${passage.text} label=${`Passage of ${passage.path}`} /></blockquote>
            </li>`,
          )}
        </ol>`)}
  </section>`;
}
