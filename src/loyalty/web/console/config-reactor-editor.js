// The reactor editor: the whole definition as a form (event type, name, effectivity, activation limit, conditions
// and reactions) and as raw JSON, the two tabs carrying the same definition across. Saving creates the reactor, or
// (PATCH) a new version of it.

import { el, showFieldError } from "./ui.js";
import { conditionsEditor } from "./config-conditions.js";
import { reactionsEditor } from "./config-reactor-reactions.js";
import { editorForm, fieldRow, fromLocalInput, jsonArea, liveJson, numberInput, prettyJson, problem, selectInput, tabs, textInput, toLocalInput } from "./config-kit.js";

const CONTEXTS = [
  ["", "Not limited"],
  ["SUBJECT", "Per member"],
  ["GLOBAL", "In total"],
  ["TENANT", "In total (per tenant)"],
];
const TOP_LEVEL = ["name", "description", "eventType", "constraint", "effectivity", "maxActivations", "activationContext", "reactions"];

function sameJson(a, b) {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

// The definition a reactor answers with, in the shape a POST takes.
export function definitionOf(reactor) {
  return {
    name: reactor.name,
    description: reactor.description,
    eventType: reactor.eventType,
    constraint: reactor.constraint,
    effectivity: reactor.effectivity,
    maxActivations: reactor.maxActivations,
    activationContext: reactor.activationContext,
    reactions: reactor.reactions,
  };
}

// The payload's top-level fields (for the conditions' suggestions), from the event type's schema.
function payloadPaths(eventType) {
  const properties = (eventType && eventType.schema && eventType.schema.properties) || {};
  return Object.keys(properties);
}

// When the reactor applies. An edit that leaves the dates as shown keeps the version's own effectivity (sent
// unchanged it is left out, and the new version starts now).
function effectivityRows(definition, base) {
  const effectivity = definition.effectivity || {};
  const start = el("input", { type: "datetime-local", value: toLocalInput(effectivity.start) });
  const end = el("input", { type: "datetime-local", value: toLocalInput(effectivity.end) });
  const shown = { start: start.value, end: end.value };
  const node = el(
    "div",
    { class: "field-pair" },
    fieldRow({ label: "Effective from", control: start, apiNames: ["effectivity.start"], help: "Empty: from now." }),
    fieldRow({ label: "Effective until", control: end, apiNames: ["effectivity.end", "effectivity"], help: "Empty: open-ended." }),
  );
  node.read = () => {
    if (base && start.value === shown.start && end.value === shown.end) return base.effectivity;
    const chosen = { start: fromLocalInput(start.value), end: fromLocalInput(end.value) };
    return !base && !chosen.start && !chosen.end ? null : chosen;
  };
  return node;
}

function limitRows(definition) {
  const maxActivations = numberInput(definition.maxActivations ?? "", { min: "1" });
  const context = selectInput(CONTEXTS, definition.activationContext || "");
  const node = el(
    "div",
    { class: "field-pair" },
    fieldRow({ label: "Activation limit", control: maxActivations, apiNames: ["maxActivations"], help: "How many times it may apply; empty: no limit." }),
    fieldRow({ label: "Limit counted", control: context, apiNames: ["activationContext"] }),
  );
  node.read = () => {
    const limit = maxActivations.value.trim();
    if (limit && !(Number.isInteger(Number(limit)) && Number(limit) >= 1)) throw problem("maxActivations", "A whole number from 1, or empty.");
    return { maxActivations: limit ? Number(limit) : null, activationContext: context.value || null };
  };
  return node;
}

function buildForm(definition, { base, eventTypes, badges, rewards }) {
  const name = textInput(definition.name || "", { required: true });
  const description = el("textarea", { rows: 2 });
  description.value = definition.description || "";
  const typeOptions = eventTypes.map((t) => [t.name, t.isIntrinsic ? `${t.name} (intrinsic)` : t.name]);
  const eventType = selectInput(typeOptions, definition.eventType || "", { disabled: Boolean(base) });
  const effectivity = effectivityRows(definition, base);
  const limits = limitRows(definition);
  const conditions = conditionsEditor({
    legend: "Conditions on the payload",
    schema: definition.constraint ?? null,
    empty: null,
    suggestions: payloadPaths(eventTypes.find((t) => t.name === eventType.value)),
    fieldName: "constraint",
    intro: "The reactor runs only for events whose payload meets every condition.",
  });
  const reactions = reactionsEditor({ reactions: definition.reactions || [], badges, rewards });
  const node = el(
    "div",
    { class: "reactor-form" },
    fieldRow({ label: "Name", control: name, apiNames: ["name"], help: "2–64 characters." }),
    fieldRow({ label: "Description", control: description, apiNames: ["description"] }),
    fieldRow({ label: "Event type", control: eventType, apiNames: ["eventType"], help: base ? "A reactor keeps its event type; create a new reactor for another type." : null }),
    effectivity,
    limits,
    conditions,
    reactions,
  );
  node.read = () => ({
    name: name.value.trim(),
    description: description.value.trim() || null,
    eventType: eventType.value,
    constraint: conditions.read(),
    effectivity: effectivity.read(),
    ...limits.read(),
    reactions: reactions.read(),
  });
  return node;
}

// The request body for this definition: all of it for a create; for an edit, everything but the event type (which
// cannot change) and the effectivity unless it changed (left out, the new version starts now).
function requestBody(definition, base) {
  if (!base) {
    const body = { ...definition };
    for (const key of ["description", "constraint", "effectivity", "maxActivations", "activationContext"]) if (body[key] === null) delete body[key];
    return body;
  }
  if (definition.eventType !== undefined && definition.eventType !== base.eventType) {
    throw problem("eventType", "A reactor keeps its event type; create a new reactor for another type.");
  }
  const body = { ...definition };
  delete body.eventType;
  if (sameJson(body.effectivity, base.effectivity)) delete body.effectivity;
  return body;
}

function checkShape(definition) {
  if (!definition || typeof definition !== "object" || Array.isArray(definition)) throw problem("definition", "The definition is a JSON object.");
  const unknown = Object.keys(definition).filter((k) => !TOP_LEVEL.includes(k));
  if (unknown.length) throw problem("definition", `Unknown field(s): ${unknown.join(", ")}.`);
  return definition;
}

// The definition carried from one tab to the other: the form read into the JSON text, or the JSON text drawn as a
// form. Only the tab on show is in the page, so the engine's errors land on what the operator sees.
function switcher(state) {
  return (from) => {
    state.local.hidden = true;
    try {
      if (from === 0) {
        state.area.value = prettyJson(state.formNode.read());
        state.area.dispatchEvent(new Event("input"));
        state.formHolder.replaceChildren();
      } else {
        state.formNode = buildForm(state.fromJson(), state.options);
        state.formHolder.replaceChildren(state.formNode);
      }
      return true;
    } catch (error) {
      // Stay on this tab and say what keeps the definition from being carried over.
      const field = (error.fieldErrors || [])[0];
      if (from === 1 || !field || !showFieldError(state.formNode, field.field, field.message)) {
        state.local.textContent = error.message;
        state.local.hidden = false;
      }
      return false;
    }
  };
}

// options: {reactor (null for a new one), eventTypes, badges, rewards, onSave(body) → Promise, readOnly, initialType}
export function reactorEditor({ reactor, eventTypes, badges, rewards, onSave, readOnly = false, initialType = "" }) {
  const base = reactor ? definitionOf(reactor) : null;
  if (readOnly) return el("pre", { class: "json", tabindex: "0", "aria-label": "This version's definition" }, prettyJson(base));
  const definition = base || { name: "", eventType: initialType || (eventTypes[0] && eventTypes[0].name) || "", reactions: [] };
  const state = { options: { base, eventTypes, badges, rewards }, formHolder: el("div"), local: el("p", { class: "form-error", role: "alert", hidden: true }) };
  state.formNode = buildForm(definition, state.options);
  state.formHolder.append(state.formNode);
  state.area = jsonArea(definition, { rows: 24 });
  const jsonRow = fieldRow({ label: "Definition (JSON)", control: state.area, apiNames: [...TOP_LEVEL, "definition", "body"], help: "The body the API takes; it round-trips with the form." });
  liveJson(state.area, jsonRow, { allowEmpty: false });
  state.fromJson = () => {
    try {
      return checkShape(JSON.parse(state.area.value));
    } catch (error) {
      if (error.fieldErrors) throw error;
      throw problem("definition", `Not valid JSON: ${error.message}`);
    }
  };
  const jsonPanel = el("div");
  const tabbed = tabs(
    [
      { label: "Form", panel: state.formHolder },
      { label: "JSON", panel: jsonPanel },
    ],
    { label: "Reactor definition", beforeSwitch: switcher(state), onSwitch: (index) => jsonPanel.replaceChildren(...(index === 1 ? [jsonRow] : [])) },
  );
  const submit = async () => {
    const current = tabbed.current() === 0 ? state.formNode.read() : state.fromJson();
    await onSave(requestBody(current, base));
  };
  return editorForm({ children: [tabbed, state.local], submitLabel: reactor ? "Save as a new version" : "Create reactor", busyLabel: "Saving…", onSubmit: submit });
}
