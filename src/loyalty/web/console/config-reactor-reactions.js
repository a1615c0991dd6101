// A reactor's reactions as forms: one card per reaction, added with a type select. POINTS has a builder for the
// common derivation "payload field × factor, rounded" (or a fixed number, or any derivation as JSON); the others
// are ATTRIBUTE, BADGE, REWARD and WEBHOOK. `.read()` answers the list the API expects.

import { el } from "./ui.js";
import { checkboxInput, errorRow, fieldRow, jsonArea, liveJson, numberInput, prettyJson, problem, selectInput, textInput } from "./config-kit.js";

export const REACTION_TYPES = [
  ["POINTS", "Points"],
  ["ATTRIBUTE", "Set profile attributes"],
  ["BADGE", "Award a badge"],
  ["REWARD", "Give a reward"],
  ["WEBHOOK", "Call a webhook"],
];
const TYPE_LABEL = Object.fromEntries(REACTION_TYPES);

// "payload field × factor, rounded", as the API's derivation (see tests/e2e/test_till.py for the same rule).
export function productDerivation(path, factor, rounding = "DOWN", max = null) {
  const query = path.startsWith("$") ? path : `$.${path}`;
  const derivation = {
    operation: "PRODUCT",
    arguments: [
      { type: "PAYLOAD_QUERY", value: query },
      { type: "NUMBER", value: String(factor) },
    ],
    roundingDirection: rounding,
  };
  if (max !== null && max !== "") derivation.max = Number(max);
  return derivation;
}

// The builder's reading of a derivation: {mode: "product" | "fixed" | "custom", …}.
export function readDerivation(d) {
  if (!d || typeof d !== "object") return { mode: "custom" };
  const keys = Object.keys(d);
  const plain = keys.every((k) => ["operation", "arguments", "roundingDirection", "max", "roundingUnit"].includes(k)) && (d.roundingUnit === undefined || d.roundingUnit === 1);
  const args = Array.isArray(d.arguments) ? d.arguments : [];
  if (plain && d.operation === "PRODUCT" && args.length === 2 && args[0].type === "PAYLOAD_QUERY" && args[1].type === "NUMBER") {
    return { mode: "product", path: args[0].value, factor: args[1].value, rounding: d.roundingDirection || "DOWN", max: d.max ?? "" };
  }
  if (plain && d.operation === "SUM" && args.length === 1 && args[0].type === "NUMBER" && d.roundingDirection === undefined && d.max === undefined) {
    return { mode: "fixed", points: args[0].value };
  }
  return { mode: "custom" };
}

function names(index, field) {
  return [`reactions[${index}].${field}`, `reactions.${index}.${field}`];
}

// Each way of giving points is a part with `.read()` (the derivation, or a problem next to the field) and
// `.show(on)`: only the part on show is visible and answers to the engine's paths, so no error lands on a hidden row.
function productPart(shape, index) {
  const n = index + 1;
  const path = textInput(shape.path || "$.totalSpend", { spellcheck: "false" });
  const factor = textInput(shape.factor ?? "1", { inputmode: "decimal" });
  const rounding = selectInput([["DOWN", "Down"], ["UP", "Up"]], shape.rounding || "DOWN");
  const max = numberInput(shape.max ?? "");
  const rows = [
    [fieldRow({ label: `Payload field (reaction ${n})`, control: path, help: "A JSONPath into the payload, e.g. $.totalSpend (the order total in pounds)." }), "points.arguments[0]"],
    [fieldRow({ label: `Multiply by (reaction ${n})`, control: factor }), "points.arguments[1]"],
    [fieldRow({ label: `Round (reaction ${n})`, control: rounding }), "points.roundingDirection"],
    [fieldRow({ label: `At most (reaction ${n}, optional)`, control: max }), "points.max"],
  ];
  const preview = el("p", { class: "help preview", "aria-live": "polite" });
  const describe = () => {
    preview.textContent = `points = round ${rounding.value.toLowerCase()}(${path.value.trim() || "?"} × ${factor.value.trim() || "?"})${max.value ? `, at most ${max.value}` : ""}`;
  };
  for (const control of [path, factor, rounding, max]) control.addEventListener("input", describe);
  describe();
  const node = el("div", {}, el("div", { class: "builder" }, rows.map(([row]) => row)), preview);
  node.show = (on) => {
    node.hidden = !on;
    for (const [row, field] of rows) row.apiNames = on ? names(index, field) : [];
  };
  node.read = () => {
    if (!path.value.trim()) throw problem(`reactions[${index}].points.arguments[0]`, "Name the payload field, e.g. $.totalSpend.");
    const number = factor.value.trim();
    if (!number || !Number.isFinite(Number(number))) throw problem(`reactions[${index}].points.arguments[1]`, "The factor is a number, e.g. 1 or 0.5.");
    return productDerivation(path.value.trim(), number, rounding.value, max.value.trim() || null);
  };
  return node;
}

function fixedPart(shape, index) {
  const fixed = numberInput(shape.points ?? "");
  const node = fieldRow({ label: `Points (reaction ${index + 1})`, control: fixed });
  node.show = (on) => {
    node.hidden = !on;
    node.apiNames = on ? names(index, "points.arguments") : [];
  };
  node.read = () => {
    if (fixed.value.trim() === "" || !Number.isInteger(Number(fixed.value))) throw problem(`reactions[${index}].points.arguments`, "A whole number of points.");
    return { operation: "SUM", arguments: [{ type: "NUMBER", value: String(Number(fixed.value)) }] };
  };
  return node;
}

function customPart(derivation, index) {
  const custom = jsonArea(derivation, { rows: 8 });
  const node = fieldRow({ label: `Derivation as JSON (reaction ${index + 1})`, control: custom, help: "{operation: SUM | PRODUCT, arguments: [{type: NUMBER | PAYLOAD_QUERY | JSON_VALUE, value}], max, roundingDirection, roundingUnit}" });
  liveJson(custom, node);
  node.show = (on) => {
    node.hidden = !on;
    node.apiNames = on ? names(index, "points") : [];
  };
  node.read = () => {
    try {
      return JSON.parse(custom.value);
    } catch (error) {
      throw problem(`reactions[${index}].points`, `Not valid JSON: ${error.message}`);
    }
  };
  node.fill = (value) => {
    custom.value = prettyJson(value);
  };
  return node;
}

// The derivation: a choice of part, the parts, and `.read()` of the chosen one.
function derivationEditor(derivation, index) {
  const shape = readDerivation(derivation);
  const parts = { product: productPart(shape, index), fixed: fixedPart(shape, index), custom: customPart(derivation, index) };
  const mode = selectInput([["product", "A payload field × a factor, rounded"], ["fixed", "A fixed number"], ["custom", "A custom derivation (JSON)"]], shape.mode);
  let shown = mode.value;
  const show = () => Object.entries(parts).forEach(([name, part]) => part.show(name === mode.value));
  mode.addEventListener("change", () => {
    // Switching to JSON starts from what the form held, so nothing typed so far is lost.
    if (mode.value === "custom" && shown !== "custom") {
      try {
        parts.custom.fill(parts[shown].read());
      } catch {
        // half-filled: keep the JSON as it was
      }
    }
    shown = mode.value;
    show();
  });
  show();
  const node = el("div", { class: "derivation" }, fieldRow({ label: `Points are (reaction ${index + 1})`, control: mode }), Object.values(parts), errorRow(names(index, "points")));
  node.read = () => parts[mode.value].read();
  return node;
}

function pointsBody(reaction, index) {
  const n = index + 1;
  const derivation = derivationEditor(reaction.points || productDerivation("$.totalSpend", "1"), index);
  const policy = selectInput([["BYPASS", "Allow a negative balance"], ["REJECT_EVENT", "Refuse the event"]], reaction.liabilityHandlingPolicy || "BYPASS");
  const caps = checkboxInput(Boolean(reaction.bypassCaps));
  const node = el(
    "div",
    { class: "reaction-body" },
    derivation,
    fieldRow({ label: `If the balance would go negative (reaction ${n})`, control: policy, apiNames: names(index, "liabilityHandlingPolicy") }),
    fieldRow({ label: `Bypass the points caps (reaction ${n})`, control: caps, checkbox: true, apiNames: names(index, "bypassCaps") }),
  );
  node.read = () => ({ type: "POINTS", points: derivation.read(), liabilityHandlingPolicy: policy.value, bypassCaps: caps.checked });
  return node;
}

// Attribute values: numbers, true, false and null are stored as such; other text as text ("12" quoted stays text).
function parseValue(text) {
  if (text.trim() === "") return null;
  try {
    const value = JSON.parse(text);
    return typeof value === "object" && value !== null ? text : value;
  } catch {
    return text;
  }
}

function showValue(value) {
  if (value === null || value === undefined) return "";
  if (typeof value !== "string") return JSON.stringify(value);
  return parseValue(value) === value ? value : JSON.stringify(value);
}

function attributeBody(reaction, index) {
  const list = el("div", { class: "attribute-list" });
  const n = index + 1;
  const add = (item = { key: "", value: "" }) => {
    const position = list.children.length;
    const key = textInput(item.key || "", { spellcheck: "false" });
    const value = textInput(showValue(item.value), { spellcheck: "false" });
    const remove = el("button", { type: "button", class: "secondary" }, `Remove attribute ${position + 1} of reaction ${n}`);
    const row = el(
      "div",
      { class: "attribute" },
      fieldRow({ label: `Attribute ${position + 1} key (reaction ${n})`, control: key, apiNames: names(index, `attributes[${position}].key`) }),
      fieldRow({ label: `Attribute ${position + 1} value (reaction ${n})`, control: value, apiNames: names(index, `attributes[${position}]`), help: "Empty removes the attribute; numbers, true and false are stored as such." }),
      el("div", { class: "condition-remove" }, remove),
    );
    remove.addEventListener("click", () => row.remove());
    row.read = () => ({ isEnabled: item.isEnabled ?? true, key: key.value.trim(), value: parseValue(value.value) });
    list.append(row);
  };
  (reaction.attributes && reaction.attributes.length ? reaction.attributes : [{}]).forEach(add);
  const more = el("button", { type: "button", class: "secondary" }, `Add attribute to reaction ${n}`);
  more.addEventListener("click", () => add());
  const node = el("div", {}, list, el("div", { class: "actions" }, more), errorRow(names(index, "attributes")));
  node.read = () => {
    const attributes = [...list.children].map((row) => row.read());
    if (!attributes.length || attributes.some((a) => !a.key)) throw problem(`reactions[${index}].attributes`, "Each attribute needs a key.");
    return { type: "ATTRIBUTE", attributes };
  };
  return node;
}

function referenceBody(kind, reaction, index, choices) {
  const current = reaction[kind] && reaction[kind].id;
  const options = [["", choices.length ? "Choose…" : `No ${kind}s yet`], ...choices];
  if (current && !choices.some(([id]) => id === current)) options.push([current, `Unknown ${kind} ${current}`]);
  const control = selectInput(options, current || "");
  const node = el("div", {}, fieldRow({ label: `${kind === "badge" ? "Badge" : "Reward"} (reaction ${index + 1})`, control, apiNames: names(index, kind) }));
  node.read = () => {
    if (!control.value) throw problem(`reactions[${index}].${kind}`, `Choose a ${kind}.`);
    return { type: kind.toUpperCase(), [kind]: { id: control.value } };
  };
  return node;
}

function webhookBody(reaction, index) {
  const url = el("input", { type: "url", value: reaction.url || "", placeholder: "https://example.com/hooks/loyalty" });
  const headers = el("textarea", { rows: 3, spellcheck: "false", class: "code" });
  headers.value = Object.entries(reaction.headers || {}).map(([k, v]) => `${k}: ${v}`).join("\n");
  const n = index + 1;
  const node = el(
    "div",
    {},
    fieldRow({ label: `URL (reaction ${n})`, control: url, apiNames: names(index, "url") }),
    fieldRow({ label: `Headers (reaction ${n})`, control: headers, apiNames: names(index, "headers"), help: "One per line: Name: value." }),
  );
  node.read = () => {
    const parsed = {};
    for (const line of headers.value.split("\n").map((l) => l.trim()).filter(Boolean)) {
      const at = line.indexOf(":");
      if (at < 1) throw problem(`reactions[${index}].headers`, `“${line}” is not Name: value.`);
      parsed[line.slice(0, at).trim()] = line.slice(at + 1).trim();
    }
    return { type: "WEBHOOK", url: url.value.trim(), headers: parsed };
  };
  return node;
}

function rawBody(reaction, index) {
  const area = jsonArea(reaction, { rows: 6 });
  const row = fieldRow({ label: `Reaction ${index + 1} as JSON`, control: area, apiNames: [`reactions[${index}]`, `reactions.${index}`] });
  liveJson(area, row);
  row.read = () => {
    try {
      return JSON.parse(area.value);
    } catch (error) {
      throw problem(`reactions[${index}]`, `Not valid JSON: ${error.message}`);
    }
  };
  return row;
}

function card(reaction, index, context) {
  const kind = reaction.type;
  let body;
  if (kind === "POINTS") body = pointsBody(reaction, index);
  else if (kind === "ATTRIBUTE") body = attributeBody(reaction, index);
  else if (kind === "BADGE") body = referenceBody("badge", reaction, index, context.badges);
  else if (kind === "REWARD") body = referenceBody("reward", reaction, index, context.rewards);
  else if (kind === "WEBHOOK") body = webhookBody(reaction, index);
  else body = rawBody(reaction, index);
  const remove = el("button", { type: "button", class: "secondary" }, `Remove reaction ${index + 1}`);
  remove.addEventListener("click", () => context.remove(index));
  const node = el(
    "fieldset",
    { class: "reaction card-inner" },
    el("legend", {}, `Reaction ${index + 1}: ${TYPE_LABEL[kind] || kind}`),
    body,
    errorRow([`reactions[${index}]`, `reactions.${index}`]),
    el("div", { class: "actions" }, remove),
  );
  node.read = () => body.read();
  // What the card holds now, even half-filled, so removing another card can redraw this one as it was.
  node.snapshot = () => {
    try {
      return body.read();
    } catch {
      return reaction;
    }
  };
  return node;
}

// options: {reactions, badges: [[id, label]], rewards: [[id, label]]}
export function reactionsEditor({ reactions = [], badges = [], rewards = [] }) {
  const list = el("div", { class: "reaction-list" });
  let cards = [];
  const context = {
    badges,
    rewards,
    remove: (index) => draw(cards.filter((_, i) => i !== index).map((c) => c.snapshot())),
  };
  function draw(items) {
    cards = items.map((r, i) => card(r, i, context));
    list.replaceChildren(...cards);
    if (!cards.length) list.append(el("p", { class: "muted" }, "No reactions yet: add one below."));
  }
  const type = selectInput(REACTION_TYPES, "POINTS");
  const add = el("button", { type: "button", class: "secondary" }, "Add reaction");
  add.addEventListener("click", () => {
    draw([...cards.map((c) => c.snapshot()), { type: type.value }]);
    const last = cards[cards.length - 1];
    const first = last && last.querySelector("input, select, textarea");
    if (first) first.focus();
  });
  draw(reactions);
  const node = el(
    "div",
    { class: "reactions-editor" },
    el("h3", {}, "Reactions"),
    list,
    el("div", { class: "inline-form" }, fieldRow({ label: "New reaction type", control: type }), el("div", { class: "field-button" }, add)),
    errorRow(["reactions"]),
  );
  node.read = () => cards.map((c) => c.read());
  return node;
}

export function describeReactions(reactions) {
  return (reactions || []).map((r) => TYPE_LABEL[r.type] || r.type).join(", ") || "—";
}

