// Paths under /app/ are the app's views; the browser's history is the only router state,
// so a reload or a shared link lands on the same view.

import { html, useEffect, useState } from "./vendor/preact-htm.js";

const listeners = new Set();

export function navigate(path, { replace = false } = {}) {
  history[replace ? "replaceState" : "pushState"](null, "", path);
  listeners.forEach((listener) => listener());
}

function here() {
  return { path: location.pathname.replace(/\/+$/, "") || "/", query: new URLSearchParams(location.search) };
}

export function useLocation() {
  const [current, setCurrent] = useState(here);
  useEffect(() => {
    const update = () => setCurrent(here());
    listeners.add(update);
    window.addEventListener("popstate", update);
    return () => {
      listeners.delete(update);
      window.removeEventListener("popstate", update);
    };
  }, []);
  return current;
}

/** Replace the query string without a new history entry (e.g. the versions being compared). */
export function setQuery(values) {
  const query = new URLSearchParams(location.search);
  for (const [key, value] of Object.entries(values)) {
    if (value === null || value === undefined || value === "") query.delete(key);
    else query.set(key, String(value));
  }
  const search = query.toString();
  navigate(location.pathname + (search ? `?${search}` : ""), { replace: true });
}

/** `pattern` like "/app/projects/:project"; the named parts, or null when it does not match. */
export function match(pattern, path) {
  const wanted = pattern.split("/");
  const parts = path.split("/");
  if (wanted.length !== parts.length) return null;
  const params = {};
  for (let i = 0; i < wanted.length; i += 1) {
    if (wanted[i].startsWith(":")) params[wanted[i].slice(1)] = decodeURIComponent(parts[i]);
    else if (wanted[i] !== parts[i]) return null;
  }
  return params;
}

export function Link({ href, children, ...rest }) {
  const follow = (event) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(href);
  };
  return html`<a href=${href} onClick=${follow} ...${rest}>${children}</a>`;
}
