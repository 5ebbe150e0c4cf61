// Comments on passages: select text in the document, comment on it; the gate's comments
// go with the revision request, each quoting its passage (docflow.contracts
// revision_feedback). At the next gate each one says whether its passage was rewritten.

import { html, useEffect, useMemo, useState } from "../vendor/preact-htm.js";
import { DRAFT_PREFIX } from "../api.js";
import { markdownToHtml } from "../markdown.js";
import { sendOnCtrlEnter, useFocusOnMount } from "../ui.js";

const QUOTE_LIMIT = 2000; // the API's limit for a quote and for a comment

/** The gate's unsent comments, kept like a draft: [{path, quote, text}], add, remove, clear. */
export function useComments(gate) {
  const key = `${DRAFT_PREFIX}comments.${gate.versions.map((entry) => entry.version_id).join(".")}`;
  const [comments, setComments] = useState(() => JSON.parse(sessionStorage.getItem(key) || "[]"));
  const keep = (next) => {
    setComments(next);
    if (next.length) sessionStorage.setItem(key, JSON.stringify(next));
    else sessionStorage.removeItem(key);
  };
  return {
    comments,
    add: (comment) => keep([...comments, comment]),
    remove: (index) => keep(comments.filter((_, at) => at !== index)),
    clear: () => keep([]),
  };
}

/** The text selected inside `container`, and where it is (relative to `frame`), or null. */
function selectionIn(container, frame) {
  const selection = window.getSelection();
  if (!selection || selection.isCollapsed || selection.rangeCount === 0) return null;
  const range = selection.getRangeAt(0);
  if (!container.contains(range.commonAncestorContainer)) return null;
  const quote = selection.toString().trim();
  if (!quote) return null;
  const rect = range.getBoundingClientRect();
  const origin = frame.getBoundingClientRect();
  return { quote: quote.slice(0, QUOTE_LIMIT), top: rect.bottom - origin.top + 6, left: Math.max(0, rect.left - origin.left) };
}

/** A "Comment" button under a selection in the document, and the form it opens. */
export function PassageCommenter({ frame, path, canAct, onAdd, openSignal }) {
  const [picked, setPicked] = useState(null); // {quote, top, left}
  const [writing, setWriting] = useState(false);
  useEffect(() => {
    const update = () => {
      if (writing || !frame.current) return;
      const article = frame.current.querySelector("article.markdown:not(.rendered-diff)");
      setPicked(article ? selectionIn(article, frame.current) : null);
    };
    document.addEventListener("selectionchange", update);
    return () => document.removeEventListener("selectionchange", update);
  }, [writing, frame]);
  useEffect(() => {
    if (openSignal && picked) setWriting(true);
  }, [openSignal]);
  if (!picked || !canAct) return null;
  const close = () => {
    setWriting(false);
    setPicked(null);
  };
  const style = `top: ${picked.top}px; left: ${Math.min(picked.left, 400)}px`;
  if (!writing) {
    return html`<button type="button" class="comment-button" style=${style}
      onMouseDown=${(event) => event.preventDefault()} onClick=${() => setWriting(true)}
      aria-keyshortcuts="c">Comment on this passage</button>`;
  }
  const add = (text) => {
    onAdd({ path, quote: picked.quote, text });
    close();
    window.getSelection()?.removeAllRanges();
  };
  return html`<${CommentForm} style=${style} quote=${picked.quote} onAdd=${add} onCancel=${close} />`;
}

function CommentForm({ style, quote, onAdd, onCancel }) {
  const [text, setText] = useState("");
  const field = useFocusOnMount();
  const add = (event) => {
    event?.preventDefault();
    if (text.trim()) onAdd(text.trim());
  };
  const sendKey = sendOnCtrlEnter(() => add());
  return html`<form class="comment-form" style=${style} onSubmit=${add} aria-label="Comment on a passage">
    <blockquote tabindex="0">${quote}</blockquote>
    <label>Your comment
      <textarea ref=${field} rows="3" maxlength=${QUOTE_LIMIT} required value=${text}
        onInput=${(event) => setText(event.currentTarget.value)}
        onKeyDown=${(event) => (event.key === "Escape" ? onCancel() : sendKey(event))}></textarea>
    </label>
    <div class="actions">
      <button type="submit" disabled=${!text.trim()}>Add comment</button>
      <button type="button" class="secondary" onClick=${onCancel}>Cancel</button>
    </div>
  </form>`;
}

/** The gate's comments not sent yet. */
export function PendingComments({ comments, onRemove }) {
  if (comments.length === 0) return null;
  return html`<section class="comments pending" aria-labelledby="pending-title">
    <h3 id="pending-title">Your comments (${comments.length})</h3>
    <p class="hint">They go to the agent with your revision request ("Ask for a revision").</p>
    <ol>
      ${comments.map((comment, index) => html`<li key=${index}>
        <blockquote tabindex="0">${comment.quote}</blockquote>
        <p>${comment.text} <span class="meta">on ${comment.path.split("/").pop()}</span></p>
        <button type="button" class="link" onClick=${() => onRemove(index)}>Remove</button>
      </li>`)}
    </ol>
  </section>`;
}

/** The comments the version on screen was written for, each with whether its passage is
 * still there word for word (compared as rendered text, whitespace aside, quotations out). */
export function AnsweredComments({ comments, path, content }) {
  const mine = (comments || []).filter((comment) => comment.path === path);
  const text = useMemo(() => squeeze(renderedText(content)), [content]);
  if (mine.length === 0) return null;
  return html`<section class="comments answered" aria-labelledby="answered-title">
    <h3 id="answered-title">Your comments on the last version</h3>
    <ol>
      ${mine.map((comment, index) => {
        const unchanged = text.includes(squeeze(comment.quote));
        return html`<li key=${index} class=${unchanged ? "unchanged" : "rewritten"}>
          <blockquote tabindex="0">${comment.quote}</blockquote>
          <p>${comment.text}</p>
          <p class="status">${unchanged
            ? "Not addressed: the passage is still there as it was."
            : "Addressed: the passage was rewritten."}</p>
        </li>`;
      })}
    </ol>
  </section>`;
}

/** The document's own words as rendered; quotations left out, since revision notes quote
 * the feedback, and with it the passages commented on. */
function renderedText(markdown) {
  const parsed = new DOMParser().parseFromString(markdownToHtml(markdown), "text/html");
  parsed.body.querySelectorAll("blockquote").forEach((quotation) => quotation.remove());
  return parsed.body.textContent || "";
}

function squeeze(text) {
  return text.replace(/\s+/g, "");
}
