// One document: its versions, any one rendered, two compared side by side, and
// "make this version active" (a rollback; later steps' documents become stale).

import { html, useState } from "../vendor/preact-htm.js";
import { api, currentSession } from "../api.js";
import { Markdown } from "../markdown.js";
import { Link, setQuery } from "../router.js";
import { ErrorNotice, formatTime, Loading, useAction, useResource } from "../ui.js";

export function DocumentHistoryView({ projectId, document: documentId, query }) {
  const base = `/projects/${projectId}/documents/${documentId}`;
  const versions = useResource(`${base}/versions`);
  const latest = versions.data ? versions.data[versions.data.length - 1].version : null;
  const shown = Number(query.get("view")) || latest;
  const content = useResource(shown ? `${base}/versions/${shown}` : null);
  const [message, setMessage] = useState(null);
  const activating = useAction();
  if (versions.loading && !versions.data) return html`<${Loading} what="Loading the versions" />`;
  if (versions.error) return html`<${ErrorNotice} error=${versions.error} onRetry=${versions.reload} />`;

  const list = versions.data;
  const to = Number(query.get("to")) || latest;
  const from = Number(query.get("from")) || Math.max(1, to - 1);
  const canAct = currentSession()?.role !== "viewer";

  const activate = (version) =>
    activating.run(async () => {
      setMessage(null);
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
        <thead><tr><th scope="col">Version</th><th scope="col">Written by</th><th scope="col">When</th><th scope="col">State</th><th scope="col"></th></tr></thead>
        <tbody>
          ${list.map(
            (entry) => html`<tr key=${entry.id} data-version=${entry.version}>
              <td>v${entry.version}</td>
              <td>${entry.source} <span class="meta">(${entry.writer})</span></td>
              <td>${formatTime(entry.created_at)}</td>
              <td>${entry.accepted ? html`<span class="pill active">active</span>` : ""}</td>
              <td class="row-actions"><div>
                <button type="button" class="link" aria-pressed=${entry.version === shown}
                  onClick=${() => showVersion(entry.version)}>Read</button>
                ${!entry.accepted &&
                html`<button type="button" class="secondary" disabled=${!canAct}
                  onClick=${() => activate(entry.version)}>Make this version active</button>`}
              </div></td>
            </tr>`,
          )}
        </tbody>
      </table>
    </section>
    ${list.length > 1 && html`<${Compare} base=${base} list=${list} from=${from} to=${to} />`}
    <${VersionReader} version=${shown} content=${content} />
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
    ${diff.data && html`<${SideBySide} diff=${diff.data} />`}
  </section>`;
}

/** Pair each run of deletions with the insertions that follow it, line by line. */
export function sideBySideRows(lines) {
  const rows = [];
  let index = 0;
  while (index < lines.length) {
    const line = lines[index];
    if (line.op === "equal") {
      rows.push({ left: line, right: line, kind: "equal" });
      index += 1;
      continue;
    }
    const deleted = [];
    const inserted = [];
    while (index < lines.length && lines[index].op === "delete") deleted.push(lines[index++]);
    while (index < lines.length && lines[index].op === "insert") inserted.push(lines[index++]);
    for (let i = 0; i < Math.max(deleted.length, inserted.length); i += 1) {
      rows.push({ left: deleted[i] || null, right: inserted[i] || null, kind: "change" });
    }
  }
  return rows;
}

function SideBySide({ diff }) {
  const rows = sideBySideRows(diff.lines);
  const changed = rows.filter((row) => row.kind === "change").length;
  const cell = (line, side) =>
    line
      ? html`<td class="num">${side === "left" ? line.old_line : line.new_line}</td>
          <td class=${`text ${line.op}`}>${line.text}</td>`
      : html`<td class="num"></td><td class="text empty"></td>`;
  return html`<div class="diff-wrap">
    <p class="meta">${changed === 0 ? "The two versions are identical." : `${changed} changed line(s).`}</p>
    <table class="diff" aria-label=${`v${diff.from_version} and v${diff.to_version} side by side`}>
      <colgroup><col class="num" /><col /><col class="num" /><col /></colgroup>
      <thead><tr><th colspan="2" scope="col">v${diff.from_version}</th><th colspan="2" scope="col">v${diff.to_version}</th></tr></thead>
      <tbody>
        ${rows.map((row) => html`<tr class=${row.kind}>${cell(row.left, "left")}${cell(row.right, "right")}</tr>`)}
      </tbody>
    </table>
  </div>`;
}
