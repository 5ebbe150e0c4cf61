// Small pieces every view uses: loading a resource, showing an error in words, names.

import { html, useCallback, useEffect, useRef, useState } from "./vendor/preact-htm.js";
import { api, currentSession, DRAFT_PREFIX } from "./api.js";

export const STEPS = [
  { id: "description", title: "Project description", agent: "Business Analyst" },
  { id: "architecture", title: "Architecture", agent: "Solution Architect" },
  { id: "plan", title: "Implementation plan", agent: "Project Planner" },
  { id: "standards", title: "Engineering standards", agent: "Engineering Standards" },
];

export function stepInfo(stepId) {
  return STEPS.find((step) => step.id === stepId) || { id: stepId, title: stepId, agent: stepId };
}

/** An action a person starts (a form, a button): {busy, error, run(action)}. `run` awaits
 * the action, keeps its error for an ErrorNotice and ends `busy` either way. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const run = async (action) => {
    setBusy(true);
    setError(null);
    try {
      return await action();
    } catch (caught) {
      setError(caught);
      return undefined;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run };
}

/** Text a person is writing, kept in sessionStorage under `name` until `clear()`: it
 * survives a reload and a sign-in after the session expired. [value, setValue, clear]. */
export function useDraft(name, initial) {
  const key = DRAFT_PREFIX + name;
  const [value, setValue] = useState(() => sessionStorage.getItem(key) ?? initial);
  useEffect(() => {
    if (value === initial) sessionStorage.removeItem(key);
    else sessionStorage.setItem(key, value);
  }, [key, value, initial]);
  return [value, setValue, () => {
    sessionStorage.removeItem(key);
    setValue(initial);
  }];
}

export function hasDraft(name) {
  return sessionStorage.getItem(DRAFT_PREFIX + name) !== null;
}

export function forgetDrafts(names) {
  names.forEach((name) => sessionStorage.removeItem(DRAFT_PREFIX + name));
}

/** GET `path` (null skips); {data, error, loading, reload, setData}. */
export function useResource(path) {
  const [state, setState] = useState({ data: null, error: null, loading: path !== null });
  const load = useCallback(async () => {
    if (path === null) {
      setState({ data: null, error: null, loading: false });
      return;
    }
    setState((previous) => ({ ...previous, loading: true }));
    try {
      const data = await api(path);
      setState({ data, error: null, loading: false });
    } catch (error) {
      setState({ data: null, error, loading: false });
    }
  }, [path]);
  useEffect(() => {
    load();
  }, [load]);
  const setData = (data) => setState({ data, error: null, loading: false });
  return { ...state, reload: load, setData };
}

export function ErrorNotice({ error, onRetry, retryLabel = "Try again" }) {
  if (!error) return null;
  return html`<div class="notice error" role="alert">
    <p>${error.message || String(error)}</p>
    ${onRetry && html`<button type="button" onClick=${onRetry}>${retryLabel}</button>`}
  </div>`;
}

export function Loading({ what = "Loading" }) {
  return html`<p class="loading" role="status"><span class="spinner" aria-hidden="true"></span>${what}…</p>`;
}

export function formatTime(iso) {
  return iso ? new Date(iso).toLocaleString() : "";
}

export function formatBytes(size) {
  if (size === null || size === undefined) return "";
  return size < 1024 * 1024 ? `${(size / 1024).toFixed(1)} KB` : `${(size / 1024 / 1024).toFixed(1)} MB`;
}

/** A flash message carried across one navigation (e.g. "the run could not start"). */
let flash = null;
export function setFlash(message) {
  flash = message;
}
export function takeFlash() {
  const message = flash;
  flash = null;
  return message;
}

/** People by name, not id: `name(userId)` is the member's email once the team's members
 * are known (loaded once per team and page), else what it was given ("auto-approve"). */
let known = { tenant: null, names: new Map() };
export function useNames() {
  const tenant = currentSession()?.tenant ?? null;
  const members = useResource(known.tenant === tenant ? null : "/members");
  if (members.data && known.tenant !== tenant) {
    known = { tenant, names: new Map(members.data.map((member) => [member.user_id, member.email])) };
  }
  return (id) => known.names.get(id) || id;
}

/** Keys without a modifier, outside any field: `keys` maps event.key ("j", "A", "?") to
 * an action; nothing happens while `enabled` is false or a field has the focus. One
 * listener for the component's life, reading the latest keys (set as it renders). */
export function useShortcuts(keys, enabled = true) {
  const latest = useRef({ keys, enabled });
  latest.current = { keys, enabled };
  useEffect(() => {
    const onKey = (event) => {
      const { keys: current, enabled: active } = latest.current;
      if (!active || event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
      if (event.target.closest?.("input, textarea, select, [contenteditable], dialog[open]")) return;
      const action = current[event.key];
      if (!action) return;
      event.preventDefault();
      action();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);
}

/** A ref for the field a form opens on: it takes the focus once shown. */
export function useFocusOnMount() {
  const field = useRef(null);
  useEffect(() => {
    field.current?.focus();
  }, []);
  return field;
}

/** A textarea's keydown handler: Ctrl+Enter (⌘+Enter on a Mac) calls `send`. */
export function sendOnCtrlEnter(send) {
  return (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      send();
    }
  };
}

/** The feedback the workflow writes for an automatic quality revision starts with this. */
export function isQualityRevision(feedback) {
  return feedback.startsWith("Quality review (automatic)");
}
