import { html } from "../vendor/preact-htm.js";
import { signIn } from "../api.js";
import { ErrorNotice, useAction } from "../ui.js";

export function SignInView({ onSignedIn, reason }) {
  const { busy, error, run } = useAction();

  const submit = (event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const credentials = {
      tenant: String(form.get("tenant")).trim(),
      email: String(form.get("email")).trim(),
      password: String(form.get("password")),
    };
    run(async () => onSignedIn(await signIn(credentials)));
  };

  return html`<section class="signin card">
    <h1 tabindex="-1">Sign in to docflow</h1>
    ${reason && html`<p class="notice info" role="status">${reason}</p>`}
    <form onSubmit=${submit}>
      <label>Team <input name="tenant" autocomplete="organization" required placeholder="acme" /></label>
      <label>Email <input name="email" type="email" autocomplete="username" required /></label>
      <label>Password
        <input name="password" type="password" autocomplete="current-password" required />
      </label>
      <${ErrorNotice} error=${error} />
      <button type="submit" disabled=${busy}>${busy ? "Signing in…" : "Sign in"}</button>
    </form>
    <p class="hint">Your sign-in lasts while this tab is open and in use, until you sign out.</p>
  </section>`;
}
