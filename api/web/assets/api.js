// The HTTP API as the app uses it: the session (kept in sessionStorage: it ends with the
// tab), authorised JSON calls, and problem+json answers turned into words a person reads.

const KEPT_PREFIX = "docflow."; // everything the app keeps in sessionStorage
const SESSION_KEY = `${KEPT_PREFIX}session`;
export const DRAFT_PREFIX = `${KEPT_PREFIX}draft.`;
export const VIEWED_PREFIX = `${KEPT_PREFIX}viewed.`;
export const SIGNED_OUT_EVENT = "docflow:signed-out";

const RENEW_BEFORE_MS = 60_000; // an access token this close to its end is renewed first

/** The session while it can go on: its access token is live, or its refresh token can
 * renew it (`freshHeaders` does, before a call). */
export function currentSession() {
  try {
    const session = JSON.parse(sessionStorage.getItem(SESSION_KEY) || "null");
    if (session && Math.max(session.expiresAt, session.refreshExpiresAt || 0) > Date.now()) return session;
  } catch {
    // an unreadable session is no session
  }
  return null;
}

function keepSession(previous, token) {
  const session = {
    ...previous,
    token: token.access_token,
    role: token.role,
    refreshToken: token.refresh_token,
    expiresAt: Date.now() + token.expires_in * 1000,
    refreshExpiresAt: Date.now() + token.refresh_expires_in * 1000,
  };
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
  return session;
}

let renewing = null; // one renewal at a time: the refresh token is single use

/** Trade the refresh token for a new pair (POST /auth/token, grant_type=refresh_token). */
function renew(session) {
  renewing ??= (async () => {
    const form = new URLSearchParams({ grant_type: "refresh_token", refresh_token: session.refreshToken });
    let response;
    try {
      response = await fetch("/api/v1/auth/token", { method: "POST", body: form });
    } catch {
      throw NETWORK_ERROR;
    }
    if (response.status === 400) {
      signOut("Your session has ended. Please sign in again.");
      throw new ApiError(401, "Your session has ended. Please sign in again.");
    }
    if (!response.ok) throw await errorFrom(response);
    return keepSession(currentSession() || session, await response.json());
  })().finally(() => {
    renewing = null;
  });
  return renewing;
}

/** End the session. An expired session keeps the person's unsent drafts and viewed marks
 * for the next sign-in; signing out on purpose (`forget`) removes everything docflow kept. */
export function signOut(reason, { forget = false } = {}) {
  const refreshToken = currentSession()?.refreshToken;
  sessionStorage.removeItem(SESSION_KEY);
  if (forget && refreshToken) {
    // The refresh token is revoked (RFC 7009); the access token ends within minutes.
    fetch("/api/v1/auth/revoke", { method: "POST", body: new URLSearchParams({ token: refreshToken }), keepalive: true })
      .catch(() => {});
  }
  if (forget) {
    Object.keys(sessionStorage)
      .filter((key) => key.startsWith(KEPT_PREFIX))
      .forEach((key) => sessionStorage.removeItem(key));
  }
  window.dispatchEvent(new CustomEvent(SIGNED_OUT_EVENT, { detail: reason || "" }));
}

export class ApiError extends Error {
  constructor(status, message, { retryAfter = null, detail = "" } = {}) {
    super(message);
    this.status = status;
    this.retryAfter = retryAfter;
    this.detail = detail;
  }
}

const NETWORK_ERROR = new ApiError(
  0,
  "The server could not be reached. Check your connection; the app retries on its own.",
);

export async function signIn({ tenant, email, password }) {
  const form = new URLSearchParams({ grant_type: "password", username: email, password, tenant });
  let response;
  try {
    response = await fetch("/api/v1/auth/token", { method: "POST", body: form });
  } catch {
    throw NETWORK_ERROR;
  }
  if (!response.ok) throw await errorFrom(response);
  return keepSession({ tenant, email }, await response.json());
}

/** The Authorization header of a live session, renewed first when its access token is
 * about to end; no session signs out. */
export async function authHeaders() {
  let session = currentSession();
  if (!session) {
    signOut("Your session has ended. Please sign in again.");
    throw new ApiError(401, "Your session has ended. Please sign in again.");
  }
  if (session.refreshToken && session.expiresAt - Date.now() < RENEW_BEFORE_MS) session = await renew(session);
  return { Authorization: `Bearer ${session.token}` };
}

/** Call /api/v1{path}; resolves to the JSON body (null for 204), rejects with an ApiError. */
export async function api(path, { method = "GET", body } = {}) {
  const headers = await authHeaders();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(`/api/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw NETWORK_ERROR;
  }
  if (!response.ok) throw await errorFrom(response);
  return response.status === 204 ? null : response.json();
}

export async function errorFrom(response) {
  let problem = {};
  try {
    problem = await response.json();
  } catch {
    // not JSON: the words below still say what happened
  }
  const retryAfter = Number(response.headers.get("Retry-After")) || null;
  const detail = problem.detail || problem.error_description || "";
  const error = new ApiError(response.status, describe(response.status, problem, retryAfter), {
    retryAfter,
    detail,
  });
  if (response.status === 401 && !problem.error) signOut(error.message);
  return error;
}

/** `text` as the end of a sentence: one full stop, whether or not it had one. */
export function endSentence(text) {
  return `${String(text).trim().replace(/[.\s]+$/, "")}.`;
}

function describe(status, problem, retryAfter) {
  const detail = problem.detail || "";
  switch (status) {
    case 400:
      if (problem.error === "invalid_grant") return "Wrong email, password or team name.";
      return detail || "The request was not understood.";
    case 401:
      return "Your session has ended. Please sign in again.";
    case 403:
      return "Your role does not allow this. Ask an owner of your team.";
    case 404:
      return "Not found: it may have been deleted.";
    case 409:
      return `This could not be done now: ${endSentence(detail)}`;
    case 413:
      return "That is too large to send.";
    case 422:
      return `Please check what you entered: ${endSentence(fieldErrors(problem) || detail)}`;
    case 429:
      if (detail.startsWith("quota exceeded")) {
        return `Your team's monthly quota is used up (${detail.replace("quota exceeded: ", "")}). It renews next month.`;
      }
      if (detail.includes("runs going")) return `Too many runs at once: ${endSentence(detail)} Wait for one to finish.`;
      return `Too many requests. Please wait ${retryAfter || "a few"} seconds and try again.`;
    case 503:
      return `Part of the service is unavailable right now: ${endSentence(detail || "no reason given")} Please try again in a moment.`;
    default:
      if (status >= 500) {
        const reference = problem.request_id ? ` (reference ${problem.request_id})` : "";
        return `Something went wrong on the server${reference}. Please try again in a moment.`;
      }
      return detail || `The server answered ${status}.`;
  }
}

function fieldErrors(problem) {
  if (!Array.isArray(problem.errors)) return "";
  return problem.errors
    .map((error) => [String(error.field || "").replace(/^body\./, ""), error.message].filter(Boolean).join(": "))
    .join("; ");
}
