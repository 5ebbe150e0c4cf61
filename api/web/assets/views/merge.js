// A version whose text is the agent's new one with a person's edit re-applied
// (source "merge", activities/edits.py): what happened, and each place where both changed
// the same lines, the person's text (kept) beside the agent's, to settle one by one.

import { html, useState } from "../vendor/preact-htm.js";
import { ErrorNotice, Loading, useResource } from "../ui.js";

export function MergeNotice({ projectId, documentId, content, merge, busy, canAct, onSettle }) {
  const conflicts = merge.conflicts || [];
  const agent = useResource(
    conflicts.length ? `/projects/${projectId}/documents/${documentId}/versions/${merge.agent_version}` : null,
  );
  return html`<section class="notice info merge-notice" aria-labelledby="merge-title">
    <h3 id="merge-title">Your edit is kept</h3>
    <p>The agent wrote this document again (v${merge.agent_version}); the changes of the edited
      v${merge.edit_version} are re-applied to it here.
      ${conflicts.length === 0
        ? " Nothing conflicted."
        : ` In ${conflicts.length === 1 ? "one place" : `${conflicts.length} places`} you and the agent
          changed the same lines: your text is kept unless you take the agent's.`}</p>
    ${agent.loading && html`<${Loading} what="Loading the agent's text" />`}
    <${ErrorNotice} error=${agent.error} onRetry=${agent.reload} />
    ${agent.data && html`<${Conflicts} conflicts=${conflicts} content=${content}
      agentContent=${agent.data.content_md} busy=${busy} canAct=${canAct} onSettle=${onSettle} />`}
  </section>`;
}

function Conflicts({ conflicts, content, agentContent, busy, canAct, onSettle }) {
  const [useAgent, setUseAgent] = useState(() => conflicts.map(() => false));
  const mine = content.split("\n");
  const theirs = agentContent.split("\n");
  const choose = (index, value) => setUseAgent(useAgent.map((old, at) => (at === index ? value : old)));
  const taken = useAgent.filter(Boolean).length;
  return html`<form class="conflicts" onSubmit=${(event) => {
    event.preventDefault();
    onSettle(settle(content, agentContent, conflicts, useAgent));
  }}>
    ${conflicts.map((conflict, index) => html`<fieldset class="conflict" key=${index}>
      <legend>Place ${index + 1} of ${conflicts.length}, at line ${conflict.line + 1}</legend>
      <div class="conflict-sides">
        <div><span class="label">Your text${useAgent[index] ? "" : " (kept)"}</span>
          <pre tabindex="0">${lines(mine, conflict.line, conflict.lines) || "(you removed these lines)"}</pre></div>
        <div><span class="label">The agent's new text${useAgent[index] ? " (taken)" : ""}</span>
          <pre tabindex="0">${lines(theirs, conflict.theirs_line, conflict.theirs_lines) || "(the agent removed these lines)"}</pre></div>
      </div>
      <div class="choice">
        <label><input type="radio" name=${`conflict-${index}`} checked=${!useAgent[index]}
          onChange=${() => choose(index, false)} /> Keep mine</label>
        <label><input type="radio" name=${`conflict-${index}`} checked=${useAgent[index]}
          onChange=${() => choose(index, true)} /> Use the agent's</label>
      </div>
    </fieldset>`)}
    <button type="submit" disabled=${busy || !canAct || taken === 0}>
      Save my choices${taken ? ` (${taken} of the agent's)` : ""}
    </button>
  </form>`;
}

function lines(all, start, count) {
  return all.slice(start, start + count).join("\n");
}

/** `content` with the agent's lines put in place of the person's where `useAgent[i]`. */
export function settle(content, agentContent, conflicts, useAgent) {
  const merged = content.split("\n");
  const theirs = agentContent.split("\n");
  const chosen = conflicts.filter((_, index) => useAgent[index]);
  // From the bottom up, so the line numbers above each place still hold.
  for (const conflict of [...chosen].sort((a, b) => b.line - a.line)) {
    const replacement = theirs.slice(conflict.theirs_line, conflict.theirs_line + conflict.theirs_lines);
    merged.splice(conflict.line, conflict.lines, ...replacement);
  }
  return merged.join("\n");
}
