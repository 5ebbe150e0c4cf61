// Reading a gate's documents: which ones the person marked viewed, a picker that says so,
// and an outline of the document on screen (its headings, as the Markdown view drew them).

import { html, useState } from "../vendor/preact-htm.js";
import { VIEWED_PREFIX } from "../api.js";

/** Viewed marks per version (a newer version is unread again), kept for the tab's life:
 * {isViewed(versionId), setViewed(versionId, yes)}. */
export function useViewed() {
  const [, setChanged] = useState(0);
  return {
    isViewed: (versionId) => sessionStorage.getItem(VIEWED_PREFIX + versionId) !== null,
    setViewed: (versionId, yes) => {
      if (yes) sessionStorage.setItem(VIEWED_PREFIX + versionId, "1");
      else sessionStorage.removeItem(VIEWED_PREFIX + versionId);
      setChanged((count) => count + 1);
    },
  };
}

function fileName(entry) {
  return entry.path.split("/").pop();
}

/** The step's documents: buttons beside the document on a wide screen, a select on a phone. */
export function DocumentPicker({ versions, selected, isViewed, onPick }) {
  if (versions.length < 2) return null;
  const mark = (entry) => (isViewed(entry.version_id) ? " ✓" : "");
  return html`<div class="doc-picker">
    <div class="doc-tabs" role="group" aria-label="Documents in this step">
      ${versions.map(
        (entry, index) => html`<button type="button" key=${entry.version_id}
          aria-pressed=${index === selected} onClick=${() => onPick(entry)}
          aria-label=${`${fileName(entry)} v${entry.version}${isViewed(entry.version_id) ? ", viewed" : ""}`}>
          ${fileName(entry)} <span class="meta">v${entry.version}</span>${mark(entry) && html`<span class="viewed-mark" aria-hidden="true">${mark(entry)}</span>`}
        </button>`,
      )}
    </div>
    <label class="doc-select">Document
      <select value=${versions[selected].version_id}
        onChange=${(event) => onPick(versions.find((entry) => entry.version_id === event.currentTarget.value))}>
        ${versions.map((entry) => html`<option value=${entry.version_id}>${fileName(entry)} v${entry.version}${mark(entry)}</option>`)}
      </select>
    </label>
  </div>`;
}

/** The headings of the document on screen, each a link to its place. */
export function Outline({ headings }) {
  if (headings.length < 3) return null;
  const wide = window.matchMedia("(min-width: 1000px)").matches; // on a phone it starts closed
  return html`<details class="outline" open=${wide}>
    <summary>Outline</summary>
    <nav aria-label="Outline of the document">
      <ol>
        ${headings.map(
          (heading) => html`<li key=${heading.id} class=${`level-${heading.level}`}>
            <a href=${`#${heading.id}`} onClick=${(event) => {
              event.preventDefault();
              const target = document.getElementById(heading.id);
              target?.scrollIntoView({ block: "start" });
              target?.focus({ preventScroll: true });
            }}>${heading.text}</a>
          </li>`,
        )}
      </ol>
    </nav>
  </details>`;
}
