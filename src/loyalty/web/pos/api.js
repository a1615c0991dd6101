// The engine's /v1 API as a till uses it: a POS client's access token, the JSend envelope, and failures turned
// into an EngineError that carries the engine's stable code (never its raw answer).

const CREDENTIALS_KEY = "loyalty.till.credentials";
const TOKEN_KEY = "loyalty.till.token";
// A token is renewed this long before it expires, so a request never leaves with one about to lapse.
const TOKEN_MARGIN_MS = 60_000;
const RENEWABLE = new Set(["INVALID_TOKEN", "MISSING_TOKEN"]);

export class EngineError extends Error {
  constructor(code, { status = 0, message = "", retryAfter = null, requestId = null, details = {} } = {}) {
    super(message || code);
    this.name = "EngineError";
    this.code = code;
    this.status = status;
    this.retryAfter = retryAfter;
    this.requestId = requestId;
    this.details = details;
  }

  // The request may have been carried out even though no answer came back (a lost connection, a server failure).
  get outcomeUnknown() {
    return this.code === "NETWORK" || this.status >= 500;
  }
}

// ---- credentials: this browser tab only ----

export function loadCredentials() {
  try {
    const stored = JSON.parse(sessionStorage.getItem(CREDENTIALS_KEY) || "null");
    if (stored && stored.apiKey && stored.clientId && stored.clientSecret) return stored;
  } catch {
    // unreadable: treated as signed out
  }
  return null;
}

export function saveCredentials(credentials) {
  sessionStorage.setItem(CREDENTIALS_KEY, JSON.stringify(credentials));
}

export function forgetCredentials() {
  sessionStorage.removeItem(CREDENTIALS_KEY);
  sessionStorage.removeItem(TOKEN_KEY);
}

// ---- ids ----

const ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789";

// Random letters and digits from the browser's CSPRNG (available without a secure context, unlike randomUUID).
export function randomId(length = 12) {
  const bytes = new Uint8Array(length);
  crypto.getRandomValues(bytes);
  let id = "";
  for (const byte of bytes) id += ALPHABET[byte % ALPHABET.length];
  return id;
}

// ---- answers ----

async function readJson(response) {
  const text = await response.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function retryAfterOf(response, data) {
  if (data && Number.isFinite(Number(data.retryAfter))) return Number(data.retryAfter);
  const header = Number(response.headers.get("Retry-After"));
  return Number.isFinite(header) && header > 0 ? header : null;
}

function errorOf(response, document) {
  const requestId = response.headers.get("X-Request-Id") || (document && document.requestId) || null;
  const status = response.status;
  if (document && document.status === "fail" && document.data && document.data.code) {
    const { code, ...details } = document.data;
    return new EngineError(code, {
      status,
      message: document.message || "",
      retryAfter: retryAfterOf(response, document.data),
      requestId,
      details,
    });
  }
  if (document && typeof document.error === "string") {
    // The token endpoint answers in plain OAuth2 form.
    return new EngineError(document.error.toUpperCase(), { status, message: document.error_description || "", requestId });
  }
  if (status === 429) return new EngineError("RATE_LIMITED", { status, retryAfter: retryAfterOf(response, null), requestId });
  if (status >= 500) return new EngineError("SERVER_ERROR", { status, requestId });
  return new EngineError("UNEXPECTED_ANSWER", { status, requestId });
}

// ---- the client ----

export class Engine {
  constructor(credentials) {
    this.credentials = credentials;
    this.token = null;
    this.expiresAt = 0;
    this.renewing = null;
    try {
      const cached = JSON.parse(sessionStorage.getItem(TOKEN_KEY) || "null");
      if (cached && cached.clientId === credentials.clientId && cached.expiresAt > Date.now() + TOKEN_MARGIN_MS) {
        this.token = cached.token;
        this.expiresAt = cached.expiresAt;
      }
    } catch {
      // no usable cached token: one is fetched on the first request
    }
  }

  // Exchanges the client id and secret for an access token (POST /v1/oauth/token), at most one exchange at a time.
  renewToken() {
    if (!this.renewing) {
      this.renewing = this.fetchToken().finally(() => {
        this.renewing = null;
      });
    }
    return this.renewing;
  }

  async fetchToken() {
    const form = new URLSearchParams({
      grant_type: "client_credentials",
      client_id: this.credentials.clientId,
      client_secret: this.credentials.clientSecret,
    });
    let response;
    try {
      response = await fetch("/v1/oauth/token", {
        method: "POST",
        headers: { "X-Api-Key": this.credentials.apiKey, "Content-Type": "application/x-www-form-urlencoded" },
        body: form.toString(),
        cache: "no-store",
      });
    } catch {
      throw new EngineError("NETWORK");
    }
    const document = await readJson(response);
    if (!response.ok || !document || typeof document.access_token !== "string") {
      throw errorOf(response, document);
    }
    this.token = document.access_token;
    this.expiresAt = Date.now() + Number(document.expires_in || 3600) * 1000;
    sessionStorage.setItem(
      TOKEN_KEY,
      JSON.stringify({ clientId: this.credentials.clientId, token: this.token, expiresAt: this.expiresAt }),
    );
    return this.token;
  }

  async currentToken() {
    if (!this.token || Date.now() > this.expiresAt - TOKEN_MARGIN_MS) await this.renewToken();
    return this.token;
  }

  // One call to the API. `body` is sent as JSON; `bodyText` sends exact bytes (a retried checkout must repeat its
  // first attempt byte for byte, so the engine can replay it under the same Idempotency-Key).
  async request(method, path, { body, bodyText, userId, idempotencyKey, withMeta = false } = {}) {
    const text = bodyText !== undefined ? bodyText : body !== undefined ? JSON.stringify(body) : undefined;
    let renewed = false;
    for (;;) {
      const token = await this.currentToken();
      const headers = {
        "X-Api-Key": this.credentials.apiKey,
        Authorization: `Bearer ${token}`,
        Accept: "application/json",
      };
      if (text !== undefined) headers["Content-Type"] = "application/json";
      if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
      if (userId) headers["X-User-Id"] = userId;
      let response;
      try {
        response = await fetch(path, { method, headers, body: text, cache: "no-store" });
      } catch {
        throw new EngineError("NETWORK");
      }
      const document = await readJson(response);
      if (response.ok && document && document.status === "success") {
        return withMeta ? { data: document.data, meta: document.meta || null } : document.data;
      }
      const error = errorOf(response, document);
      if (response.status === 401 && RENEWABLE.has(error.code) && !renewed) {
        // Expired or revoked token: fetch a new one once and send the request again (a 401 changed nothing).
        renewed = true;
        this.token = null;
        continue;
      }
      throw error;
    }
  }

  get(path, options) {
    return this.request("GET", path, options);
  }

  post(path, options) {
    return this.request("POST", path, options);
  }
}
