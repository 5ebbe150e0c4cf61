// The frame of every project view: the project's name and its tabs. Keyed by project id,
// so nothing from another project stays on screen.

import { html } from "../vendor/preact-htm.js";
import { Link } from "../router.js";
import { ErrorNotice, Loading, useResource } from "../ui.js";

const TABS = [
  ["run", "Run", ""],
  ["documents", "Documents", "/documents"],
  ["export", "Export", "/export"],
];

export function ProjectFrame({ projectId, tab, children }) {
  const project = useResource(`/projects/${projectId}`);
  if (project.loading && !project.data) return html`<${Loading} what="Loading the project" />`;
  if (project.error) {
    return html`<section>
      <h1 tabindex="-1">Project unavailable</h1>
      <${ErrorNotice} error=${project.error} onRetry=${project.reload} />
      <p><${Link} href="/app/projects">Back to your projects</${Link}></p>
    </section>`;
  }
  const base = `/app/projects/${projectId}`;
  return html`<section class="project">
    <p class="crumbs"><${Link} href="/app/projects">Projects</${Link}> /</p>
    <h1 tabindex="-1">${project.data.name}</h1>
    <nav class="tabs" aria-label="Project">
      ${TABS.map(
        ([id, label, suffix]) => html`<${Link}
          href=${base + suffix}
          aria-current=${id === tab ? "page" : undefined}>${label}</${Link}>`,
      )}
    </nav>
    ${children}
  </section>`;
}
