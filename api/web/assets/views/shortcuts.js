// The gate's keyboard shortcuts and the "?" list of them.

import { html, useEffect, useRef } from "../vendor/preact-htm.js";

export const GATE_KEYS = [
  { key: "j", does: "next document" },
  { key: "k", does: "previous document" },
  { key: "v", does: "mark the document viewed (or not)" },
  { key: "c", does: "comment on the selected passage" },
  { key: "r", does: "ask for a revision" },
  { key: "e", does: "edit the document" },
  { key: "A", label: "Shift+A", does: "approve the step" },
  { key: "?", does: "show these shortcuts" },
];

/** A modal list of the shortcuts; Escape or the button closes it. */
export function ShortcutHelp({ open, onClose }) {
  const dialog = useRef(null);
  useEffect(() => {
    const element = dialog.current;
    if (open && !element.open) element.showModal();
    if (!open && element.open) element.close();
  }, [open]);
  return html`<dialog ref=${dialog} class="shortcuts" aria-labelledby="shortcuts-title" onClose=${onClose}>
    <h2 id="shortcuts-title">Keyboard shortcuts</h2>
    <p class="hint">At a gate, outside a text field. In a form, Ctrl+Enter (⌘+Enter) sends.</p>
    <dl>
      ${GATE_KEYS.map((entry) => html`<div key=${entry.key}><dt><kbd>${entry.label || entry.key}</kbd></dt><dd>${entry.does}</dd></div>`)}
    </dl>
    <form method="dialog"><button type="submit">Close</button></form>
  </dialog>`;
}
