// What happened: the event stream and one event with its reactions, one order with its lines and refunds, the
// webhook delivery log, and the audit trail of admin changes. List filters live in the address, so a filtered view
// can be bookmarked and Back works.

import {
  el,
  facts,
  filterForm,
  formatDate,
  formatMoney,
  formatPoints,
  header,
  instantOf,
  jsonBlock,
  link,
  load,
  pagedTable,
  section,
  showFilterError,
  statusBadge,
  table,
} from "./ui.js";
import { memberLink } from "./members.js";

const REACTION_TONES = { APPLIED: "ok", SKIPPED: null, FAILED: "bad" };
const DELIVERY_TONES = { DELIVERED: "ok", PENDING: null, FAILED: "bad" };

function shortId(id) {
  return id ? `${id.slice(0, 8)}…` : "—";
}

// A list whose request may be refused for a filter's value: the refusal is shown next to that filter as well as
// where the table goes.
function filteredTable(columns, filters, fetchPage, options) {
  return pagedTable(
    columns,
    async (page) => {
      try {
        return await fetchPage(page);
      } catch (error) {
        showFilterError(filters, error);
        throw error;
      }
    },
    options,
  );
}

// The from/to filters are datetime-local values in the address; the API wants instants with an offset.
const PERIOD_FIELDS = [
  { name: "from", label: "From", type: "datetime-local" },
  { name: "to", label: "To", type: "datetime-local" },
];

function reactionSummary(reactions) {
  if (!reactions.length) return "None";
  const counts = {};
  for (const r of reactions) counts[r.status] = (counts[r.status] || 0) + 1;
  return Object.entries(counts)
    .map(([status, count]) => `${count} ${status.toLowerCase()}`)
    .join(", ");
}

// ---- events ----

async function eventTypeList(engine, input) {
  // Suggestions only: a type that is not listed may still be typed.
  try {
    const { data } = await engine.list("/v1/event_types", { limit: 200 });
    const list = el("datalist", { id: "event-type-names" }, data.map((t) => el("option", { value: t.name })));
    input.after(list);
    input.setAttribute("list", "event-type-names");
  } catch {
    // no suggestions
  }
}

async function renderEvents(view, { engine, query, navigate }) {
  const filters = filterForm({
    path: "events",
    query,
    navigate,
    fields: [
      { name: "type", label: "Type", placeholder: "ORDER_PLACED" },
      { name: "subject", label: "Member", placeholder: "Any identifier" },
      ...PERIOD_FIELDS,
    ],
  });
  eventTypeList(engine, filters.controls.type);
  const criteria = {
    type: query.get("type"),
    subject: query.get("subject"),
    from: instantOf(query.get("from")),
    to: instantOf(query.get("to")),
  };
  const events = filteredTable(
    [
      { label: "Reported", value: (e) => link(formatDate(e.reportedAt), "events", e.id) },
      { label: "Type", value: (e) => e.type },
      { label: "Member", value: (e) => (e.subject ? memberLink(e.subject, shortId(e.subject)) : "Anonymous") },
      { label: "Reactions", value: (e) => reactionSummary(e.reactions) },
      { label: "Occurred", value: (e) => formatDate(e.occurredAt) },
    ],
    filters,
    (page) => engine.list("/v1/events", { ...page, ...criteria }),
    { empty: "No events match.", caption: "Events, newest first" },
  );
  view.append(header("Event stream"), filters, events);
}

function reactionsTable(reactions) {
  return table(
    [
      { label: "Reactor", value: (r) => r.reactorName },
      { label: "Reaction", value: (r) => r.type },
      { label: "Outcome", value: (r) => statusBadge(r.status, REACTION_TONES[r.status] ?? null) },
      { label: "Why", value: (r) => r.reason || "—" },
      { label: "Points", value: (r) => (r.points === null || r.points === undefined ? "—" : formatPoints(r.points)), numeric: true },
      { label: "Detail", value: (r) => (r.detail ? el("code", {}, JSON.stringify(r.detail)) : "—") },
    ],
    reactions,
    { empty: "No reactor reacted to this event." },
  );
}

async function renderEvent(view, { engine, params, isCurrent }) {
  const event = await engine.get(`/v1/events/${encodeURIComponent(params.id)}`);
  if (!isCurrent()) return;
  const reactions = el("div");
  view.append(
    header(`Event ${event.type}`),
    section(
      "Event",
      facts([
        ["Id", el("code", {}, event.id)],
        ["Type", event.type],
        ["Member", event.subject ? memberLink(event.subject) : "Anonymous"],
        ["Executor", event.executor],
        ["Occurred", formatDate(event.occurredAt)],
        ["Reported", formatDate(event.reportedAt)],
        ["Webhooks", el("a", { href: `#/webhooks?eventId=${encodeURIComponent(event.id)}` }, "Deliveries of this event")],
      ]),
    ),
    section("Payload", jsonBlock(event.payload, "Event payload")),
    section("Reactions", reactions),
  );
  load(reactions, async () => reactionsTable(await engine.get(`/v1/events/${encodeURIComponent(event.id)}/reactions`)));
}

// ---- orders ----

function orderFacts(order) {
  const money = (minor) => formatMoney(minor, order.currency);
  return facts([
    ["External id", order.externalId],
    ["Status", order.status],
    ["Member", order.user ? memberLink(order.user.id, order.user.accountNumber || order.user.id) : "Not a member sale"],
    ["Venue", order.venue ? order.venue.externalIdentifier || order.venue.id : "—"],
    ["Channel", order.channel],
    ["Sold", formatDate(order.occurredAt)],
    ["Subtotal", money(order.totals.subtotal)],
    ["Discount", money(order.totals.discount)],
    ["Tax", money(order.totals.tax)],
    ["Total", money(order.totals.total)],
    ["Refunded", money(order.refundedValue)],
    ["Points earned", formatPoints(order.pointsEarned)],
    ["Points spent", formatPoints(order.pointsSpent)],
    ["Points reversed", formatPoints(order.pointsReversed)],
    ["Event", order.event ? link(`ORDER_PLACED ${shortId(order.event.id)}`, "events", order.event.id) : "—"],
  ]);
}

async function renderOrder(view, { engine, params, isCurrent }) {
  const order = await engine.get(`/v1/orders/${encodeURIComponent(params.id)}`);
  if (!isCurrent()) return;
  const money = (minor) => formatMoney(minor, order.currency);
  view.append(
    header(`Order ${order.externalId}`),
    section("Order", orderFacts(order)),
    section(
      "Lines",
      table(
        [
          { label: "SKU", value: (l) => l.sku },
          { label: "Name", value: (l) => l.name || "—" },
          { label: "Category", value: (l) => l.category || "—" },
          { label: "Quantity", value: (l) => String(l.quantity), numeric: true },
          { label: "Unit price", value: (l) => money(l.unitPrice), numeric: true },
          { label: "Discount", value: (l) => money(l.discount), numeric: true },
          { label: "Total", value: (l) => money(l.total), numeric: true },
          { label: "Refunded quantity", value: (l) => String(l.refundedQuantity), numeric: true },
        ],
        order.lineItems,
      ),
    ),
    section(
      "Refunds",
      table(
        [
          { label: "Refund", value: (r) => r.externalId },
          { label: "When", value: (r) => formatDate(r.createdAt) },
          { label: "Value", value: (r) => money(r.value), numeric: true },
          { label: "Points reversed", value: (r) => formatPoints(r.pointsReversed), numeric: true },
          { label: "Points returned", value: (r) => formatPoints(r.pointsReturned), numeric: true },
          { label: "Reason", value: (r) => r.reason || "—" },
        ],
        order.refunds,
        { empty: "No refunds." },
      ),
    ),
    section(
      "Discounts and payments",
      el("h3", {}, "Discounts applied"),
      table(
        [
          { label: "Source", value: (d) => d.source },
          { label: "Amount", value: (d) => money(d.amount), numeric: true },
          { label: "Points", value: (d) => (d.points === null || d.points === undefined ? "—" : formatPoints(d.points)), numeric: true },
          { label: "Reward, voucher or code", value: (d) => d.code || d.benefitId || d.rewardId || d.discountId || "—" },
        ],
        order.appliedDiscounts,
        { empty: "No discounts." },
      ),
      el("h3", {}, "Payments"),
      table(
        [
          { label: "Type", value: (p) => p.type },
          { label: "Amount", value: (p) => money(p.amount), numeric: true },
        ],
        order.payments,
        { empty: "No payments recorded." },
      ),
    ),
    Object.keys(order.metadata || {}).length ? section("Till metadata", jsonBlock(order.metadata, "Till metadata")) : null,
    order.event ? section("Reactions to the sale", reactionsTable(order.event.reactions)) : null,
  );
}

// ---- webhook deliveries ----

async function renderWebhooks(view, { engine, query, navigate }) {
  const filters = filterForm({
    path: "webhooks",
    query,
    navigate,
    fields: [
      {
        name: "status",
        label: "Status",
        type: "select",
        options: [
          ["", "Any"],
          ["PENDING", "Pending"],
          ["DELIVERED", "Delivered"],
          ["FAILED", "Failed"],
        ],
      },
      { name: "eventId", label: "Event id", placeholder: "An event's id" },
    ],
  });
  const deliveries = filteredTable(
    [
      { label: "Created", value: (d) => formatDate(d.createdAt) },
      { label: "Event", value: (d) => link(shortId(d.eventId), "events", d.eventId) },
      { label: "URL", value: (d) => el("code", {}, d.url) },
      { label: "Status", value: (d) => statusBadge(d.status, DELIVERY_TONES[d.status] ?? null) },
      { label: "Attempts", value: (d) => String(d.attempts), numeric: true },
      { label: "Last answer", value: (d) => (d.lastStatusCode ? `HTTP ${d.lastStatusCode}` : d.lastError || "—") },
      { label: "Delivered", value: (d) => formatDate(d.deliveredAt) },
      { label: "Next attempt", value: (d) => (d.status === "PENDING" ? formatDate(d.nextAttemptAt) : "—") },
    ],
    filters,
    (page) => engine.list("/v1/webhook_deliveries", { ...page, status: query.get("status"), eventId: query.get("eventId") }),
    { empty: "No deliveries match.", caption: "Webhook deliveries, newest first" },
  );
  view.append(header("Webhook deliveries"), filters, deliveries);
}

// ---- audit trail ----

// The member an entry is about: a /v1/users/{id} route's id, or the member a command names in its body.
function auditMember(entry) {
  if (entry.route.startsWith("/v1/users/{id}") && entry.targetIds.id) return entry.targetIds.id;
  const body = entry.requestBody;
  if (body && typeof body === "object" && !Array.isArray(body)) return body.actorId || body.beneficiaryId || null;
  return null;
}

function auditTarget(entry) {
  const member = auditMember(entry);
  const others = Object.entries(entry.targetIds).filter(([, value]) => value !== member);
  return [
    member ? el("span", {}, "Member ", memberLink(member, shortId(member))) : null,
    others.map(([name, value]) => el("span", { class: "target" }, ` ${name} `, el("code", {}, value))),
    !member && !others.length ? "—" : null,
  ];
}

function auditBody(entry) {
  if (entry.requestBody === null || entry.requestBody === undefined) return entry.requestBodyTruncated ? "(not kept)" : "—";
  const text = typeof entry.requestBody === "string" ? entry.requestBody : JSON.stringify(entry.requestBody, null, 2);
  return el(
    "details",
    {},
    el("summary", {}, entry.requestBodyTruncated ? "Body (cut short)" : "Body"),
    el("pre", { class: "json", tabindex: "0" }, text),
  );
}

const ACTIONS = [
  ["", "Any"],
  ["/v1/commands/", "Every command"],
  ["/v1/commands/adjust_points", "Adjust points"],
  ["/v1/commands/give_reward", "Give a reward"],
  ["/v1/commands/award_badge", "Award a badge"],
  ["/v1/commands/unburn_voucher", "Restore a voucher"],
  ["/v1/users", "Members (register)"],
  ["/v1/users/{id}", "Members (change, close)"],
  ["/v1/event_reactors", "Reactors"],
  ["/v1/rewards", "Rewards"],
  ["/v1/tiers", "Tiers"],
  ["/v1/settings", "Settings"],
];

async function renderAudit(view, { engine, query, navigate }) {
  const known = ACTIONS.some(([value]) => value === (query.get("action") || ""));
  const actions = known ? ACTIONS : [...ACTIONS, [query.get("action"), query.get("action")]];
  const filters = filterForm({
    path: "audit",
    query,
    navigate,
    fields: [
      { name: "action", label: "Action", type: "select", options: actions },
      {
        name: "method",
        label: "Method",
        type: "select",
        options: [
          ["", "Any"],
          ["POST", "POST"],
          ["PATCH", "PATCH"],
          ["DELETE", "DELETE"],
        ],
      },
      { name: "target", label: "Target id", placeholder: "An id in the path" },
      { name: "actor", label: "Client id", placeholder: "The admin client" },
      ...PERIOD_FIELDS,
    ],
  });
  const criteria = {
    action: query.get("action"),
    method: query.get("method"),
    target: query.get("target"),
    actor: query.get("actor"),
    from: instantOf(query.get("from")),
    to: instantOf(query.get("to")),
  };
  const entries = filteredTable(
    [
      { label: "When", value: (a) => formatDate(a.occurredAt) },
      { label: "Who", value: (a) => el("span", { title: a.actor.clientId }, a.actor.name) },
      { label: "What", value: (a) => [el("code", {}, `${a.method} ${a.route}`), el("span", { class: "muted" }, ` → ${a.status}`)] },
      { label: "Target", value: auditTarget },
      { label: "Request", value: auditBody },
    ],
    filters,
    (page) => engine.list("/v1/audit_log", { ...page, ...criteria }),
    { empty: "No changes match.", caption: "Changes by admin clients, newest first" },
  );
  view.append(
    header("Audit trail"),
    el("p", { class: "muted" }, "Every change an admin client made (the console included). The target filter matches ids in the path; commands name their member in the body."),
    filters,
    entries,
  );
}

export const activityRoutes = [
  { path: "events", title: "Event stream", nav: { label: "Event stream", group: "Activity" }, render: renderEvents },
  { path: "events/:id", title: "Event", render: renderEvent },
  { path: "orders/:id", title: "Order", render: renderOrder },
  { path: "webhooks", title: "Webhook deliveries", nav: { label: "Webhook deliveries", group: "Activity" }, render: renderWebhooks },
  { path: "audit", title: "Audit trail", nav: { label: "Audit trail", group: "Activity" }, render: renderAudit },
];
