// The console's shell: signing in with an admin client, the navigation, and a hash router that renders one page at
// a time into #view. Pages live in their own modules and are listed by pages-*.js; each is
//   {path: "members/:id", title, nav: {label, group} | undefined, render(view, context)}
// where context = {engine, params, query, navigate(hash)}. A render may be async; it owns #view until the next
// navigation.

import { Engine, EngineError, forgetCredentials, loadCredentials, saveCredentials } from "./api.js";
import { el, errorBox } from "./ui.js";
import { routes as activityRoutes } from "./pages-activity.js";
import { routes as configurationRoutes } from "./pages-config.js";

const ROUTES = [...activityRoutes, ...configurationRoutes];
const GROUPS = ["Program", "Configuration", "Activity"];
const HOME = "dashboard";

let engine = null;
let renderCount = 0;

function byId(id) {
  return document.getElementById(id);
}

// "members/123" against "members/:id" → {id: "123"}; null when it does not match.
function match(pattern, path) {
  const want = pattern.split("/");
  const got = path.split("/");
  if (want.length !== got.length) return null;
  const params = {};
  for (let i = 0; i < want.length; i += 1) {
    if (want[i].startsWith(":")) params[want[i].slice(1)] = decodeURIComponent(got[i]);
    else if (want[i] !== got[i]) return null;
  }
  return params;
}

function currentLocation() {
  const raw = location.hash.replace(/^#\/?/, "");
  const [path, search = ""] = raw.split("?");
  return { path: path.replace(/\/+$/, "") || HOME, query: new URLSearchParams(search) };
}

export function navigate(hash) {
  const target = hash.startsWith("#") ? hash : `#/${hash}`;
  if (location.hash === target) render();
  else location.hash = target;
}

function buildNav() {
  const nav = byId("nav");
  nav.replaceChildren();
  for (const group of GROUPS) {
    const entries = ROUTES.filter((r) => r.nav && r.nav.group === group);
    if (!entries.length) continue;
    const headingId = `nav-${group.toLowerCase()}`;
    nav.append(
      el("h2", { id: headingId, class: "nav-group" }, group),
      el("ul", { "aria-labelledby": headingId }, entries.map((r) => el("li", {}, el("a", { href: `#/${r.path}`, dataset: { path: r.path } }, r.nav.label)))),
    );
  }
}

function markCurrent(path) {
  for (const a of byId("nav").querySelectorAll("a")) {
    const current = path === a.dataset.path || path.startsWith(a.dataset.path + "/");
    if (current) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
}

async function render() {
  if (!engine) return;
  const { path, query } = currentLocation();
  const view = byId("view");
  const count = ++renderCount;
  const focusAtStart = document.activeElement;
  closeMenu();
  markCurrent(path);
  let found = null;
  for (const route of ROUTES) {
    const params = match(route.path, path);
    if (params) {
      found = { route, params };
      break;
    }
  }
  view.replaceChildren();
  if (!found) {
    document.title = "Not found · Loyalty console";
    view.append(el("h1", { id: "page-title", tabindex: "-1" }, "Not found"), el("p", {}, "No console page has this address."));
    byId("page-title").focus();
    return;
  }
  const context = { engine, params: found.params, query, navigate, isCurrent: () => count === renderCount };
  try {
    await found.route.render(view, context);
  } catch (error) {
    if (count !== renderCount) return;
    if (error instanceof EngineError && (error.code === "INVALID_CLIENT" || error.code === "INVALID_API_KEY")) {
      signOut("Your credentials are no longer accepted; sign in again.");
      return;
    }
    view.append(errorBox(error));
  }
  // Move focus to the new page's heading, so keyboard and screen-reader users start at the top of it — unless
  // they have moved on while the page loaded (focus is theirs then, not the page's to take back).
  const heading = byId("page-title");
  const untouched = document.activeElement === focusAtStart || document.activeElement === document.body;
  if (count === renderCount && heading && untouched && !view.contains(document.activeElement)) heading.focus();
}

function showSignedIn(credentials) {
  engine = new Engine(credentials);
  byId("sign-in").hidden = true;
  byId("nav").hidden = false;
  byId("sign-out").hidden = false;
  byId("signed-in-as").textContent = `Client ${credentials.clientId.slice(0, 8)}…`;
  render();
}

function signOut(message = "") {
  forgetCredentials();
  engine = null;
  byId("view").replaceChildren();
  byId("nav").hidden = true;
  byId("sign-out").hidden = true;
  byId("signed-in-as").textContent = "";
  byId("sign-in").hidden = false;
  const error = byId("sign-in-error");
  error.textContent = message;
  error.hidden = !message;
  document.title = "Sign in · Loyalty console";
  byId("sign-in-api-key").focus();
}

async function signIn(event) {
  event.preventDefault();
  const form = event.target;
  const credentials = {
    apiKey: form.apiKey.value.trim(),
    clientId: form.clientId.value.trim(),
    clientSecret: form.clientSecret.value,
  };
  const error = byId("sign-in-error");
  if (!credentials.apiKey || !credentials.clientId || !credentials.clientSecret) {
    error.textContent = "All three are needed.";
    error.hidden = false;
    return;
  }
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    // Proves the credentials and that the client may administer the tenant (a POS client gets 403 here).
    const trial = new Engine(credentials);
    await trial.get("/v1/clients");
    saveCredentials(credentials);
    form.reset();
    showSignedIn(credentials);
  } catch (problem) {
    error.textContent =
      problem instanceof EngineError && problem.status === 403
        ? "This client may not administer the program: use an admin client."
        : `Could not sign in: ${problem.message || problem.code}`;
    error.hidden = false;
  } finally {
    button.disabled = false;
  }
}

function closeMenu() {
  byId("nav").classList.remove("open");
  byId("menu-toggle").setAttribute("aria-expanded", "false");
}

function toggleMenu() {
  const open = !byId("nav").classList.contains("open");
  byId("nav").classList.toggle("open", open);
  byId("menu-toggle").setAttribute("aria-expanded", String(open));
}

function start() {
  buildNav();
  byId("sign-in-form").addEventListener("submit", signIn);
  byId("sign-out").addEventListener("click", () => signOut());
  byId("menu-toggle").addEventListener("click", toggleMenu);
  // The skip link moves focus to the page without touching the address (the address is the router's).
  document.querySelector(".skip-link").addEventListener("click", (event) => {
    event.preventDefault();
    byId("main").focus();
  });
  window.addEventListener("hashchange", render);
  const credentials = loadCredentials();
  if (credentials) showSignedIn(credentials);
  else signOut();
}

start();
