// Reactors: the rules that turn events into points, attributes, badges, rewards and webhooks. A list (live
// versions, or every version), a create page, and a reactor's page with its editor, a test panel and its version
// history. Editing saves a new version; ending a reactor stops it (reactors are never deleted).

import { el, formatDate, header, link, load, notify, pagedTable, section } from "./ui.js";
import { appendAll, backLink, buttonLink, checkboxInput, confirmedButton, fieldRow, listAll } from "./config-kit.js";
import { reactorEditor } from "./config-reactor-editor.js";
import { describeReactions } from "./config-reactor-reactions.js";
import { testPanel } from "./config-reactor-test.js";
import { isEnded, versionsOf, versionsTable } from "./config-reactor-versions.js";

const NAV = { label: "Reactors", group: "Configuration" };

function effective(r) {
  return r.effectivity.end ? `${formatDate(r.effectivity.start)} – ${formatDate(r.effectivity.end)}` : `From ${formatDate(r.effectivity.start)}`;
}

function renderList(view, { engine }) {
  const everyVersion = checkboxInput(false);
  const columns = [
    { label: "Name", value: (r) => link(r.name, "reactors", r.id) },
    { label: "Event type", value: (r) => r.eventType },
    { label: "Reactions", value: (r) => describeReactions(r.reactions) },
    { label: "Effective", value: effective },
    { label: "Limit", value: (r) => (r.maxActivations ? `${r.maxActivations} (${(r.activationContext || "GLOBAL").toLowerCase()})` : "—") },
  ];
  const list = pagedTable(columns, (query) => engine.list("/v1/event_reactors", { ...query, includeEnded: everyVersion.checked || undefined }), {
    empty: "No reactors yet.",
    caption: "Reactors",
  });
  everyVersion.addEventListener("change", () => list.reload());
  view.append(
    header("Reactors", buttonLink("New reactor", "reactors", "new")),
    fieldRow({ label: "Show ended versions too", control: everyVersion, checkbox: true }),
    list,
  );
}

// What the editor's selects offer: event types (active custom ones and the intrinsic ones), badges, rewards.
async function choices(engine) {
  const [eventTypes, badges, rewards] = await Promise.all([
    listAll(engine, "/v1/event_types", { order: "ASC" }),
    listAll(engine, "/v1/badges"),
    listAll(engine, "/v1/rewards"),
  ]);
  return {
    eventTypes: eventTypes.filter((t) => t.isActive || t.isIntrinsic),
    badges: badges.filter((b) => b.status !== "ARCHIVED").map((b) => [b.id, `${b.internalName}${b.status === "ACTIVE" ? "" : ` (${b.status.toLowerCase()})`}`]),
    rewards: rewards.map((r) => [r.id, `${r.name} (${r.type === "VOUCHER" ? "voucher" : "offer"})`]),
  };
}

async function renderCreate(view, context) {
  const { engine, query } = context;
  const options = await choices(engine);
  if (!context.isCurrent()) return;
  const editor = reactorEditor({
    reactor: null,
    ...options,
    initialType: query.get("eventType") || "ORDER_PLACED",
    onSave: async (body) => {
      const created = await engine.post("/v1/event_reactors", body);
      notify(`Reactor “${created.name}” created.`);
      context.navigate(`reactors/${created.id}`);
    },
  });
  view.append(header("New reactor"), backLink("Reactors", "reactors"), section("Definition", editor));
}

function endButton(engine, reactor, context) {
  return confirmedButton({
    label: "End reactor",
    title: `End “${reactor.name}”?`,
    message: "It stops reacting to events now. It stays readable with its history, but cannot be started again.",
    confirmLabel: "End reactor",
    run: async () => {
      await engine.delete(`/v1/event_reactors/${encodeURIComponent(reactor.id)}`);
      notify(`Reactor “${reactor.name}” ended.`);
      context.navigate("reactors");
    },
  });
}

async function renderReactor(view, context) {
  const { engine, params } = context;
  const [reactor, options] = await Promise.all([engine.get(`/v1/event_reactors/${encodeURIComponent(params.id)}`), choices(engine)]);
  if (!context.isCurrent()) return;
  const ended = isEnded(reactor);
  const history = el("div");
  const latest = el("p", { class: "notice", hidden: !ended });
  view.append(header(reactor.name, ended ? null : endButton(engine, reactor, context)), backLink("Reactors", "reactors"), latest);
  const editor = reactorEditor({
    reactor,
    ...options,
    readOnly: ended,
    onSave: async (body) => {
      const next = await engine.patch(`/v1/event_reactors/${encodeURIComponent(reactor.id)}`, body);
      notify(`Saved as a new version of “${next.name}”.`);
      context.navigate(`reactors/${next.id}`);
    },
  });
  const eventType = options.eventTypes.find((t) => t.name === reactor.eventType);
  appendAll(
    view,
    section(ended ? "Definition (ended version)" : "Definition", editor),
    ended ? null : section("Test", testPanel({ engine, reactor, eventType })),
    section("Versions", history),
  );
  load(history, async () => {
    const versions = await versionsOf(engine, reactor);
    const newest = versions[versions.length - 1];
    if (ended && newest && newest.id !== reactor.id && !isEnded(newest)) {
      latest.replaceChildren("This version has ended. ", link("Open the latest version", "reactors", newest.id), " to edit it.");
    } else if (ended) latest.textContent = "This reactor has ended.";
    return versionsTable(versions, reactor);
  });
}

export const routes = [
  { path: "reactors", title: "Reactors", nav: NAV, render: renderList },
  { path: "reactors/new", title: "New reactor", render: renderCreate },
  { path: "reactors/:id", title: "Reactor", render: renderReactor },
];
