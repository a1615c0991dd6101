// The reactor's test panel: a sample event (payload and member) sent to POST /v1/events/test_reaction, which runs
// every live reactor of the type and rolls everything back, so the answer says what would happen and nothing changes.
// The dry run also takes the engine's own event types, so an ORDER_PLACED reactor is tried on a sample sale.

import { el, formatPoints, table } from "./ui.js";
import { editorForm, fieldRow, jsonArea, liveJson, readJson, statusBadge, textInput } from "./config-kit.js";

const SAMPLE_ORDER = {
  orderId: "00000000-0000-4000-8000-000000000000",
  externalId: "TEST-SALE",
  channel: "IN_STORE",
  currency: "GBP",
  totalSpend: 12.5,
  totalSpendMinor: 1250,
  itemCount: 1,
  skus: ["SAMPLE"],
  categories: [],
  lineItems: [{ sku: "SAMPLE", name: "Sample item", category: null, quantity: 1, unitPrice: 1250, discount: 0, total: 1250 }],
};

// A payload that meets a simple schema: each property given a plausible value of its type.
export function sampleFrom(schema, depth = 0) {
  if (!schema || typeof schema !== "object" || depth > 4) return null;
  if ("const" in schema) return schema.const;
  if (Array.isArray(schema.enum)) return schema.enum[0];
  if ("default" in schema) return schema.default;
  if (Array.isArray(schema.examples) && schema.examples.length) return schema.examples[0];
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  if (type === "object" || schema.properties) {
    return Object.fromEntries(Object.entries(schema.properties || {}).map(([k, v]) => [k, sampleFrom(v, depth + 1)]));
  }
  if (type === "array") return [];
  if (type === "integer") return schema.minimum ?? 1;
  if (type === "number") return schema.minimum ?? 10;
  if (type === "boolean") return true;
  if (type === "string") return schema.format === "uuid" ? "00000000-0000-4000-8000-000000000000" : "example";
  return null;
}

function reactionsTable(reactions, reactorId) {
  return table(
    [
      { label: "Reactor", value: (r) => (r.reactorId === reactorId ? `${r.reactorName} (this reactor)` : r.reactorName) },
      { label: "Reaction", value: (r) => r.type },
      { label: "Outcome", value: (r) => statusBadge(r.status === "APPLIED", r.status, r.status) },
      { label: "Points", value: (r) => formatPoints(r.points), numeric: true },
      { label: "Reason", value: (r) => r.reason || "—" },
      { label: "Detail", value: (r) => (r.detail ? el("code", {}, JSON.stringify(r.detail)) : "—") },
    ],
    reactions,
    { empty: "No reactor of this type reacted.", caption: "What each reaction would do" },
  );
}

// options: {engine, reactor, eventType (with its schema)}
export function testPanel({ engine, reactor, eventType }) {
  const member = textInput("", { autocomplete: "off", spellcheck: "false" });
  const sample = reactor.eventType === "ORDER_PLACED" ? SAMPLE_ORDER : sampleFrom(eventType ? eventType.schema : { type: "object" }) || {};
  const payload = jsonArea(sample, { rows: 12 });
  const payloadRow = fieldRow({ label: "Sample payload", control: payload, apiNames: ["payload"] });
  liveJson(payload, payloadRow);
  const result = el("div", { id: "reactor-test-result", class: "test-result", "aria-live": "polite" });
  const run = async () => {
    const body = { type: reactor.eventType, subject: member.value.trim() || undefined, payload: readJson(payload, "payload") || {} };
    result.replaceChildren(el("p", { class: "muted" }, "Testing…"));
    try {
      const answer = await engine.post("/v1/events/test_reaction", body);
      const points = answer.reactions.reduce((sum, r) => sum + (r.status === "APPLIED" && r.points ? r.points : 0), 0);
      result.replaceChildren(
        el("p", {}, "Dry run: nothing was stored. Points it would give: ", el("strong", { class: "test-points" }, formatPoints(points)), "."),
        reactionsTable(answer.reactions, reactor.id),
      );
    } catch (error) {
      result.replaceChildren();
      throw error;
    }
  };
  return el(
    "div",
    {},
    el("p", { class: "help" }, "Sends a sample event through every live reactor of this type and rolls it back: points, badges, rewards and webhooks are only reported."),
    editorForm({
      children: [fieldRow({ label: "Member (any identifier)", control: member, apiNames: ["subject"], help: "Leave empty for an anonymous event." }), payloadRow],
      submitLabel: "Run test",
      busyLabel: "Testing…",
      onSubmit: run,
    }),
    result,
  );
}

