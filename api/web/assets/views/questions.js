// The description's clarifying questions as a form beside the draft: answer some or all,
// save them with the project, or have the Business Analyst write the next version from them.

import { html, useState } from "../vendor/preact-htm.js";
import { api } from "../api.js";
import { ErrorNotice, formatTime, Loading, useAction, useResource } from "../ui.js";

export function ClarifyingQuestions({ projectId, canAct, onRevise, busy: deciding }) {
  const questions = useResource(`/projects/${projectId}/questions`);
  const [edits, setEdits] = useState({});
  const { busy, error, run } = useAction();
  if (questions.loading && !questions.data) return html`<${Loading} what="Loading the questions" />`;
  if (questions.error) return html`<${ErrorNotice} error=${questions.error} onRetry=${questions.reload} />`;
  const list = questions.data?.questions ?? [];
  if (list.length === 0) return null;
  const valueOf = (question) => edits[question.id] ?? question.answer?.answer ?? "";
  const changed = list.filter((question) => valueOf(question).trim() !== (question.answer?.answer ?? ""));
  const answered = list.filter((question) => valueOf(question).trim()).length;
  const save = () =>
    run(async () => {
      if (changed.length === 0) return questions.data;
      const answers = changed.map((question) => ({ question_id: question.id, answer: valueOf(question).trim() }));
      const saved = await api(`/projects/${projectId}/questions`, { method: "PUT", body: { answers } });
      questions.setData(saved);
      setEdits({});
      return saved;
    });
  const saveAndRevise = async () => {
    const saved = await save();
    if (saved) onRevise(saved.revision_feedback);
  };
  const disabled = busy || deciding || !canAct;
  return html`<section class="questions" aria-labelledby="questions-title">
    <h3 id="questions-title">Clarifying questions</h3>
    <p class="hint">Answer some or all: the answers are kept with the project, and every later
      step works from them. ${answered} of ${list.length} answered.</p>
    <form onSubmit=${(event) => { event.preventDefault(); save(); }}>
      ${list.map((question) => html`<${Question} key=${question.id} question=${question}
        value=${valueOf(question)} disabled=${disabled}
        onChange=${(text) => setEdits({ ...edits, [question.id]: text })} />`)}
      <${ErrorNotice} error=${error} />
      <div class="actions">
        <button type="button" disabled=${disabled || answered === 0} onClick=${saveAndRevise}>
          Revise with answers
        </button>
        <button type="submit" class="secondary" disabled=${disabled || changed.length === 0}>Save answers</button>
      </div>
    </form>
  </section>`;
}

function Question({ question, value, disabled, onChange }) {
  const field = `answer-${question.id}`;
  const given = question.answer;
  return html`<div class="question">
    <label for=${field}><strong>${question.id}</strong> ${question.question}</label>
    ${question.why && html`<p class="hint" id=${`${field}-why`}>${question.why}</p>`}
    ${question.suggested_answers.length > 0 && html`<p class="suggestions">
      ${question.suggested_answers.map((suggestion) => html`<button type="button" class="secondary chip"
        disabled=${disabled} onClick=${() => onChange(suggestion)}
        aria-label=${`Answer ${question.id}: ${suggestion}`}>${suggestion}</button>`)}
    </p>`}
    <textarea id=${field} rows="2" maxlength="2000" value=${value} disabled=${disabled}
      aria-describedby=${question.why ? `${field}-why` : undefined}
      onInput=${(event) => onChange(event.currentTarget.value)}></textarea>
    ${given && html`<p class="meta">Answered (v${given.version}) ${formatTime(given.answered_at)}</p>`}
  </div>`;
}
