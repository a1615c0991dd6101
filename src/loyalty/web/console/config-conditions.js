// Conditions as a form: rows of "field, test, value", all of which must hold, written as the JSON Schema the engine
// evaluates (a reactor's constraint over the event payload, an audience's criteria over the member document), and
// read back from such a schema when it has the shape this form writes. Anything else stays JSON.

import { el, showFieldError, uniqueId } from "./ui.js";
import { debounce, fieldRow, jsonArea, liveJson, prettyJson, problem, selectInput, tabs, textInput } from "./config-kit.js";

export const TESTS = [
  ["true", "is true"],
  ["false", "is false"],
  ["eq", "equals (text)"],
  ["eqNumber", "equals (number)"],
  ["min", "is at least"],
  ["max", "is at most"],
  ["gt", "is more than"],
  ["lt", "is less than"],
  ["present", "is present"],
  ["contains", "contains"],
];
const NEEDS_VALUE = new Set(["eq", "eqNumber", "min", "max", "gt", "lt", "contains"]);
const NUMERIC = { min: "minimum", max: "maximum", gt: "exclusiveMinimum", lt: "exclusiveMaximum" };

// "$.flags.staff" or "flags.staff" → ["flags", "staff"].
function segments(path) {
  return String(path || "")
    .trim()
    .replace(/^\$\.?/, "")
    .split(".")
    .map((s) => s.trim())
    .filter(Boolean);
}

function leafSchema({ test, value }) {
  if (test === "true") return { const: true };
  if (test === "false") return { const: false };
  if (test === "eq") return { const: String(value) };
  if (test === "eqNumber") return { const: Number(value) };
  if (test === "present") return {};
  if (test === "contains") return { type: "array", contains: { const: String(value) } };
  return { type: "number", [NUMERIC[test]]: Number(value) };
}

// One condition: each level an object that must have the next key, so a missing or null level never passes.
function conditionSchema(condition) {
  let schema = leafSchema(condition);
  for (const key of segments(condition.path).reverse()) {
    schema = { type: "object", properties: { [key]: schema }, required: [key] };
  }
  return schema;
}

// rows → JSON Schema; `empty` is what no condition at all means (null: no constraint; {}: everyone).
export function conditionsToSchema(rows, empty = null) {
  if (!rows.length) return empty;
  const parts = rows.map(conditionSchema);
  return parts.length === 1 ? parts[0] : { allOf: parts };
}

function sameKeys(object, allowed) {
  return Object.keys(object).every((k) => allowed.includes(k));
}

function readLeaf(schema) {
  const keys = Object.keys(schema);
  if (!keys.length) return { test: "present", value: "" };
  if (sameKeys(schema, ["const"])) {
    if (schema.const === true) return { test: "true", value: "" };
    if (schema.const === false) return { test: "false", value: "" };
    if (typeof schema.const === "string") return { test: "eq", value: schema.const };
    if (typeof schema.const === "number") return { test: "eqNumber", value: String(schema.const) };
    return null;
  }
  if (sameKeys(schema, ["type", "contains"]) && schema.type === "array" && schema.contains && sameKeys(schema.contains, ["const"])) {
    return typeof schema.contains.const === "string" ? { test: "contains", value: schema.contains.const } : null;
  }
  const bound = Object.entries(NUMERIC).find(([, keyword]) => keyword in schema);
  if (bound && sameKeys(schema, ["type", bound[1]]) && (schema.type === undefined || schema.type === "number")) {
    return typeof schema[bound[1]] === "number" ? { test: bound[0], value: String(schema[bound[1]]) } : null;
  }
  return null;
}

// One schema of the shape conditionSchema writes (with or without "type": "object" at each level) → a row.
function readCondition(schema) {
  const path = [];
  let node = schema;
  while (node && typeof node === "object" && "properties" in node) {
    if (!sameKeys(node, ["type", "properties", "required"]) || (node.type !== undefined && node.type !== "object")) return null;
    const keys = Object.keys(node.properties || {});
    if (keys.length !== 1 || JSON.stringify(node.required) !== JSON.stringify(keys)) return null;
    path.push(keys[0]);
    node = node.properties[keys[0]];
  }
  if (!path.length || !node || typeof node !== "object" || Array.isArray(node)) return null;
  const leaf = readLeaf(node);
  return leaf ? { path: path.join("."), ...leaf } : null;
}

// JSON Schema → rows, or null when the schema says more than this form can show.
export function schemaToConditions(schema) {
  if (schema === null || schema === undefined) return [];
  if (typeof schema !== "object" || Array.isArray(schema)) return null;
  if (!Object.keys(schema).length) return [];
  const parts = sameKeys(schema, ["allOf"]) && Array.isArray(schema.allOf) ? schema.allOf : [schema];
  const rows = parts.map(readCondition);
  return rows.every(Boolean) ? rows : null;
}

// ---- the editor ----

function conditionRow(condition, index, { suggestions, listId, onChange, onRemove, fieldName }) {
  const path = textInput(condition.path || "", { list: listId, autocomplete: "off", spellcheck: "false" });
  const test = selectInput(TESTS, condition.test || "true");
  const value = textInput(condition.value ?? "", { spellcheck: "false" });
  const number = index + 1;
  const own = `${fieldName}#${number}`; // problems found here are placed on this row, not on the whole editor
  const valueRow = fieldRow({ label: `Value of condition ${number}`, control: value });
  const sync = () => {
    valueRow.hidden = !NEEDS_VALUE.has(test.value);
  };
  test.addEventListener("change", () => {
    sync();
    onChange();
  });
  path.addEventListener("input", onChange);
  value.addEventListener("input", onChange);
  sync();
  const remove = el("button", { type: "button", class: "secondary" }, `Remove condition ${number}`);
  remove.addEventListener("click", onRemove);
  const node = el(
    "div",
    { class: "condition" },
    fieldRow({ label: `Field of condition ${number}`, control: path, apiNames: [own], help: suggestions.length ? null : "A dotted path, such as totalSpend or venue." }),
    fieldRow({ label: `Test of condition ${number}`, control: test }),
    valueRow,
    el("div", { class: "condition-remove" }, remove),
  );
  node.read = () => {
    const row = { path: path.value.trim(), test: test.value, value: value.value.trim() };
    if (!segments(row.path).length) throw problem(own, `Condition ${number} needs a field.`);
    if (NEEDS_VALUE.has(row.test) && row.value === "") throw problem(own, `Condition ${number} needs a value.`);
    if ((row.test === "eqNumber" || row.test in NUMERIC) && !Number.isFinite(Number(row.value))) {
      throw problem(own, `Condition ${number} compares with a number.`);
    }
    return row;
  };
  node.snapshot = () => ({ path: path.value, test: test.value, value: value.value });
  return node;
}

// The form view: the rows, "Add condition", and an error line for the schema as a whole. `.render(conditions)`
// redraws it; `.read()` answers the schema the rows make.
function conditionsForm({ suggestions, fieldName, empty, intro, changed }) {
  const listId = uniqueId("paths");
  const holder = el("div", { class: "conditions" });
  const note = el("p", { class: "muted" });
  const slot = errorSlot(fieldName);
  let rows = [];
  const describe = () => {
    note.textContent = rows.length ? "All of these must hold." : empty === null ? "No conditions: every event counts." : "No conditions: every member matches.";
  };
  const addRow = (condition) => {
    const row = conditionRow(condition, rows.length, {
      suggestions,
      listId,
      fieldName,
      onChange: changed,
      onRemove: () => {
        node.render(rows.filter((r) => r !== row).map((r) => r.snapshot()));
        changed();
      },
    });
    rows.push(row);
    holder.append(row);
    describe();
    return row;
  };
  const add = el("button", { type: "button", class: "secondary" }, "Add condition");
  add.addEventListener("click", () => {
    addRow({ path: "", test: suggestions.length ? "true" : "min", value: "" }).querySelector("input").focus();
    changed();
  });
  const datalist = el("datalist", { id: listId }, suggestions.map((v) => el("option", { value: v })));
  const node = el("div", {}, intro ? el("p", { class: "help" }, intro) : null, note, holder, el("div", { class: "actions" }, add), datalist, slot);
  node.wholeSchemaRow = slot;
  node.render = (conditions) => {
    rows = [];
    holder.replaceChildren();
    conditions.forEach(addRow);
    describe();
  };
  node.read = () => conditionsToSchema(rows.map((r) => r.read()), empty);
  return node;
}

// A Form/JSON editor of one JSON Schema. options: {legend, schema, empty (null or {}), suggestions: [path],
// fieldName (the API's path, e.g. "constraint"), onChange() (debounced: a pause after any change)}.
// `.read()` answers the schema (or throws a problem placed next to the editor). A schema the form cannot show
// (written as JSON by hand) is edited as JSON only.
export function conditionsEditor({ legend, schema, empty = null, suggestions = [], fieldName, onChange = null, intro = null }) {
  const changed = debounce(() => onChange && onChange(), 400); // the listener reads (and judges) the content
  const formPanel = conditionsForm({ suggestions, fieldName, empty, intro, changed });
  const area = jsonArea(schema ?? "", { rows: 10 });
  const jsonRow = fieldRow({ label: `${legend} as JSON Schema`, control: area, help: empty === null ? "Empty: no condition." : "{} matches everyone." });
  liveJson(area, jsonRow);
  area.addEventListener("input", changed);
  const unreadable = el("p", { class: "muted", hidden: true }, "These conditions say more than the form can show: edit them as JSON.");
  // The engine's errors about the whole schema go next to whichever view is showing.
  const placeErrors = (index) => {
    formPanel.wholeSchemaRow.apiNames = index === 0 ? [fieldName] : [];
    jsonRow.apiNames = index === 1 ? [fieldName] : [];
  };
  const toJson = () => {
    try {
      const value = formPanel.read();
      area.value = value === null ? "" : prettyJson(value);
      return true;
    } catch (error) {
      const field = (error.fieldErrors || [])[0];
      if (!field || !showFieldError(formPanel, field.field, field.message)) showLocal(formPanel, error.message);
      return false;
    }
  };
  // Only a schema this form writes is drawn as rows; any other stays JSON (the form view says so).
  const toForm = () => {
    let value;
    try {
      value = area.value.trim() ? JSON.parse(area.value) : empty;
    } catch {
      return false; // the live check already says why, next to the text
    }
    const conditions = schemaToConditions(value);
    unreadable.hidden = conditions !== null;
    formPanel.hidden = conditions === null;
    if (conditions) formPanel.render(conditions);
    return true;
  };
  const tabbed = tabs(
    [
      { label: "Conditions", panel: [unreadable, formPanel] },
      { label: "JSON Schema", panel: jsonRow },
    ],
    { label: legend, beforeSwitch: (from) => (from === 0 ? (formPanel.hidden ? true : toJson()) : toForm()), onSwitch: placeErrors },
  );
  function read() {
    if (tabbed.current() === 0 && !formPanel.hidden) return formPanel.read();
    const text = area.value.trim();
    if (!text) return empty;
    try {
      return JSON.parse(text);
    } catch (error) {
      throw problem(fieldName, `Not valid JSON: ${error.message}`);
    }
  }
  toForm();
  if (formPanel.hidden) tabbed.select(1);
  placeErrors(tabbed.current());
  const node = el("fieldset", { class: "conditions-editor" }, el("legend", {}, legend), tabbed);
  node.read = read;
  return node;
}

function errorSlot(fieldName) {
  const row = el("div", { class: "field error-only" }, el("p", { class: "field-error", hidden: true }));
  row.apiNames = [fieldName];
  return row;
}

function showLocal(panel, message) {
  const line = panel.querySelector(":scope > .error-only .field-error");
  if (!line) return;
  line.textContent = message;
  line.hidden = false;
}
