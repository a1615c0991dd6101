// The engine's /v1 admin API as the console uses it: an admin client's access token, the JSend envelope, and
// failures turned into an EngineError carrying the engine's stable code and, for invalid input, the fields at fault.

const CREDENTIALS_KEY = "loyalty.console.credentials";
const TOKEN_KEY = "loyalty.console.token";
// A token is renewed this long before it expires, so a request never leaves with one about to lapse.
const TOKEN_MARGIN_MS = 60_000;
const RENEWABLE = new Set(["INVALID_TOKEN", "MISSING_TOKEN"]);

export class EngineError extends Error {
  constructor(code, { status = 0, message = "", requestId = null, details = {} } = {}) {
    super(message || code);
    this.name = "EngineError";
    this.code = code;
    this.status = status;
    this.requestId = requestId;
    this.details = details;
  }

  // Field-level problems as [{field, message}]: the list the engine gives for invalid bodies, or the one field a
  // business rule names. Field names are the API's dotted paths ("profile.emailAddress").
  get fieldErrors() {
    if (Array.isArray(this.details.errors)) return this.details.errors;
    if (this.details.field) return [{ field: this.details.field, message: this.message }];
    return [];
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

// A fresh Idempotency-Key: one per operator action, so a double click or a retried request changes nothing twice.
export function newKey() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return "console-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function readJson(response) {
  const text = await response.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function errorOf(response, document) {
  const requestId = response.headers.get("X-Request-Id") || null;
  const status = response.status;
  if (document && document.status === "fail" && document.data && document.data.code) {
    const { code, ...details } = document.data;
    return new EngineError(code, { status, message: document.message || "", requestId, details });
  }
  if (document && typeof document.error === "string") {
    // The token endpoint answers in plain OAuth2 form.
    return new EngineError(document.error.toUpperCase(), { status, message: document.error_description || "", requestId });
  }
  if (document && document.status === "error") {
    return new EngineError("SERVER_ERROR", { status, message: document.message || "", requestId });
  }
  if (status === 429) return new EngineError("RATE_LIMITED", { status, message: "Too many requests; try again shortly.", requestId });
  return new EngineError(status >= 500 ? "SERVER_ERROR" : "UNEXPECTED_ANSWER", { status, requestId });
}

// "/v1/users" + {search: "ada", limit: 20} → "/v1/users?search=ada&limit=20" (empty values left out).
export function withQuery(path, query = {}) {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === "") continue;
    params.set(name, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

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

  // Exchanges the client id and secret for an access token, at most one exchange at a time.
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
      throw new EngineError("NETWORK", { message: "The engine could not be reached." });
    }
    const document = await readJson(response);
    if (!response.ok || !document || typeof document.access_token !== "string") throw errorOf(response, document);
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

  // One call. Answers {data, meta}; throws EngineError. Writes get an Idempotency-Key unless one is given.
  // `headers` adds request headers (e.g. X-User-Id for the few reads that name the member only that way).
  async call(method, path, { query, body, idempotencyKey, headers: extraHeaders } = {}) {
    const url = withQuery(path, query);
    const text = body !== undefined ? JSON.stringify(body) : undefined;
    const key = method === "GET" ? null : idempotencyKey || newKey();
    let renewed = false;
    for (;;) {
      const headers = {
        "X-Api-Key": this.credentials.apiKey,
        Authorization: `Bearer ${await this.currentToken()}`,
        Accept: "application/json",
        ...extraHeaders,
      };
      if (text !== undefined) headers["Content-Type"] = "application/json";
      if (key) headers["Idempotency-Key"] = key;
      let response;
      try {
        response = await fetch(url, { method, headers, body: text, cache: "no-store" });
      } catch {
        throw new EngineError("NETWORK", { message: "The engine could not be reached." });
      }
      const document = await readJson(response);
      if (response.ok && document && document.status === "success") {
        return { data: document.data, meta: document.meta || null };
      }
      const error = errorOf(response, document);
      if (response.status === 401 && RENEWABLE.has(error.code) && !renewed) {
        renewed = true; // expired or revoked token: fetch a new one once and send again (a 401 changed nothing)
        this.token = null;
        continue;
      }
      throw error;
    }
  }

  // The data of a GET.
  async get(path, query) {
    return (await this.call("GET", path, { query })).data;
  }

  // A page of a list: {data, meta} where meta holds the total and the paging the engine applied.
  list(path, query, options = {}) {
    return this.call("GET", path, { ...options, query });
  }

  async post(path, body, options = {}) {
    return (await this.call("POST", path, { ...options, body })).data;
  }

  async patch(path, body, options = {}) {
    return (await this.call("PATCH", path, { ...options, body })).data;
  }

  async put(path, body, options = {}) {
    return (await this.call("PUT", path, { ...options, body })).data;
  }

  async delete(path, options = {}) {
    return (await this.call("DELETE", path, options)).data;
  }
}
