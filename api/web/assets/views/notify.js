// A gate that opens while the tab is in the background: a count in the tab's title until
// the tab is seen again, and a browser notification when the person allowed them.

import { html, useState } from "../vendor/preact-htm.js";

let plainTitle = null; // the title before any mark
let waiting = 0;

document.addEventListener("visibilitychange", () => {
  if (document.visibilityState !== "visible" || plainTitle === null) return;
  document.title = plainTitle;
  plainTitle = null;
  waiting = 0;
});

/** Say that `what` waits for the person, if they are looking elsewhere. */
export function announceGate(what) {
  if (document.visibilityState === "visible") return;
  plainTitle ??= document.title;
  waiting += 1;
  document.title = `(${waiting}) ${plainTitle}`;
  if ("Notification" in window && Notification.permission === "granted") {
    new Notification("docflow: your turn", { body: `Review the ${what}.`, tag: "docflow-gate" });
  }
}

/** "Notify me when it is my turn": asks the browser once, from the person's click. */
export function NotifyToggle() {
  const supported = "Notification" in window;
  const [permission, setPermission] = useState(supported ? Notification.permission : "denied");
  if (permission !== "default") return null;
  const ask = async () => setPermission(await Notification.requestPermission());
  return html`<button type="button" class="link notify-toggle" onClick=${ask}>
    Notify me when it is my turn</button>`;
}
