// Export: start one, follow it to "ready", download the ZIP (a signed, expiring link).

import { html, useEffect, useState } from "../vendor/preact-htm.js";
import { api, currentSession, endSentence } from "../api.js";
import { setQuery } from "../router.js";
import { ErrorNotice, formatBytes, formatTime, useAction } from "../ui.js";

export function ExportView({ projectId, query }) {
  const exportId = query.get("export");
  const [status, setStatus] = useState(null);
  const [error, setError] = useState(null);
  const starting = useAction();

  useEffect(() => {
    setStatus(null);
    if (!exportId) return undefined;
    let timer = null;
    let stopped = false;
    const poll = async () => {
      try {
        const current = await api(`/projects/${projectId}/exports/${exportId}`);
        if (stopped) return;
        setStatus(current);
        setError(null);
        if (current.status === "pending") timer = setTimeout(poll, 500);
      } catch (caught) {
        if (stopped) return;
        setError(caught);
        if (caught.status === 0 || caught.status === 429 || caught.status >= 500) timer = setTimeout(poll, 2000);
      }
    };
    poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [projectId, exportId]);

  const start = () =>
    starting.run(async () => {
      const started = await api(`/projects/${projectId}/exports`, { method: "POST" });
      setQuery({ export: started.id });
    });

  return html`<section class="card export" aria-labelledby="export-title">
    <h2 id="export-title">Export the package</h2>
    <p>The ZIP holds every accepted document, a README and a manifest with each file's hash.</p>
    <button type="button" disabled=${starting.busy || currentSession()?.role === "viewer"} onClick=${start}>
      ${exportId ? "Export again" : "Start the export"}
    </button>
    <${ErrorNotice} error=${starting.error || error} />
    ${status?.status === "pending" &&
    html`<label class="progress" role="status">Packaging the documents…
      <progress></progress></label>`}
    ${status?.status === "failed" &&
    html`<div class="notice error" role="alert"><p>The export failed: ${endSentence(status.detail || "no reason given")}</p></div>`}
    ${status?.status === "ready" && html`<${ReadyExport} status=${status} />`}
  </section>`;
}

function ReadyExport({ status }) {
  const files = status.manifest?.files || [];
  return html`<div class="ready" role="status">
    <p>
      <a class="button" href=${status.download_url} download>Download the ZIP</a>
      <span class="meta"> ${formatBytes(status.size)} · link valid until ${formatTime(status.download_expires_at)}</span>
    </p>
    <p class="meta">sha256 <code>${status.sha256}</code></p>
    <details open>
      <summary>${files.length} files</summary>
      <ul class="files">${files.map((file) => html`<li key=${file.path}><code>${file.path}</code> v${file.version}</li>`)}</ul>
    </details>
  </div>`;
}
