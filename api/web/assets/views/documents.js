import { html } from "../vendor/preact-htm.js";
import { Link } from "../router.js";
import { ErrorNotice, Loading, STEPS, useResource } from "../ui.js";

export function DocumentsView({ projectId }) {
  const documents = useResource(`/projects/${projectId}/documents`);
  if (documents.loading && !documents.data) return html`<${Loading} what="Loading the documents" />`;
  if (documents.error) return html`<${ErrorNotice} error=${documents.error} onRetry=${documents.reload} />`;
  if (documents.data.length === 0) return html`<p>No documents yet: they appear as the agents write them.</p>`;
  return html`<div class="documents">
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
