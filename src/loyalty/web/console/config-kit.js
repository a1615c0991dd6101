// Building blocks the configuration pages share: labelled rows that the engine's field errors can find, tabs,
// live JSON checking, confirmed deletes, date conversion, and a list/create/edit page set for simple resources.

import { EngineError } from "./api.js";
import { confirmAction, el, form, header, href, notify, pagedTable, section, showEngineError, uniqueId } from "./ui.js";

// ---- small utilities ----

// Calls `fn` once the caller has been quiet for `ms` (for live counts while the operator types).
export function debounce(fn, ms = 400) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

// A problem found before anything is sent, in the engine's own shape, so forms place it next to the field.
export function problem(field, message) {
  return new EngineError("", { message, details: { field } });
}

// ISO 8601 from the engine → the value of a datetime-local input (the browser's local time).
export function toLocalInput(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

// A datetime-local value (local time) → ISO 8601 with its offset made explicit, so the engine never guesses.
export function fromLocalInput(value) {
  if (!value) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

// The body without the members that were left empty (creates send only what the operator gave).
export function compact(body) {
  return Object.fromEntries(Object.entries(body).filter(([, v]) => v !== null && v !== undefined && v !== ""));
}

export function emptyToNull(value) {
  return value === "" || value === undefined ? null : value;
}

export function reference(id) {
  return id ? { id } : null;
}

// view.append() without the parts left out (DOM append would write null as the text "null").
export function appendAll(parent, ...nodes) {
  parent.append(...nodes.flat().filter(Boolean));
  return parent;
}

export function prettyJson(value) {
  return JSON.stringify(value, null, 2);
}

// ---- rows and controls ----

// A labelled row with the same structure as ui.js forms (.field, a label, help, an error line), so
// showFieldError places the engine's errors here when its dotted path starts with one of `apiNames`.
export function fieldRow({ label, control, help = null, apiNames = [], checkbox = false }) {
  const id = control.id || uniqueId("cfg");
  control.id = id;
  const helpId = help ? `${id}-help` : null;
  const errorId = `${id}-error`;
  control.setAttribute("aria-describedby", [helpId, errorId].filter(Boolean).join(" "));
  const labelNode = el("label", { for: id }, label);
  const row = el(
    "div",
    { class: `field${checkbox ? " checkbox" : ""}`, dataset: { field: apiNames[0] || "" } },
    checkbox ? [control, labelNode] : [labelNode, control],
    help ? el("p", { id: helpId, class: "help" }, help) : null,
    el("p", { id: errorId, class: "field-error", hidden: true }),
  );
  row.apiNames = apiNames;
  row.control = control;
  return row;
}

// A row that only holds an error line, for paths that belong to a group rather than one control.
export function errorRow(apiNames) {
  const row = el("div", { class: "field error-only" }, el("p", { class: "field-error", role: "alert", hidden: true }));
  row.apiNames = apiNames;
  return row;
}

export function textInput(value = "", attributes = {}) {
  return el("input", { type: "text", value: value ?? "", ...attributes });
}

export function numberInput(value = null, attributes = {}) {
  return el("input", { type: "number", step: "1", value: value ?? "", ...attributes });
}

export function selectInput(options, value = "", attributes = {}) {
  return el(
    "select",
    attributes,
    options.map(([v, label]) => el("option", { value: v, selected: String(value ?? "") === String(v) || null }, label)),
  );
}

export function checkboxInput(checked = false, attributes = {}) {
  return el("input", { type: "checkbox", checked: Boolean(checked), ...attributes });
}

// A group of checkboxes under one legend; `.read()` answers the checked values.
export function choiceGroup({ legend, options, values = [], apiNames = [], help = null }) {
  const chosen = new Set(values.map(String));
  const boxes = options.map(([value, label]) => {
    const box = el("input", { type: "checkbox", id: uniqueId("choice"), value, checked: chosen.has(String(value)) });
    return el("span", { class: "choice" }, box, el("label", { for: box.id }, label));
  });
  const node = el(
    "fieldset",
    { class: "field choices" },
    el("legend", {}, legend),
    help ? el("p", { class: "help" }, help) : null,
    options.length ? el("div", { class: "choice-list" }, boxes) : el("p", { class: "muted" }, "None to choose from yet."),
    el("p", { class: "field-error", hidden: true }),
  );
  node.apiNames = apiNames;
  node.read = () => [...node.querySelectorAll("input[type=checkbox]")].filter((b) => b.checked).map((b) => b.value);
  return node;
}

// Parses a textarea as JSON on every keystroke and says at once what is wrong, next to it.
export function liveJson(textarea, row, { allowEmpty = true, onValid = null } = {}) {
  const line = row.querySelector(".field-error");
  const check = () => {
    const text = textarea.value.trim();
    let message = "";
    let value = null;
    if (text) {
      try {
        value = JSON.parse(text);
      } catch (error) {
        message = `Not valid JSON: ${error.message}`;
      }
    } else if (!allowEmpty) message = "Required.";
    line.textContent = message;
    line.hidden = !message;
    if (message) textarea.setAttribute("aria-invalid", "true");
    else textarea.removeAttribute("aria-invalid");
    if (!message && onValid) onValid(value);
    return !message;
  };
  textarea.addEventListener("input", check);
  return check;
}

export function jsonArea(value, { rows = 10, label = null } = {}) {
  const area = el("textarea", { class: "code", rows, spellcheck: "false", "aria-label": label });
  area.value = value === undefined || value === null ? "" : typeof value === "string" ? value : prettyJson(value);
  return area;
}

// Reads a JSON textarea or throws a problem naming `field`.
export function readJson(textarea, field, { allowEmpty = true } = {}) {
  const text = textarea.value.trim();
  if (!text) {
    if (allowEmpty) return null;
    throw problem(field, "Required.");
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw problem(field, `Not valid JSON: ${error.message}`);
  }
}

// ---- tabs ----

// Accessible tabs: [{label, panel}]. `beforeSwitch(fromIndex, toIndex)` may answer false to stay (content that
// cannot be carried over). Arrow keys, Home and End move between tabs.
export function tabs(items, { label, beforeSwitch = null, onSwitch = null } = {}) {
  const ids = items.map(() => uniqueId("tab"));
  const list = el("div", { role: "tablist", "aria-label": label, class: "tabs" });
  const panels = [];
  let current = 0;
  const buttons = items.map((item, index) => {
    const button = el(
      "button",
      { type: "button", role: "tab", id: ids[index], "aria-controls": `${ids[index]}-panel`, class: "tab" },
      item.label,
    );
    button.addEventListener("click", () => select(index));
    button.addEventListener("keydown", (event) => {
      const keys = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: items.length - 1 };
      if (!(event.key in keys)) return;
      event.preventDefault();
      const target = (keys[event.key] + items.length) % items.length;
      if (select(target)) buttons[target].focus();
    });
    panels.push(el("div", { role: "tabpanel", id: `${ids[index]}-panel`, "aria-labelledby": ids[index], class: "tab-panel" }, item.panel));
    return button;
  });
  list.append(...buttons);
  function show(index) {
    current = index;
    buttons.forEach((b, i) => {
      b.setAttribute("aria-selected", String(i === index));
      b.tabIndex = i === index ? 0 : -1;
      panels[i].hidden = i !== index;
    });
  }
  function select(index) {
    if (index === current) return true;
    if (beforeSwitch && beforeSwitch(current, index) === false) return false;
    show(index);
    if (onSwitch) onSwitch(index);
    return true;
  }
  show(0);
  const node = el("div", { class: "tabbed" }, list, panels);
  node.select = select;
  node.current = () => current;
  node.panels = panels;
  return node;
}

// ---- forms of my own (for editors that ui.js `form` cannot express) ----

// A <form> holding `children`; on submit runs `onSubmit()`, and shows an EngineError (or a problem()) next to the
// field at fault, or above the buttons when no field matches.
export function editorForm({ children, submitLabel = "Save", onSubmit, actions = [], busyLabel = null }) {
  const errorLine = el("p", { class: "form-error", role: "alert", hidden: true });
  const submit = el("button", { type: "submit" }, submitLabel);
  const node = el("form", { class: "form wide", novalidate: true }, children, errorLine, el("div", { class: "actions" }, submit, actions));
  node.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFormErrors(node, errorLine);
    submit.disabled = true;
    if (busyLabel) submit.textContent = busyLabel;
    try {
      await onSubmit(node);
    } catch (error) {
      showEngineError(node, errorLine, [], error);
    } finally {
      submit.disabled = false;
      submit.textContent = submitLabel;
    }
  });
  node.errorLine = errorLine;
  node.submitButton = submit;
  return node;
}

export function clearFormErrors(node, errorLine) {
  errorLine.hidden = true;
  errorLine.textContent = "";
  for (const line of node.querySelectorAll(".field-error")) {
    line.hidden = true;
    line.textContent = "";
  }
  for (const control of node.querySelectorAll("[aria-invalid]")) control.removeAttribute("aria-invalid");
}

// ---- actions ----

// A button that asks first (ui.js confirmAction) and only then calls `run`; Cancel sends nothing.
export function confirmedButton({ label, title, message, confirmLabel, run, className = "danger" }) {
  const button = el("button", { type: "button", class: className }, label);
  button.addEventListener("click", async () => {
    if (!(await confirmAction({ title, message, confirmLabel }))) return;
    button.disabled = true;
    try {
      await run();
    } catch (error) {
      notify(`${error.message || "The engine refused this."}${error.code ? ` (${error.code})` : ""}`);
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

export function backLink(text, ...parts) {
  return el("p", { class: "back" }, el("a", { href: href(...parts) }, `← ${text}`));
}

export function buttonLink(text, ...parts) {
  return el("a", { class: "button", href: href(...parts) }, text);
}

export function statusBadge(ok, yes, no) {
  return el("span", { class: `badge ${ok ? "ok" : "bad"}` }, ok ? yes : no);
}

// ---- a list, a create form and an edit form for a simple resource ----
//
// spec: {path, api, title, singular, nav, columns, fields(item|null, extras), extras(context) → data the form needs,
//        body(values, item|null) → request body, name(item), remove: {label, title, message, confirmLabel, done} |
//        null, sections(item, context) → extra nodes on the edit page, list(engine, query) → {data, meta},
//        afterForm(form, item), canEdit(item), actions(item, context) → more buttons beside the heading}
export function resourceRoutes(spec) {
  return [
    { path: spec.path, title: spec.title, nav: spec.nav, render: (view, context) => renderList(spec, view, context) },
    { path: `${spec.path}/new`, title: `New ${spec.singular}`, render: (view, context) => renderCreate(spec, view, context) },
    { path: `${spec.path}/:id`, title: spec.singular, render: (view, context) => renderEdit(spec, view, context) },
  ];
}

function renderList(spec, view, { engine }) {
  const fetchPage = spec.list ? (query) => spec.list(engine, query) : (query) => engine.list(spec.api, query);
  appendAll(
    view,
    header(spec.title, buttonLink(`New ${spec.singular}`, spec.path, "new")),
    spec.intro ? el("p", { class: "muted" }, spec.intro) : null,
    pagedTable(spec.columns, fetchPage, { empty: `No ${spec.title.toLowerCase()} yet.`, caption: spec.title }),
  );
}

// ui.js forms take one extra node: the rows are wrapped (a grid, like the form's own rows).
function extraRows(spec, item, extras) {
  return spec.extraRows ? el("div", { class: "extra-rows" }, spec.extraRows(item, extras)) : null;
}

async function renderCreate(spec, view, context) {
  const extras = spec.extras ? await spec.extras(context) : {};
  if (!context.isCurrent()) return;
  const node = form({
    fields: spec.fields(null, extras),
    submitLabel: `Create ${spec.singular.toLowerCase()}`,
    extra: extraRows(spec, null, extras),
    onSubmit: async (values, formNode) => {
      const created = await context.engine.post(spec.api, spec.body(values, null, formNode, extras));
      notify(`${spec.singular} “${spec.name(created)}” created.`);
      context.navigate(`${spec.path}/${encodeURIComponent(created.id)}`);
    },
  });
  if (spec.afterForm) spec.afterForm(node, null, extras);
  view.append(header(`New ${spec.singular.toLowerCase()}`), backLink(spec.title, spec.path), section("Definition", node));
}

async function renderEdit(spec, view, context) {
  const { engine, params } = context;
  const [item, extras] = await Promise.all([
    engine.get(`${spec.api}/${encodeURIComponent(params.id)}`),
    spec.extras ? spec.extras(context) : {},
  ]);
  if (!context.isCurrent()) return;
  const editable = spec.canEdit ? spec.canEdit(item) : true;
  const actions = [];
  if (spec.remove && editable) {
    actions.push(
      confirmedButton({
        label: spec.remove.label,
        title: spec.remove.title(item),
        message: spec.remove.message,
        confirmLabel: spec.remove.confirmLabel || spec.remove.label,
        run: async () => {
          await engine.delete(`${spec.api}/${encodeURIComponent(item.id)}`);
          notify(spec.remove.done(item));
          context.navigate(spec.path);
        },
      }),
    );
  }
  if (spec.actions && editable) actions.push(...spec.actions(item, context));
  view.append(header(spec.name(item), ...actions), backLink(spec.title, spec.path));
  if (spec.summary) appendAll(view, spec.summary(item));
  if (editable) {
    const node = form({
      fields: spec.fields(item, extras),
      extra: extraRows(spec, item, extras),
      onSubmit: async (values, formNode) => {
        await engine.patch(`${spec.api}/${encodeURIComponent(item.id)}`, spec.body(values, item, formNode, extras));
        notify(`${spec.singular} saved.`);
        context.navigate(`${spec.path}/${encodeURIComponent(item.id)}`);
      },
    });
    if (spec.afterForm) spec.afterForm(node, item, extras);
    view.append(section("Definition", node));
  }
  if (spec.sections) {
    for (const extra of [spec.sections(item, context, extras)].flat()) if (extra) view.append(extra);
  }
}

// The first 1,000 items of a list (the API's largest page): the choices of a select (tiers, audiences, badges…).
export async function listAll(engine, path, query = {}) {
  const { data } = await engine.list(path, { ...query, limit: 1000 });
  return data;
}
