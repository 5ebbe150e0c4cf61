// A project's run: the four steps and their state, live progress from the event stream,
// and the gate where the person approves, asks for a revision, or edits.

import { html, useCallback, useEffect, useRef, useState } from "../vendor/preact-htm.js";
import { api, currentSession, endSentence } from "../api.js";
import { followRun } from "../events.js";
import { Link } from "../router.js";
import { ErrorNotice, Loading, STEPS, stepInfo, takeFlash, useNames, useResource } from "../ui.js";
import { GateReview } from "./gate.js";
import { announceGate, NotifyToggle } from "./notify.js";

const TERMINAL = new Set(["completed", "failed", "cancelled"]);
const LINK_LABELS = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Connection lost: reconnecting…",
  ended: "Run finished",
};

export function RunView({ projectId, query }) {
  const [run, setRun] = useState(undefined); // undefined: loading; null: no run yet
  const [error, setError] = useState(null);
  const [link, setLink] = useState("connecting");
  const [notice, setNotice] = useState(takeFlash);
  const [generation, setGeneration] = useState(0); // a new run (start, restart) follows anew
  const [writing, setWriting] = useState(null); // {step, sections}: section_progress of the write
  const refreshTimer = useRef(null);
  // After a completed run, a rollback leaves later documents stale: the run can redo them.
  const documents = useResource(run?.status === "completed" ? `/projects/${projectId}/documents` : null);
  const stale = (documents.data || []).filter((document) => document.stale);

  const refresh = useCallback(async () => {
    try {
      const state = await api(`/projects/${projectId}/runs/current`);
      setRun(state);
      setError(null);
      return state;
    } catch (caught) {
      if (caught.status === 404) {
        setRun(null);
        return null;
      }
      setError(caught);
      return undefined;
    }
  }, [projectId]);

  useEffect(() => {
    let stop = () => {};
    let cancelled = false;
    setLink("connecting");
    refresh().then((state) => {
      if (cancelled || !state) return;
      if (TERMINAL.has(state.status)) {
        setLink("ended");
        return;
      }
      const lastSeq = state.events.reduce((last, event) => Math.max(last, event.seq), 0);
      stop = followRun(projectId, lastSeq, {
        onDraft: (progress) => setWriting((previous) => withSection(previous, progress)),
        onEvent: (event) => {
          if (["step_started", "step_finished"].includes(event.type)) setWriting(null);
          if (event.type === "awaiting_approval") announceGate(stepInfo(event.step).title.toLowerCase());
          setRun((previous) => withEvent(previous, event));
          clearTimeout(refreshTimer.current);
          refreshTimer.current = setTimeout(refresh, 120);
        },
        onStatus: (status, problem) => {
          setLink(status);
          if (problem) setError(problem);
          if (status === "live") setError(null);
          if (status === "ended" && !problem) refresh(); // the run's last state
        },
      });
    });
    return () => {
      cancelled = true;
      stop();
      clearTimeout(refreshTimer.current);
    };
  }, [projectId, generation, refresh]);

  const act = async (path, body, message) => {
    setNotice(null);
    try {
      const state = await api(`/projects/${projectId}${path}`, { method: "POST", body });
      if (state) setRun(state);
      setNotice(message);
      setGeneration((value) => value + 1);
    } catch (caught) {
      setError(caught);
    }
  };

  if (run === undefined && !error) return html`<${Loading} what="Loading the run" />`;
  const canAct = currentSession()?.role !== "viewer";
  return html`<div class="run">
    ${notice && html`<p class="notice info" role="status">${notice}</p>`}
    <${ErrorNotice} error=${error} onRetry=${() => setGeneration((value) => value + 1)} />
    ${run === null &&
    html`<div class="card">
      <p>This project has no run yet.</p>
      <${RunEstimate} projectId=${projectId} />
      <button type="button" disabled=${!canAct}
        onClick=${() => act("/runs", {}, "The run started: the Business Analyst is writing.")}>
        Start the four-step flow
      </button>
    </div>`}
    ${run &&
    html`
      <${RunSummary} run=${run} link=${link} projectId=${projectId} canAct=${canAct} stale=${stale}
        onRestart=${() => act("/runs/current/restart", undefined, "The run restarted; accepted steps are kept.")}
        onRegenerate=${() => act("/runs/current/restart", undefined, "The agents rewrite the stale steps; the others are kept.")}
        onCancel=${() => confirm("Cancel this run? Accepted documents are kept.") &&
          act("/runs/current/cancel", undefined, "The run was cancelled.")} />
      <${StepList} run=${run} staleSteps=${new Set(stale.map((document) => document.step))} />
      ${run.status === "running" && writing?.step === run.step && html`<${LiveWriting} writing=${writing} />`}
      ${run.status === "awaiting_approval" && run.gate &&
      html`<${GateReview} key=${`${run.gate.step}-${run.gate.number}`} projectId=${projectId}
        gate=${run.gate} canAct=${canAct} shownDocument=${query.get("doc")} onDecided=${(state) => { setRun(state); refresh(); }} />`}
      <${ActivityLog} events=${run.events} />
    `}
  </div>`;
}

/** What a run will cost before it starts (GET .../runs/estimate): calls and tokens. */
function RunEstimate({ projectId }) {
  const estimate = useResource(`/projects/${projectId}/runs/estimate`);
  if (!estimate.data) return null;
  const { calls, tokens_in: tokensIn, tokens_out_max: tokensOut } = estimate.data;
  return html`<p class="estimate hint">
    About ${calls.toLocaleString()} model calls: about ${tokensIn.toLocaleString()} tokens in
    and at most ${tokensOut.toLocaleString()} out, before any revision.
  </p>`;
}

/** The write of a step so far, section by section, from its section_progress messages. */
function withSection(writing, progress) {
  const sections = writing?.step === progress.step ? writing.sections : {};
  return { step: progress.step, sections: { ...sections, [progress.section]: progress } };
}

const SECTION_STATES = { started: "started", writing: "writing", finished: "written", resumed: "kept" };

/** The agent writing: each section of the step as it comes (written, kept from an earlier
 * attempt, being written), the tokens so far, and the reply of the section being written
 * growing as the model streams it. */
function LiveWriting({ writing }) {
  const step = stepInfo(writing.step);
  const sections = Object.values(writing.sections);
  const current = sections.findLast((section) => ["started", "writing"].includes(section.state));
  const done = sections.filter((section) => ["finished", "resumed"].includes(section.state)).length;
  const tokensIn = sections.reduce((sum, section) => sum + (section.tokens_in || 0), 0);
  const tokensOut = sections.reduce((sum, section) => sum + (section.tokens_out || 0), 0);
  return html`<section class="card draft" aria-labelledby="draft-title">
    <h2 id="draft-title">The ${step.agent} is writing the ${step.title.toLowerCase()}</h2>
    <p class="meta" aria-live="polite">${plural(done, "section")} written${current ? `, now "${current.section}"` : ""}
      ${tokensIn + tokensOut > 0 ? ` · ${tokensIn.toLocaleString()} tokens in, ${tokensOut.toLocaleString()} out` : ""}</p>
    <ol class="sections">
      ${sections.map((section) => html`<li key=${section.section} class=${`section-${section.state}`}>
        <code>${section.section}</code> <span class="meta">${SECTION_STATES[section.state]}${section.chars
          ? `, ${section.chars.toLocaleString()} characters` : ""}</span>
      </li>`)}
    </ol>
    ${current?.text && html`<pre class="draft-text" tabindex="0" aria-label=${`The reply for ${current.section} so far`}>${current.text}</pre>`}
  </section>`;
}

function withEvent(run, event) {
  if (!run || run.events.some((known) => known.seq === event.seq)) return run;
  return { ...run, events: [...run.events, event] };
}

function RunSummary({ run, link, projectId, canAct, stale, onRestart, onRegenerate, onCancel }) {
  const staleSteps = new Set(stale.map((document) => document.step));
  const accepted = STEPS.filter(
    (step) => stepState(run, step.id) === "accepted" && !staleSteps.has(step.id),
  ).length;
  const current = stepInfo(run.step);
  const headline = {
    running: approvedNotAccepted(run, run.step)
      ? `The ${current.title.toLowerCase()} is approved: saving it`
      : `${current.agent} is writing: ${current.title}`,
    awaiting_approval: `Your turn: review the ${current.title.toLowerCase()}`,
    exporting: "All steps accepted: packaging the documents",
    completed: stale.length
      ? "Done, but some documents are stale"
      : "Done: all four steps are accepted and the package is ready",
    failed: `The run stopped at the ${current.title.toLowerCase()} step`,
    cancelled: "The run was cancelled",
  }[run.status];
  return html`<div class=${`card summary status-${run.status}`}>
    <div class="summary-head">
      <p class="headline" role="status" aria-live="polite">${headline}</p>
      <span class=${`pill link-${link}`} aria-live="polite">${LINK_LABELS[link]}</span>
    </div>
    <label class="progress">
      ${accepted} of 4 steps accepted
      <progress max="4" value=${accepted}></progress>
    </label>
    ${run.status === "running" && run.retrying &&
    html`<p class="notice info retrying" role="status">${run.retrying} The run goes on by itself.</p>`}
    ${run.status === "failed" &&
    html`<div class="notice error" role="alert">
      <p>What went wrong: ${endSentence(run.error || "the step did not finish")}</p>
      <p>Restarting keeps every accepted step and writes the rest again.</p>
    </div>`}
    ${stale.length > 0 &&
    html`<div class="notice info stale-notice">
      <p>${stale.length} document${stale.length === 1 ? " is" : "s are"} stale: an earlier version of a
        document they build on was made active (see the${" "}
        <${Link} href=${`/app/projects/${projectId}/documents`}>Documents</${Link}> tab). The agents can
        rewrite the stale steps; every other accepted document is kept.</p>
      <button type="button" disabled=${!canAct} onClick=${onRegenerate}>Regenerate the stale documents</button>
    </div>`}
    <div class="actions">
      ${TERMINAL.has(run.status) && run.status !== "completed" &&
      html`<button type="button" disabled=${!canAct} onClick=${onRestart}>Restart the run</button>`}
      ${run.status === "completed" &&
      html`<${Link} class="button" href=${`/app/projects/${projectId}/export${run.export_id ? `?export=${run.export_id}` : ""}`}>Download the package</${Link}>`}
      ${!TERMINAL.has(run.status) &&
      html`<button type="button" class="secondary" disabled=${!canAct} onClick=${onCancel}>Cancel the run</button>`}
      ${!TERMINAL.has(run.status) && html`<${NotifyToggle} />`}
    </div>
  </div>`;
}

/** The step's last event, of those that say where it stands. */
function lastOf(run, stepId, types) {
  return run.events.findLast((event) => event.step === stepId && types.includes(event.type));
}

/** Approved, and the flow has not yet moved on to the next step: it is being saved. */
function approvedNotAccepted(run, stepId) {
  const last = lastOf(run, stepId, ["decision", "step_accepted", "step_started"]);
  return last?.type === "decision" && last.data?.action === "approve";
}

function stepState(run, stepId) {
  if (run.step === stepId && run.status === "running" && approvedNotAccepted(run, stepId)) return "saving";
  if (run.step === stepId) {
    return {
      running: "writing",
      awaiting_approval: "review",
      failed: "failed",
      cancelled: "cancelled",
    }[run.status] || "accepted";
  }
  if (run.accepted?.[stepId]?.length) return "accepted";
  if (["export", "done"].includes(run.step)) return "accepted";
  return "waiting";
}

const STATE_LABELS = {
  writing: "writing…",
  saving: "approved: saving…",
  review: "waiting for your review",
  accepted: "accepted",
  failed: "failed",
  cancelled: "cancelled",
  waiting: "not started",
  stale: "stale: an earlier document changed",
};

function StepList({ run, staleSteps }) {
  return html`<ol class="steps" aria-label="Steps">
    ${STEPS.map((step) => {
      const accepted = stepState(run, step.id);
      const state = accepted === "accepted" && staleSteps.has(step.id) ? "stale" : accepted;
      const starts = eventsOf(run, step.id, "step_started");
      const drafts = starts.length;
      const automatic = eventsOf(run, step.id, "quality_revision").length;
      const memory = memoryState(run, step.id);
      const finished = eventsOf(run, step.id, "step_finished").at(-1);
      return html`<li key=${step.id} class=${`step step-${state}`} data-step=${step.id}
        aria-current=${state === "writing" || state === "review" ? "step" : undefined}>
        <span class="step-title">${step.title}</span>
        <span class="step-agent">${step.agent}</span>
        <span class="step-state">${STATE_LABELS[state]}${state === "writing" &&
        html` <${Elapsed} since=${starts.at(-1)?.at} />`}</span>
        ${drafts > 0 &&
        html`<span class="step-meta">${plural(drafts, "draft")}${automatic ? `, ${plural(automatic, "automatic quality revision")}` : ""}</span>`}
        ${finished && html`<span class="step-meta writer">${writtenBy(finished)}</span>`}
        ${memory && html`<span class="step-meta memory">${memory}</span>`}
      </li>`;
    })}
  </ol>`;
}

/** The last write of a step: its writer (the model, or the offline writer), tokens, time. */
function writtenBy(finished) {
  const data = finished.data || {};
  const tokens = (data.tokens_in || 0) + (data.tokens_out || 0);
  const seconds = data.duration_ms ? ` in ${Math.round(data.duration_ms / 100) / 10} s` : "";
  const writer = data.writer ? String(data.writer).split(" (")[0] : "the agent";
  return `by ${writer}${tokens ? `, ${tokens.toLocaleString()} tokens` : ""}${seconds}`;
}

/** Where the accepted step is in project memory, from its last memory event. */
function memoryState(run, stepId) {
  const last = lastOf(run, stepId, ["memory_indexing", "memory_indexed", "memory_failed"]);
  if (!last) return null;
  if (last.type === "memory_indexing") return "adding to project memory…";
  if (last.type === "memory_indexed") return "in project memory";
  return "not in project memory";
}

/** "for 1 min 05 s", ticking: a model-backed step takes minutes and sends nothing meanwhile. */
function Elapsed({ since }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  if (!since) return null;
  const seconds = Math.max(0, Math.round((now - Date.parse(since)) / 1000));
  const minutes = Math.floor(seconds / 60);
  const text = minutes ? `${minutes} min ${String(seconds % 60).padStart(2, "0")} s` : `${seconds} s`;
  return html`<span class="elapsed">for ${text}</span>`;
}

function eventsOf(run, stepId, type) {
  return run.events.filter((event) => event.step === stepId && event.type === type);
}

function plural(count, noun) {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

const DECISIONS = { approve: "approved", revise: "asked for a revision of", edit: "edited" };
const LOG_SHOWN = 40; // the newest events; the count says how many there are

function ActivityLog({ events }) {
  const name = useNames();
  const recent = events.slice(-LOG_SHOWN).reverse();
  return html`<details class="card activity">
    <summary>Activity (${events.length} events${events.length > LOG_SHOWN ? `, the last ${LOG_SHOWN} shown` : ""}, newest first)</summary>
    <ol class="events" reversed start=${events.length}>
      ${recent.map(
        (event) => html`<li key=${event.seq}>
          <time datetime=${event.at}>${new Date(event.at).toLocaleTimeString()}</time>
          ${describeEvent(event, name)}
        </li>`,
      )}
    </ol>
  </details>`;
}

export function describeEvent(event, name = (id) => id) {
  const step = event.step ? stepInfo(event.step) : null;
  const data = event.data || {};
  switch (event.type) {
    case "run_started":
      return "The run started.";
    case "step_started":
      return `${step.agent} started writing${data.agent_revision ? " a revision" : ""}.`;
    case "version_created":
      if (data.source === "merge") return `${data.path} version ${data.version}: the edit re-applied to the agent's new text.`;
      if (data.source === "edit") return `${data.path} version ${data.version} saved: edited by hand.`;
      return `${data.path} version ${data.version} written by the ${step.agent}.`;
    case "step_finished":
      return `${step.agent} finished: ${data.documents} document(s).`;
    case "quality_report":
      return `Quality check of ${data.path} v${data.version}: ${data.passed ? "passed" : "needs work"}.`;
    case "quality_revision":
      return `${step.agent} revises automatically to fix quality findings.`;
    case "awaiting_approval":
      return `Waiting for your review of the ${step.title.toLowerCase()}.`;
    case "decision":
      if (data.by === "auto-approve") return `The ${step.title.toLowerCase()} was approved automatically.`;
      return `${name(data.by)} ${DECISIONS[data.action] || data.action} the ${step.title.toLowerCase()}.`;
    case "step_accepted":
      return `${step.title} accepted.`;
    case "step_skipped":
      return `${step.title} kept from an earlier run.`;
    case "memory_indexing":
      return `Adding the accepted ${step.title.toLowerCase()} to project memory.`;
    case "memory_indexed":
      return `Project memory updated: ${data.chunks} passages.`;
    case "memory_failed":
      return `Project memory could not be updated: ${endSentence(data.reason || "no reason given")}`;
    case "export_started":
      return "Packaging the documents.";
    case "export_finished":
      return "The package is ready.";
    case "run_completed":
      return "The run completed.";
    case "run_failed":
      return `The run failed: ${endSentence(data.reason || "no reason given")}`;
    case "run_cancelled":
      return "The run was cancelled.";
    default:
      return event.type.replaceAll("_", " ");
  }
}
