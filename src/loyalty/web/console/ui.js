// The console's building blocks: elements from data (text always as text, never as HTML), tables with paging,
// forms that show the engine's errors next to the field at fault, confirmations, and formatting.

// el("li", {class: "x", "aria-label": "…", onclick: f}, "text", child, …); attributes whose value is false, null or
// undefined are left out.
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (name === "class") node.className = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name === "value" && "value" in node) node.value = value;
    else if (name === "checked" && "checked" in node) node.checked = Boolean(value);
    else if (name.startsWith("on") && typeof value === "function") node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function clear(node) {
  node.replaceChildren();
  return node;
}

let uniqueCounter = 0;
export function uniqueId(prefix = "c") {
  uniqueCounter += 1;
  return `${prefix}-${uniqueCounter}`;
}

// ---- formatting ----

const NUMBER = new Intl.NumberFormat("en-GB");

export function formatPoints(points) {
  return points === null || points === undefined ? "—" : NUMBER.format(points);
}

// Minor units → "£12.34" (the currency's own number of decimals).
export function formatMoney(minor, currency = "GBP") {
  if (minor === null || minor === undefined) return "—";
  const format = new Intl.NumberFormat("en-GB", { style: "currency", currency });
  const digits = format.resolvedOptions().maximumFractionDigits;
  return format.format(minor / 10 ** digits);
}

export function formatDate(value) {
  if (!value) return "—";
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" });
}

// A link inside the console: href("members", id) → "#/members/<id>".
export function href(...parts) {
  return "#/" + parts.map((p) => encodeURIComponent(String(p))).join("/");
}

export function link(text, ...parts) {
  return el("a", { href: href(...parts) }, text);
}

// ---- page furniture ----

// The page's heading (and the document title); `actions` are buttons or links shown beside it.
export function header(title, ...actions) {
  document.title = `${title} · Loyalty console`;
  return el("div", { class: "page-header" }, el("h1", { id: "page-title", tabindex: "-1" }, title), el("div", { class: "page-actions" }, actions));
}

export function section(title, ...children) {
  const id = uniqueId("section");
  return el("section", { class: "card", "aria-labelledby": id }, el("h2", { id }, title), children);
}

// A definition list from [label, value] pairs.
export function facts(pairs) {
  return el(
    "dl",
    { class: "facts" },
    pairs.map(([label, value]) => [el("dt", {}, label), el("dd", {}, value === null || value === undefined || value === "" ? "—" : value)]),
  );
}

export function errorBox(error) {
  const code = error && error.code ? ` (${error.code})` : "";
  return el("p", { class: "form-error", role: "alert" }, `${(error && error.message) || "Something went wrong"}${code}`);
}

// Runs an async loader into a container: a loading note, then the content, or the error where the content goes.
export async function load(container, loader) {
  clear(container).append(el("p", { class: "muted" }, "Loading…"));
  try {
    const content = await loader();
    clear(container).append(...[content].flat().filter(Boolean));
  } catch (error) {
    clear(container).append(errorBox(error));
  }
}

// ---- tables ----

// columns: [{label, value: row => text or node, numeric?}]
export function table(columns, rows, { empty = "Nothing to show.", caption } = {}) {
  if (!rows.length) return el("p", { class: "muted empty" }, empty);
  return el(
    "div",
    { class: "table-wrap" },
    el(
      "table",
      {},
      caption ? el("caption", {}, caption) : null,
      el("thead", {}, el("tr", {}, columns.map((c) => el("th", { scope: "col", class: c.numeric ? "numeric" : null }, c.label)))),
      el(
        "tbody",
        {},
        rows.map((row) => el("tr", {}, columns.map((c) => el("td", { class: c.numeric ? "numeric" : null }, c.value(row))))),
      ),
    ),
  );
}

// A table over a paged list endpoint: fetch(query) answers {data, meta}; Previous/Next move by the page size.
export function pagedTable(columns, fetchPage, { limit = 20, empty, caption } = {}) {
  const holder = el("div", { class: "paged" });
  let skip = 0;
  async function show() {
    await load(holder, async () => {
      const { data, meta } = await fetchPage({ limit, skip });
      const total = meta && Number.isFinite(meta.total) ? meta.total : null;
      const last = total === null ? data.length < limit : skip + data.length >= total;
      const range = data.length ? `${skip + 1}–${skip + data.length}${total === null ? "" : ` of ${total}`}` : "";
      // Each pager names its table, so that a page with several lists has distinct buttons for a screen reader.
      const of = caption ? ` of ${caption}` : "";
      const pager = el(
        "div",
        { class: "pager" },
        el("button", { type: "button", class: "secondary", "aria-label": `Previous page${of}`, disabled: skip === 0, onclick: () => { skip = Math.max(0, skip - limit); show(); } }, "Previous"),
        el("span", { class: "muted" }, range),
        el("button", { type: "button", class: "secondary", "aria-label": `Next page${of}`, disabled: last, onclick: () => { skip += limit; show(); } }, "Next"),
      );
      // A list that fits on one page needs no pager.
      return [table(columns, data, { empty, caption }), skip === 0 && last ? null : pager];
    });
  }
  show();
  holder.reload = () => {
    skip = 0;
    return show();
  };
  return holder;
}

// ---- forms ----

// fields: [{name, label, type = "text" | "number" | "select" | "textarea" | "json" | "checkbox" | "datetime-local"
//           | "file", options: [[value, label]], value, required, help, placeholder, rows}]
// onSubmit(values, form) may throw an EngineError: its field errors are shown next to the matching fields (by the
// API's dotted path, matched on the field's `name` or its `apiName`s), the rest at the top of the form.
export function form({ fields, submitLabel = "Save", onSubmit, extra = null, id = null }) {
  const errorLine = el("p", { class: "form-error", role: "alert", hidden: true });
  const controls = {};
  const node = el("form", { class: "form", novalidate: true, id });
  for (const field of fields) node.append(fieldRow(field, controls));
  if (extra) node.append(extra);
  const submit = el("button", { type: "submit" }, submitLabel);
  node.append(errorLine, el("div", { class: "actions" }, submit));
  node.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(node, errorLine);
    let values;
    try {
      values = readValues(fields, controls);
    } catch (problem) {
      showFieldError(node, problem.field, problem.message) || showFormError(errorLine, problem.message);
      return;
    }
    submit.disabled = true;
    try {
      await onSubmit(values, node);
    } catch (error) {
      showEngineError(node, errorLine, fields, error);
    } finally {
      submit.disabled = false;
    }
  });
  node.controls = controls;
  return node;
}

function fieldRow(field, controls) {
  const id = uniqueId("field");
  const errorId = `${id}-error`;
  const helpId = field.help ? `${id}-help` : null;
  const described = [helpId, errorId].filter(Boolean).join(" ");
  const common = { id, name: field.name, required: field.required || null, "aria-describedby": described, placeholder: field.placeholder || null };
  let control;
  const type = field.type || "text";
  if (type === "select") {
    control = el("select", common, (field.options || []).map(([value, label]) => el("option", { value, selected: String(field.value ?? "") === String(value) || null }, label)));
  } else if (type === "textarea" || type === "json") {
    control = el("textarea", { ...common, rows: field.rows || (type === "json" ? 8 : 3), spellcheck: type === "json" ? "false" : null, class: type === "json" ? "code" : null });
    control.value = type === "json" && field.value !== undefined && typeof field.value !== "string" ? JSON.stringify(field.value, null, 2) : field.value ?? "";
  } else if (type === "checkbox") {
    control = el("input", { ...common, type: "checkbox", checked: Boolean(field.value) });
  } else {
    control = el("input", { ...common, type, step: type === "number" ? field.step || "1" : null, min: field.min ?? null, accept: field.accept || null });
    if (type !== "file" && field.value !== undefined && field.value !== null) control.value = field.value;
  }
  controls[field.name] = control;
  const row = el(
    "div",
    { class: `field${type === "checkbox" ? " checkbox" : ""}`, dataset: { field: field.name } },
    type === "checkbox" ? [control, el("label", { for: id }, field.label)] : [el("label", { for: id }, field.label), control],
    helpId ? el("p", { id: helpId, class: "help" }, field.help) : null,
    el("p", { id: errorId, class: "field-error", hidden: true }),
  );
  row.apiNames = [field.name, ...(field.apiNames || [])];
  return row;
}

class FieldProblem extends Error {
  constructor(field, message) {
    super(message);
    this.field = field;
  }
}

function readValues(fields, controls) {
  const values = {};
  for (const field of fields) {
    const control = controls[field.name];
    const type = field.type || "text";
    if (type === "checkbox") values[field.name] = control.checked;
    else if (type === "file") values[field.name] = control.files && control.files[0] ? control.files[0] : null;
    else if (type === "number") values[field.name] = control.value.trim() === "" ? null : Number(control.value);
    else if (type === "json") {
      const text = control.value.trim();
      if (!text) values[field.name] = null;
      else {
        try {
          values[field.name] = JSON.parse(text);
        } catch (problem) {
          throw new FieldProblem(field.name, `Not valid JSON: ${problem.message}`);
        }
      }
    } else values[field.name] = control.value.trim();
    if (field.required && (values[field.name] === null || values[field.name] === "")) {
      throw new FieldProblem(field.name, `${field.label} is required.`);
    }
  }
  return values;
}

function clearErrors(node, errorLine) {
  errorLine.hidden = true;
  errorLine.textContent = "";
  for (const line of node.querySelectorAll(".field-error")) {
    line.hidden = true;
    line.textContent = "";
  }
  for (const control of node.querySelectorAll("[aria-invalid]")) control.removeAttribute("aria-invalid");
}

// Shows a message under the field whose name (or one of whose API names) is the error's field or a prefix of it
// ("reactions.0.points" lands on a field named "reactions"). Answers whether a field was found.
export function showFieldError(node, fieldPath, message) {
  if (!fieldPath) return false;
  const rows = [...node.querySelectorAll(".field")];
  const matches = (name) => fieldPath === name || fieldPath.startsWith(name + ".") || fieldPath.startsWith(name + "[");
  const row = rows.find((r) => (r.apiNames || [r.dataset.field]).some(matches));
  if (!row) return false;
  const line = row.querySelector(".field-error");
  line.textContent = message;
  line.hidden = false;
  const control = row.querySelector("input, select, textarea");
  if (control) {
    control.setAttribute("aria-invalid", "true");
    control.focus();
  }
  return true;
}

function showFormError(errorLine, message) {
  errorLine.textContent = message;
  errorLine.hidden = false;
}

export function showEngineError(node, errorLine, fields, error) {
  const placed = (error.fieldErrors || []).filter((e) => showFieldError(node, e.field, e.message));
  const code = error.code ? ` (${error.code})` : "";
  if (!placed.length || placed.length < (error.fieldErrors || []).length) showFormError(errorLine, `${error.message || "The engine refused this."}${code}`);
}

// ---- confirmation and status ----

// Asks before a destructive or money-moving action. Answers true when the operator confirmed.
export function confirmAction({ title, message, confirmLabel = "Confirm", extra = null }) {
  const dialog = document.getElementById("confirm");
  document.getElementById("confirm-title").textContent = title;
  document.getElementById("confirm-message").textContent = message;
  clear(document.getElementById("confirm-extra")).append(...[extra].filter(Boolean));
  document.getElementById("confirm-ok").textContent = confirmLabel;
  dialog.returnValue = "";
  const opener = document.activeElement;
  return new Promise((resolve) => {
    dialog.addEventListener(
      "close",
      () => {
        if (opener && typeof opener.focus === "function") opener.focus();
        resolve(dialog.returnValue === "ok");
      },
      { once: true },
    );
    dialog.showModal();
    document.getElementById("confirm-cancel").focus();
  });
}

// A short message for screen readers and eyes alike (the status region is polite and fades after a while).
let statusTimer = null;
export function notify(message) {
  const status = document.getElementById("status");
  status.textContent = message;
  status.classList.add("visible");
  clearTimeout(statusTimer);
  statusTimer = setTimeout(() => status.classList.remove("visible"), 6000);
}

// ---- additions for the activity pages (generic; nothing above changes) ----

// A JSON document as a scrollable, keyboard-focusable block (a screen reader hears `label` before it).
export function jsonBlock(value, label = "JSON") {
  return el("pre", { class: "json", tabindex: "0", role: "region", "aria-label": label }, JSON.stringify(value ?? null, null, 2));
}

// A row of figures: [[label, value, {id}?]]. Each tile is a group named by its label, so "Points issued: 1,234"
// reads as one unit.
export function tiles(pairs) {
  return el(
    "div",
    { class: "tiles" },
    pairs.map(([label, value, options = {}]) => {
      const labelId = uniqueId("tile");
      return el(
        "div",
        { class: "tile", role: "group", "aria-labelledby": labelId, dataset: options.key ? { tile: options.key } : {} },
        el("div", { class: "label", id: labelId }, label),
        el("div", { class: "value" }, value),
        options.note ? el("div", { class: "note muted" }, options.note) : null,
      );
    }),
  );
}

// A status word as a badge: tone "ok", "bad" or none.
export function statusBadge(text, tone = null) {
  return el("span", { class: tone ? `badge ${tone}` : "badge" }, text);
}

// A <input type="datetime-local"> value ("2024-05-01T09:30", the browser's time zone) → an ISO instant with its
// offset, as the API's from/to filters want; "" and unreadable values → undefined (the filter is left out).
export function instantOf(localValue) {
  if (!localValue) return undefined;
  const date = new Date(localValue);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

// A filter bar for a list page whose filters live in the address (#/events?type=…), so a filtered view can be
// bookmarked and Back works. `fields` are form() fields; their values start from `query`; applying navigates to
// `path` with the non-empty values. Answers the form, so the page can show the engine's field errors on it.
export function filterForm({ path, fields, query, navigate, submitLabel = "Filter" }) {
  const filled = fields.map((field) => ({ ...field, value: query.get(field.name) ?? field.value ?? "" }));
  const node = form({
    fields: filled,
    submitLabel,
    onSubmit: (values) => {
      const params = new URLSearchParams();
      for (const [name, value] of Object.entries(values)) {
        if (value !== null && value !== undefined && value !== "" && value !== false) params.set(name, String(value));
      }
      const text = params.toString();
      navigate(`#/${path}${text ? `?${text}` : ""}`);
    },
  });
  node.classList.add("inline-form", "filters");
  node.setAttribute("role", "search");
  node.querySelector(".actions").append(el("a", { class: "button secondary", href: `#/${path}` }, "Clear"));
  return node;
}

// Shows an engine error of a list request next to the filter it names (e.g. an eventId that is not a UUID); answers
// whether one was placed.
export function showFilterError(filters, error) {
  const problems = error && error.fieldErrors ? error.fieldErrors : [];
  return problems.filter((e) => showFieldError(filters, e.field, e.message)).length > 0;
}
