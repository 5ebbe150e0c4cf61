// docflow's web app: the shell (header, sign-out, error boundary) and the views by path.

import { html, render, useEffect, useErrorBoundary, useState } from "./vendor/preact-htm.js";
import { currentSession, SIGNED_OUT_EVENT, signOut } from "./api.js";
import { Link, match, navigate, useLocation } from "./router.js";
import { DocumentHistoryView } from "./views/history.js";
import { DocumentsView } from "./views/documents.js";
import { ExportView } from "./views/export.js";
import { ProjectFrame } from "./views/project.js";
import { ProjectsView } from "./views/projects.js";
import { RunView } from "./views/run.js";
import { SignInView } from "./views/signin.js";

const PROJECT_VIEWS = [
  ["/app/projects/:project", RunView, "run"],
  ["/app/projects/:project/documents", DocumentsView, "documents"],
  ["/app/projects/:project/documents/:document", DocumentHistoryView, "documents"],
  ["/app/projects/:project/export", ExportView, "export"],
];

function App() {
  const { path, query } = useLocation();
  const [session, setSession] = useState(currentSession);
  const [signOutReason, setSignOutReason] = useState("");

  useEffect(() => {
    const onSignedOut = (event) => {
      setSession(null);
      setSignOutReason(event.detail);
      if (!location.pathname.startsWith("/app/signin")) {
        const next = location.pathname + location.search;
        navigate(`/app/signin?next=${encodeURIComponent(next)}`, { replace: true });
      }
    };
    window.addEventListener(SIGNED_OUT_EVENT, onSignedOut);
    return () => window.removeEventListener(SIGNED_OUT_EVENT, onSignedOut);
  }, []);

  useEffect(() => {
    document.querySelector("main h1")?.focus({ preventScroll: true });
  }, [path]);

  useEffect(() => {
    if (session === null && path !== "/app/signin") {
      navigate(`/app/signin?next=${encodeURIComponent(path + location.search)}`, { replace: true });
    } else if (session !== null && path === "/app/signin") {
      navigate("/app/projects", { replace: true });
    }
  }, [session, path]);

  if (!session) {
    const done = (newSession) => {
      setSession(newSession);
      setSignOutReason("");
      const next = query.get("next");
      navigate(next && next.startsWith("/app/") && !next.startsWith("/app/signin") ? next : "/app/projects", {
        replace: true,
      });
    };
    return html`<${Shell} session=${null}>
      <${SignInView} onSignedIn=${done} reason=${signOutReason} />
    <//>`;
  }
  return html`<${Shell} session=${session}>${route(path, query)}<//>`;
}

function route(path, query) {
  if (path === "/app" || path === "/app/projects") return html`<${ProjectsView} />`;
  for (const [pattern, View, tab] of PROJECT_VIEWS) {
    const params = match(pattern, path);
    if (params) {
      return html`<${ProjectFrame} key=${params.project} projectId=${params.project} tab=${tab}>
        <${View} ...${params} projectId=${params.project} query=${query} />
      <//>`;
    }
  }
  return html`<section>
    <h1 tabindex="-1">Page not found</h1>
    <p>There is nothing at this address. <${Link} href="/app/projects">Go to your projects</${Link}>.</p>
  </section>`;
}

function Shell({ session, children }) {
  return html`
    <a class="skip" href="#main">Skip to content</a>
    <header class="topbar">
      <${Link} class="brand" href="/app/projects">docflow</${Link}>
      ${session &&
      html`<nav aria-label="Account">
        <span class="who">${session.email} · ${session.tenant} · ${session.role}</span>
        <button type="button" class="secondary" onClick=${() => signOut("You signed out.", { forget: true })}>
          Sign out
        </button>
      </nav>`}
    </header>
    <main id="main" tabindex="-1"><${Boundary}>${children}<//></main>
  `;
}

function Boundary({ children }) {
  const [error, reset] = useErrorBoundary((caught) => console.error(caught));
  if (error) {
    return html`<section class="notice error" role="alert">
      <h1 tabindex="-1">This page ran into a problem</h1>
      <p>${String(error.message || error)}</p>
      <button type="button" onClick=${() => { reset(); location.reload(); }}>Reload the page</button>
    </section>`;
  }
  return children;
}

const root = document.getElementById("root");
root.replaceChildren(); // the "loading" message stays only if this module never runs
render(html`<${App} />`, root);
