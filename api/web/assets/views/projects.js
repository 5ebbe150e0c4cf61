import { html } from "../vendor/preact-htm.js";
import { api } from "../api.js";
import { Link, navigate } from "../router.js";
import { ErrorNotice, formatTime, Loading, setFlash, useAction, useResource } from "../ui.js";

export function ProjectsView() {
  const projects = useResource("/projects");
  return html`<section>
    <h1 tabindex="-1">Projects</h1>
    <div class="columns">
      <div>
        ${projects.loading && html`<${Loading} what="Loading projects" />`}
        <${ErrorNotice} error=${projects.error} onRetry=${projects.reload} />
        ${projects.data &&
        (projects.data.length === 0
          ? html`<p>No projects yet: describe your first idea.</p>`
          : html`<ul class="project-list">
              ${projects.data.map((project) => html`<${ProjectRow} key=${project.id} project=${project} />`)}
            </ul>`)}
      </div>
      <${NewProject} />
    </div>
  </section>`;
}

const RUN_STATUS = {
  running: "agents writing",
  awaiting_approval: "waiting for your review",
  exporting: "packaging",
  completed: "completed",
  failed: "failed: restart it",
  cancelled: "cancelled",
};

function ProjectRow({ project }) {
  const run = useResource(`/projects/${project.id}/runs/current`);
  const status = run.data ? run.data.status : run.error?.status === 404 ? "none" : null;
  return html`<li>
    <${Link} href=${`/app/projects/${project.id}`}>${project.name}</${Link}>
    ${status && html`<span class=${`pill run-${status}`}>${RUN_STATUS[status] || "no run yet"}</span>`}
    <span class="meta">created ${formatTime(project.created_at)}</span>
    <p>${project.idea.slice(0, 160)}${project.idea.length > 160 ? "…" : ""}</p>
  </li>`;
}

function NewProject() {
  const { busy, error, run } = useAction();

  const submit = (event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const body = {
      name: String(form.get("name")).trim(),
      idea: String(form.get("idea")).trim(),
      constraints: String(form.get("constraints")).trim(),
    };
    run(async () => {
      const project = await api("/projects", { method: "POST", body });
      try {
        await api(`/projects/${project.id}/runs`, { method: "POST", body: {} });
      } catch (caught) {
        setFlash(`The project was created, but its run did not start. ${caught.message}`);
      }
      navigate(`/app/projects/${project.id}`);
    });
  };

  return html`<form class="card new-project" onSubmit=${submit} aria-labelledby="new-project-title">
    <h2 id="new-project-title">New project</h2>
    <label>Name <input name="name" required maxlength="200" placeholder="GardenShare" /></label>
    <label>Idea
      <textarea name="idea" required minlength="10" maxlength="20000" rows="6"
        placeholder="Who is it for, what problem does it solve, what should it do?"></textarea>
    </label>
    <label>Constraints <span class="optional">(optional)</span>
      <textarea name="constraints" maxlength="5000" rows="3"
        placeholder="Budget, team, deadlines, hosting, regulations…"></textarea>
    </label>
    <${ErrorNotice} error=${error} />
    <button type="submit" disabled=${busy}>${busy ? "Creating…" : "Create and start"}</button>
  </form>`;
}
