// Audiences: members picked out by conditions over the member document (flags, attributes, points, tier, badges,
// rewards bought). Conditions are edited as a form or as JSON Schema, with a live count of the members who match now
// (POST /v1/audiences/count, a dry run). An audience's page lists its members and can refresh or delete it.

import { el, formatDate, formatPoints, header, link, notify, pagedTable, section } from "./ui.js";
import { backLink, buttonLink, checkboxInput, confirmedButton, debounce, editorForm, fieldRow, selectInput, statusBadge, textInput } from "./config-kit.js";
import { conditionsEditor } from "./config-conditions.js";

const NAV = { label: "Audiences", group: "Configuration" };
const TRIGGERS = [
  ["REACTIVE", "On every change to a member"],
  ["DAILY", "Daily (and on refresh)"],
  ["MANUAL", "Only on refresh"],
];
const SUGGESTIONS = ["flags.staff", "attributes.", "points.balance", "points.lifetimeEarn", "tier.name", "tier.priority", "badges", "rewardsPurchased", "profile.gender", "profile.emailAddress"];
const CRITERIA = "criteriaDefinition.criteria";

function renderList(view, { engine }) {
  view.append(
    header("Audiences", buttonLink("New audience", "audiences", "new")),
    pagedTable(
      [
        { label: "Name", value: (a) => link(a.name, "audiences", a.id) },
        { label: "Status", value: (a) => statusBadge(a.isActive, "Active", "Inactive") },
        { label: "Reassessed", value: (a) => (TRIGGERS.find(([v]) => v === a.criteriaDefinition.triggerFrequency) || [, a.criteriaDefinition.triggerFrequency])[1] },
        { label: "Created", value: (a) => formatDate(a.createdAt) },
      ],
      (query) => engine.list("/v1/audiences", query),
      { empty: "No audiences yet.", caption: "Audiences" },
    ),
  );
}

// The live count: asked again (debounced) whenever the definition changes; a late answer to an older question is
// dropped, so the line always matches what is on screen.
function liveCount(engine, definition) {
  const line = el("p", { id: "audience-count", class: "live-count", "aria-live": "polite" }, "Counting…");
  let asked = 0;
  const ask = async () => {
    const question = ++asked;
    let body;
    try {
      body = definition();
    } catch {
      line.textContent = "Complete the conditions (or mend the JSON) to count the members who match.";
      return;
    }
    try {
      const { count, assessed } = await engine.post("/v1/audiences/count", body);
      if (question === asked) line.textContent = `Members matching now: ${formatPoints(count)} of ${formatPoints(assessed)}`;
    } catch (error) {
      if (question === asked) line.textContent = `Cannot count: ${error.message || error.code}`;
    }
  };
  line.refresh = debounce(ask, 100); // the conditions editor has already waited for a pause
  line.refresh();
  return line;
}

function audienceEditor(engine, audience, onSave) {
  const a = audience || { isActive: true, criteriaDefinition: { criteria: {}, triggerFrequency: "REACTIVE" } };
  const name = textInput(a.name || "");
  const description = el("textarea", { rows: 2 });
  description.value = a.description || "";
  const active = checkboxInput(a.isActive);
  const trigger = selectInput(TRIGGERS, a.criteriaDefinition.triggerFrequency);
  const joined = checkboxInput(a.sendAudienceJoinedEvent);
  const left = checkboxInput(a.sendAudienceLeftEvent);
  let count = null;
  const conditions = conditionsEditor({
    legend: "Members who match",
    schema: a.criteriaDefinition.criteria,
    empty: {},
    suggestions: SUGGESTIONS,
    fieldName: CRITERIA,
    intro: "Fields of the member: flags.staff, attributes.<key>, points.balance, points.lifetimeEarn, tier.name, tier.priority, badges and rewardsPurchased (lists of ids).",
    onChange: () => count && count.refresh(),
  });
  const definition = () => ({
    name: name.value.trim(),
    description: description.value.trim() || undefined,
    isActive: active.checked,
    criteriaDefinition: { criteriaFormat: "JSON_SCHEMA", criteria: conditions.read(), triggerFrequency: trigger.value },
    sendAudienceJoinedEvent: joined.checked,
    sendAudienceLeftEvent: left.checked,
  });
  // The count needs a valid body, so an unnamed draft is counted under a stand-in name.
  count = liveCount(engine, () => {
    const body = definition();
    return { ...body, name: body.name.length >= 2 ? body.name : "Draft audience" };
  });
  return editorForm({
    children: [
      fieldRow({ label: "Name", control: name, apiNames: ["name"], help: "2–200 characters." }),
      fieldRow({ label: "Description", control: description, apiNames: ["description"] }),
      fieldRow({ label: "Active", control: active, apiNames: ["isActive"], checkbox: true }),
      fieldRow({ label: "Reassessed", control: trigger, apiNames: ["criteriaDefinition.triggerFrequency"] }),
      fieldRow({ label: "Announce joins (AUDIENCE_JOINED events)", control: joined, apiNames: ["sendAudienceJoinedEvent"], checkbox: true }),
      fieldRow({ label: "Announce leaves (AUDIENCE_LEFT events)", control: left, apiNames: ["sendAudienceLeftEvent"], checkbox: true }),
      conditions,
      count,
    ],
    submitLabel: audience ? "Save audience" : "Create audience",
    onSubmit: () => onSave(definition()),
  });
}

function renderCreate(view, { engine, navigate }) {
  const editor = audienceEditor(engine, null, async (body) => {
    const created = await engine.post("/v1/audiences", body);
    notify(`Audience “${created.name}” created.`);
    navigate(`audiences/${created.id}`);
  });
  view.append(header("New audience"), backLink("Audiences", "audiences"), section("Definition", editor));
}

function membersTable(engine, audience) {
  return pagedTable(
    [
      { label: "Account", value: (m) => m.accountNumber },
      { label: "Name", value: (m) => [m.profile.givenName, m.profile.familyName].filter(Boolean).join(" ") || "—" },
      { label: "E-mail", value: (m) => m.profile.emailAddress || "—" },
      { label: "Joined", value: (m) => formatDate(m.joinedAt) },
    ],
    (query) => engine.list(`/v1/audiences/${encodeURIComponent(audience.id)}/results`, query),
    { empty: "No members in this audience.", caption: "Members" },
  );
}

async function renderAudience(view, context) {
  const { engine, params, navigate } = context;
  const audience = await engine.get(`/v1/audiences/${encodeURIComponent(params.id)}`);
  if (!context.isCurrent()) return;
  const members = membersTable(engine, audience);
  const refresh = el("button", { type: "button", class: "secondary" }, "Refresh members");
  refresh.addEventListener("click", async () => {
    refresh.disabled = true;
    try {
      const { joined, left } = await engine.post(`/v1/audiences/${encodeURIComponent(audience.id)}/refresh`, {});
      notify(`Audience refreshed: ${joined} joined, ${left} left.`);
      members.reload();
    } catch (error) {
      notify(`${error.message} (${error.code})`);
    } finally {
      refresh.disabled = false;
    }
  });
  const remove = confirmedButton({
    label: "Delete audience",
    title: `Delete “${audience.name}”?`,
    message: "Its members are dropped (without AUDIENCE_LEFT events) and rewards stop using it.",
    confirmLabel: "Delete",
    run: async () => {
      await engine.delete(`/v1/audiences/${encodeURIComponent(audience.id)}`);
      notify(`Audience “${audience.name}” deleted.`);
      navigate("audiences");
    },
  });
  const editor = audienceEditor(engine, audience, async (body) => {
    await engine.patch(`/v1/audiences/${encodeURIComponent(audience.id)}`, body);
    notify("Audience saved.");
    navigate(`audiences/${audience.id}`);
  });
  view.append(
    header(audience.name, refresh, remove),
    backLink("Audiences", "audiences"),
    section("Definition", editor),
    section("Members", members),
  );
}

export const routes = [
  { path: "audiences", title: "Audiences", nav: NAV, render: renderList },
  { path: "audiences/new", title: "New audience", render: renderCreate },
  { path: "audiences/:id", title: "Audience", render: renderAudience },
];
