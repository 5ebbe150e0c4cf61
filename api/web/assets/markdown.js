// Markdown to safe HTML (marked, then DOMPurify: documents are model-written text), with
// Mermaid diagrams drawn. Mermaid is 5 MB, so it loads on the first page that has a diagram.

import DOMPurify from "./vendor/purify.js";
import { marked } from "./vendor/marked.js";
import { html, useEffect, useRef } from "./vendor/preact-htm.js";

let mermaidReady = null;
let diagramCount = 0;

function loadMermaid() {
  mermaidReady ??= new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = "/app/assets/vendor/mermaid.min.js";
    script.onload = () => {
      // suppressErrorRendering: a diagram that fails says so in its own box (below), and
      // Mermaid leaves no "Syntax error" graphic of its own under the page.
      window.mermaid.initialize({
        startOnLoad: false,
        securityLevel: "strict",
        theme: window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "neutral",
        suppressErrorRendering: true,
      });
      resolve(window.mermaid);
    };
    script.onerror = () => {
      mermaidReady = null;
      reject(new Error("the diagram renderer did not load"));
    };
    document.head.append(script);
  });
  return mermaidReady;
}

export function markdownToHtml(source) {
  return DOMPurify.sanitize(marked.parse(source || "", { gfm: true }));
}

async function drawDiagrams(container) {
  const blocks = [...container.querySelectorAll("pre > code.language-mermaid")];
  if (blocks.length === 0) return;
  let mermaid;
  try {
    mermaid = await loadMermaid();
  } catch (error) {
    blocks.forEach((code) => code.parentElement.setAttribute("data-diagram-error", error.message));
    return;
  }
  for (const code of blocks) {
    const pre = code.parentElement;
    if (!pre.isConnected) continue;
    const figure = document.createElement("figure");
    figure.className = "diagram";
    const id = `diagram-${++diagramCount}`;
    try {
      const { svg } = await mermaid.render(id, code.textContent);
      figure.innerHTML = DOMPurify.sanitize(svg, {
        USE_PROFILES: { svg: true, svgFilters: true, html: true },
        ADD_TAGS: ["foreignObject"],
      });
      pre.replaceWith(figure);
    } catch (error) {
      // The source stays in place, in its box, under the reason.
      pre.setAttribute("data-diagram-error", `diagram not drawn: ${error.message || error}`);
      for (const leftover of [document.getElementById(id), document.getElementById(`d${id}`)]) {
        if (leftover && !container.contains(leftover)) leftover.remove();
      }
    }
  }
}

/** Links between the package's files mean nothing inside the app: they become plain text
 * (named in a tooltip); links to the web open in a new tab. */
function settleLinks(container) {
  for (const link of container.querySelectorAll("a[href]")) {
    const href = link.getAttribute("href");
    if (/^https?:/i.test(href)) {
      link.target = "_blank";
      link.rel = "noopener noreferrer";
    } else if (!href.startsWith("#")) {
      const text = document.createElement("span");
      text.className = "package-link";
      text.title = `${href} in the package`;
      text.textContent = link.textContent;
      link.replaceWith(text);
    }
  }
}

/** Task-list boxes ("- [x] done") are read-only marks: name them for screen readers. */
function labelCheckboxes(container) {
  for (const box of container.querySelectorAll('input[type="checkbox"]')) {
    box.setAttribute("aria-label", box.checked ? "done" : "not done");
  }
}

/** A wide table or code block scrolls sideways in its own box (words are not broken in a
 * cell): the box takes the keyboard focus so arrow keys scroll it. */
function scrollableBlocks(container) {
  for (const block of container.querySelectorAll("table, pre")) block.tabIndex = 0;
}

/** Headings get ids (an outline links to them) and take the focus when followed. */
function anchorHeadings(container, prefix) {
  return [...container.querySelectorAll("h1, h2, h3")].map((heading, index) => {
    heading.id = `${prefix}-${index + 1}`;
    heading.tabIndex = -1;
    return { id: heading.id, text: heading.textContent, level: Number(heading.tagName[1]) };
  });
}

let renderCount = 0;

/** What the app does to Markdown it drew: links settled, task boxes named, tables
 * scrollable by keyboard, diagrams drawn. */
export function decorate(container) {
  settleLinks(container);
  labelCheckboxes(container);
  markIdColumns(container);
  scrollableBlocks(container);
  drawDiagrams(container);
}

/** A table whose first column is "ID" (requirements, questions): the ids never wrap. */
function markIdColumns(container) {
  for (const table of container.querySelectorAll("table")) {
    if (table.querySelector("th")?.textContent.trim() === "ID") table.classList.add("id-table");
  }
}

/** Rendered Markdown; `source` changes re-render it. `onHeadings` receives the headings
 * ({id, text, level}) once drawn. */
export function Markdown({ source, label, compact = false, onHeadings }) {
  const ref = useRef(null);
  useEffect(() => {
    const container = ref.current;
    container.innerHTML = markdownToHtml(source);
    onHeadings?.(anchorHeadings(container, `heading-${++renderCount}`));
    decorate(container);
  }, [source]);
  return html`<article class=${compact ? "markdown compact" : "markdown"} aria-label=${label} ref=${ref}></article>`;
}
