// Event types: the custom types a back office reports (with the JSON Schema their payloads must meet), and the
// engine's intrinsic types, listed read-only with their published schemas. Types are never deleted: switch one off.

import { el, facts, link, notify, section } from "./ui.js";
import { choiceGroup, compact, confirmedButton, liveJson, prettyJson, resourceRoutes, statusBadge } from "./config-kit.js";

const ENHANCERS = [
  ["POINTS_ENHANCER", "Points (balance and lifetime earn)"],
  ["RANDOM_NUMBER", "A random number in [0, 1)"],
  ["AUDIENCE_ENHANCER", "The member's audiences"],
  ["TIER_ENHANCER", "The member's tier"],
];
const STARTER_SCHEMA = { type: "object", properties: {}, required: [] };

function fields(item) {
  const named = item ? [] : [{ name: "name", label: "Name", required: true, placeholder: "ITEM_SCANNED", help: "Capitals and underscores, 2–64 characters (ITEM_SCANNED). It cannot change later." }];
  return [
    ...named,
    { name: "description", label: "Description", type: "textarea", value: item ? item.description : "" },
    {
      name: "schema",
      label: "Payload schema (JSON Schema)",
      type: "json",
      rows: 14,
      value: item ? item.schema : STARTER_SCHEMA,
      help: 'A JSON Schema with "type": "object" (draft 2020-12 unless "$schema" names another). Payloads that do not meet it are refused.',
    },
    { name: "dedupeKeyPath", label: "Duplicate key (JSONPath)", value: item ? item.dedupeKeyPath || "" : "", placeholder: "$.transactionId", help: "A second event of this type for the same member with the same value is a duplicate. Empty: no duplicate detection." },
    { name: "isPrivate", label: "Private (only clients or the type's secret may report it)", type: "checkbox", value: item ? item.isPrivate : false },
    { name: "isActive", label: "Active (accepts events)", type: "checkbox", value: item ? item.isActive : true },
    { name: "omitFromUserActivity", label: "Leave out of the member's activity", type: "checkbox", value: item ? item.omitFromUserActivity : false },
  ];
}

function extraRows(item) {
  return choiceGroup({ legend: "Enhancers (added under payload.enhanced)", options: ENHANCERS, values: item ? item.enhancers : [], apiNames: ["enhancers"] });
}

function body(values, item, formNode) {
  const enhancers = formNode.querySelector(".choices").read();
  const common = {
    description: values.description || undefined,
    schema: values.schema ?? undefined,
    isPrivate: values.isPrivate,
    isActive: values.isActive,
    enhancers,
    omitFromUserActivity: values.omitFromUserActivity,
  };
  if (item) return { ...common, dedupeKeyPath: values.dedupeKeyPath }; // "" removes duplicate detection
  return compact({ name: values.name, ...common, dedupeKeyPath: values.dedupeKeyPath });
}

// Parse errors are shown next to the schema as the operator types; the engine's own verdict comes on save.
function afterForm(formNode) {
  const control = formNode.controls.schema;
  liveJson(control, control.closest(".field"));
}

function summary(item) {
  if (!item.isIntrinsic) return null;
  return section(
    "Intrinsic type",
    el("p", {}, "The engine emits this type itself; it cannot be changed or reported. Reactors may react to it."),
    facts([["Description", item.description]]),
    el("h3", {}, "Payload schema"),
    el("pre", { class: "json", tabindex: "0", "aria-label": "Payload schema" }, prettyJson(item.schema)),
  );
}

// The secret lets a back-office system report the type with X-Event-Secret and no token.
function secretSection(item, { engine }) {
  if (item.isIntrinsic) return null;
  const shown = el("p", { class: "secret", "aria-live": "polite" });
  const path = `/v1/event_types/${encodeURIComponent(item.id)}/secret`;
  const reveal = el("button", { type: "button", class: "secondary" }, "Show secret");
  reveal.addEventListener("click", async () => {
    const { secret } = await engine.get(path);
    shown.replaceChildren(el("code", {}, secret));
  });
  const rotate = confirmedButton({
    label: "Rotate secret",
    title: `Rotate the secret of ${item.name}?`,
    message: "The current secret stops working at once; systems using it must be given the new one.",
    confirmLabel: "Rotate",
    run: async () => {
      const { secret } = await engine.post(`${path}/rotate`, {});
      shown.replaceChildren(el("code", {}, secret));
      notify("Secret rotated.");
    },
  });
  return section("Event secret", el("p", { class: "help" }, "For back-office systems that report this type with X-Event-Secret instead of a token."), el("div", { class: "actions" }, reveal, rotate), shown);
}

export const routes = resourceRoutes({
  path: "event-types",
  api: "/v1/event_types",
  title: "Event types",
  singular: "Event type",
  nav: { label: "Event types", group: "Configuration" },
  intro: "Custom types first, then the engine's own (intrinsic) types.",
  list: (engine, query) => engine.list("/v1/event_types", { ...query, order: "ASC" }),
  columns: [
    { label: "Name", value: (t) => link(t.name, "event-types", t.name) },
    { label: "Kind", value: (t) => (t.isIntrinsic ? "Intrinsic" : "Custom") },
    { label: "Status", value: (t) => statusBadge(t.isActive, "Active", "Inactive") },
    { label: "Description", value: (t) => t.description || "—" },
  ],
  fields,
  extraRows,
  body,
  afterForm,
  name: (t) => t.name,
  canEdit: (t) => !t.isIntrinsic,
  summary,
  sections: (item, context) => secretSection(item, context),
  remove: null,
});
