// Members: search and registration, and the member page (profile, wallet, audiences, badges, benefits, ledger,
// orders) with the operator's actions on a member, each confirmed before it is sent.

import {
  confirmAction,
  el,
  facts,
  form,
  formatDate,
  formatMoney,
  formatPoints,
  header,
  href,
  jsonBlock,
  link,
  load,
  notify,
  pagedTable,
  section,
  statusBadge,
  table,
  uniqueId,
} from "./ui.js";

// Enough for a select of rewards or badges: a program with more is searched elsewhere, not picked from a list.
const CHOICES_LIMIT = 200;

// ---- shared with the activity pages ----

// "Ada Lovelace", or the account number for a closed (erased) profile.
export function memberName(user) {
  const profile = (user && user.profile) || {};
  const name = [profile.givenName, profile.familyName].filter(Boolean).join(" ");
  return name || `Account ${user.accountNumber}`;
}

// A member id (or any identifier) as a link to the member page.
export function memberLink(identifier, text = identifier) {
  return identifier ? link(text, "members", identifier) : "—";
}

const BENEFIT_TONES = { CREATED: null, REDEEMED: "ok", VALIDATED: "ok", BURNED: "bad", EXPIRED: "bad" };

export function benefitStatus(status) {
  return statusBadge(status, BENEFIT_TONES[status] ?? null);
}

// Where a ledger entry came from: events and orders link to their pages; a refund, a command or a job is named.
export function entrySource(source) {
  if (!source) return "—";
  const short = source.id.slice(0, 8);
  if (source.type === "EVENT") return el("a", { href: href("events", source.id), "aria-label": `Event ${source.id}` }, `Event ${short}…`);
  if (source.type === "ORDER") return el("a", { href: href("orders", source.id), "aria-label": `Order ${source.id}` }, `Order ${short}…`);
  const names = { REFUND: "Refund", COMMAND: "Command", JOB: "Scheduled job" };
  return el("span", { title: source.id }, `${names[source.type] || source.type} ${short}…`);
}

function signed(points) {
  return points > 0 ? `+${formatPoints(points)}` : formatPoints(points);
}

// ---- search ----

const SEARCH_COLUMNS = [
  { label: "Name", value: (u) => link(memberName(u), "members", u.id) },
  { label: "E-mail", value: (u) => u.profile.emailAddress || "—" },
  { label: "Account number", value: (u) => u.accountNumber },
  { label: "Identifiers", value: (u) => [u.authIdentifier, u.externalIdentifier].filter(Boolean).join(", ") || "—" },
  { label: "Joined", value: (u) => formatDate(u.createdAt) },
  { label: "Status", value: (u) => (u.isRestricted ? statusBadge("Restricted", "bad") : statusBadge("Active", "ok")) },
];

function searchForm(query, navigate) {
  const input = el("input", { id: "member-search", type: "search", name: "search", value: query.get("search") || "", autocomplete: "off" });
  return el(
    "form",
    {
      class: "inline-form",
      role: "search",
      "aria-label": "Members",
      onsubmit: (event) => {
        event.preventDefault();
        const text = input.value.trim();
        navigate(text ? `#/members?search=${encodeURIComponent(text)}` : "#/members");
      },
    },
    el(
      "div",
      { class: "field" },
      el("label", { for: "member-search" }, "Search members"),
      input,
      el("p", { class: "help" }, "Part of a name, e-mail, account number or identifier."),
    ),
    el("div", { class: "actions" }, el("button", { type: "submit" }, "Search")),
  );
}

// The registration form: field names are the API's paths, so the engine's errors land on the right field.
function newMemberForm(engine, navigate) {
  return form({
    id: "new-member",
    submitLabel: "Register member",
    fields: [
      { name: "profile.givenName", label: "Given name", required: true },
      { name: "profile.familyName", label: "Family name", required: true },
      { name: "profile.emailAddress", label: "E-mail address", type: "email", required: true },
      { name: "authIdentifier", label: "Auth identifier", help: "The member's id at your sign-in provider (optional)." },
      { name: "externalIdentifier", label: "External identifier", help: "A card number or your CRM's id (optional)." },
      { name: "isRestricted", label: "Restricted (may not earn or spend)", type: "checkbox" },
    ],
    onSubmit: async (values) => {
      const body = {
        profile: {
          givenName: values["profile.givenName"],
          familyName: values["profile.familyName"],
          emailAddress: values["profile.emailAddress"],
        },
        authIdentifier: values.authIdentifier || undefined,
        externalIdentifier: values.externalIdentifier || undefined,
        isRestricted: values.isRestricted,
      };
      const created = await engine.post("/v1/users", body);
      notify(`Registered ${memberName(created)} (account ${created.accountNumber}).`);
      navigate(href("members", created.id));
    },
  });
}

async function renderMembers(view, { engine, query, navigate }) {
  const search = query.get("search") || "";
  const results = pagedTable(SEARCH_COLUMNS, (page) => engine.list("/v1/users", { ...page, search }), {
    empty: search ? `No member matches “${search}”.` : "No members yet.",
    caption: search ? `Members matching “${search}”` : "Newest members first",
  });
  const register = el("details", { class: "card" }, el("summary", {}, "New member"), newMemberForm(engine, navigate));
  view.append(header("Members"), searchForm(query, navigate), section("Results", results), register);
}

// ---- the member page ----

function profileFacts(user) {
  const p = user.profile || {};
  const flags = Object.entries(user.flags || {});
  const attributes = p.attributes || {};
  return [
    facts([
      ["Name", memberName(user)],
      ["E-mail", p.emailAddress],
      ["Account number", user.accountNumber],
      ["Member id", el("code", {}, user.id)],
      ["Auth identifier", user.authIdentifier],
      ["External identifier", user.externalIdentifier],
      ["Restricted", user.isRestricted ? statusBadge("Restricted: may not earn or spend", "bad") : "No"],
      ["Flags", flags.length ? flags.map(([name, on]) => statusBadge(`${name}: ${on ? "yes" : "no"}`, on ? "ok" : null)) : "None"],
      ["Gender", p.gender],
      ["Birth date", p.birthdate],
      ["Address", [p.streetAddress, p.city, p.postcode, p.region, p.country].filter(Boolean).join(", ")],
      ["Telephone", p.telephoneNumber],
      ["Joined", formatDate(user.createdAt)],
      ["Updated", formatDate(user.updatedAt)],
    ]),
    el("h3", {}, "Attributes"),
    Object.keys(attributes).length ? jsonBlock(attributes, "Member attributes") : el("p", { class: "muted" }, "No attributes."),
  ];
}

function tierProgress(tier) {
  if (!tier) return el("p", { class: "muted" }, "The program has no tiers.");
  const id = uniqueId("tier");
  const reached = tier.attained ? `Holds ${tier.name}` : `Working towards ${tier.name}`;
  return el(
    "div",
    { class: "tier", dataset: { tier: tier.name } },
    el("p", { id }, `${reached}: ${formatPoints(tier.earnedPoints)} of ${formatPoints(tier.pointsRequirement)} points.`),
    el("progress", { max: Math.max(tier.pointsRequirement, 1), value: Math.min(tier.earnedPoints, Math.max(tier.pointsRequirement, 1)), "aria-labelledby": id }),
  );
}

function walletView(wallet) {
  return [
    facts([
      ["Balance", el("span", { dataset: { wallet: "points" } }, `${formatPoints(wallet.points)} points`)],
      ["Pending", el("span", { dataset: { wallet: "pending" } }, `${formatPoints(wallet.pendingPoints)} points`)],
      ["Lifetime earned", `${formatPoints(wallet.lifetimeEarn)} points`],
      ["Cost of benefits", formatMoney(wallet.loyaltyCost)],
    ]),
    el("h3", {}, "Tier"),
    tierProgress(wallet.tier),
    el("h3", {}, "Expiring points"),
    table(
      [
        { label: "Points", value: (e) => formatPoints(e.points), numeric: true },
        { label: "Expire on", value: (e) => formatDate(e.expiresAt) },
      ],
      wallet.expiringPoints,
      { empty: "No points due to expire." },
    ),
  ];
}

async function audiencesView(engine, id) {
  const audiences = await engine.get(`/v1/users/${encodeURIComponent(id)}/audiences`);
  return table(
    [
      { label: "Audience", value: (a) => a.name },
      { label: "Description", value: (a) => a.description || "—" },
      { label: "Joined", value: (a) => formatDate(a.joinedAt) },
    ],
    audiences,
    { empty: "In no audience." },
  );
}

function badgesView(engine, user) {
  return pagedTable(
    [
      { label: "Badge", value: (a) => a.badge.internalName },
      { label: "Awarded", value: (a) => formatDate(a.awardedAt) },
      { label: "Comment", value: (a) => a.comment || "—" },
      { label: "Event", value: (a) => (a.eventId ? link("Event", "events", a.eventId) : "—") },
    ],
    // /v1/badges/earned names the member only by the X-User-Id header (it has no ?userId= parameter).
    (page) => engine.list("/v1/badges/earned", page, { headers: { "X-User-Id": user.id } }),
    { empty: "No badges yet.", limit: 10 },
  );
}

function benefitsView(engine, user, onRestore) {
  return pagedTable(
    [
      { label: "Reward", value: (b) => b.reward.name },
      { label: "Type", value: (b) => b.type },
      { label: "Status", value: (b) => benefitStatus(b.status) },
      { label: "Created", value: (b) => formatDate(b.createdAt) },
      { label: "Burned", value: (b) => formatDate(b.burnedAt) },
      { label: "Expires", value: (b) => formatDate(b.expiresAt) },
      {
        label: "Action",
        value: (b) =>
          b.status === "BURNED"
            ? el("button", { type: "button", class: "secondary", onclick: () => onRestore(b), "aria-label": `Restore ${b.reward.name} (burned ${formatDate(b.burnedAt)})` }, "Restore…")
            : "—",
      },
    ],
    (page) => engine.list("/v1/benefits", { ...page, userId: user.id }),
    { empty: "No benefits.", limit: 10, caption: "Benefits and vouchers, newest first" },
  );
}

function ledgerView(engine, user) {
  return pagedTable(
    [
      { label: "When", value: (e) => formatDate(e.createdAt) },
      { label: "Kind", value: (e) => e.kind },
      { label: "Points", value: (e) => signed(e.delta) + (e.pendingDelta ? ` (pending ${signed(e.pendingDelta)})` : ""), numeric: true },
      { label: "Balance after", value: (e) => formatPoints(e.balanceAfter), numeric: true },
      { label: "Reason", value: (e) => e.comment || (e.forfeited ? `${formatPoints(e.forfeited)} forfeited to a cap` : "—") },
      { label: "Source", value: (e) => entrySource(e.source) },
    ],
    (page) => engine.list(`/v1/users/${encodeURIComponent(user.id)}/points`, page),
    { empty: "No points movements yet.", caption: "Points ledger, newest first" },
  );
}

function ordersView(engine, user) {
  return pagedTable(
    [
      { label: "Order", value: (o) => link(o.externalId, "orders", o.id) },
      { label: "Sold", value: (o) => formatDate(o.occurredAt) },
      { label: "Status", value: (o) => o.status },
      { label: "Total", value: (o) => formatMoney(o.totals.total, o.currency), numeric: true },
      { label: "Refunded", value: (o) => formatMoney(o.refundedValue, o.currency), numeric: true },
      { label: "Points earned", value: (o) => formatPoints(o.pointsEarned), numeric: true },
    ],
    (page) => engine.list("/v1/orders", { ...page, user: user.id }),
    { empty: "No orders.", limit: 10 },
  );
}

// ---- actions: each asks first, then sends, tells, and shows the page afresh ----

// Runs one confirmed action: nothing is sent unless the operator confirms. Errors propagate to the form.
async function confirmed(question, send, done) {
  if (!(await confirmAction(question))) {
    notify("Cancelled: nothing was changed.");
    return;
  }
  const answer = await send();
  notify(done(answer));
}

function adjustPointsForm(engine, user, refresh) {
  return form({
    id: "adjust-points",
    submitLabel: "Adjust points…",
    fields: [
      { name: "points", label: "Points", type: "number", required: true, help: "Whole points; a negative number debits." },
      { name: "comment", label: "Reason", type: "textarea", required: true, rows: 2, help: "Kept on the ledger entry and in the audit trail." },
    ],
    onSubmit: (values) =>
      confirmed(
        {
          title: "Adjust points",
          message: `${values.points >= 0 ? "Credit" : "Debit"} ${formatPoints(Math.abs(values.points))} points ${values.points >= 0 ? "to" : "from"} ${memberName(user)}? Reason: ${values.comment}`,
          confirmLabel: "Adjust points",
        },
        () => engine.post("/v1/commands/adjust_points", { actorId: user.id, points: values.points, comment: values.comment }),
        (entry) => {
          refresh();
          return `Adjusted by ${signed(entry.delta)} points; balance ${formatPoints(entry.balanceAfter)}.`;
        },
      ),
  });
}

function choiceForm({ id, name, label, choices, none, submitLabel, onSubmit }) {
  if (!choices.length) return el("p", { class: "muted" }, none);
  return form({
    id,
    submitLabel,
    fields: [
      { name, label, type: "select", required: true, options: [["", "Choose…"], ...choices] },
      { name: "comment", label: "Comment", type: "textarea", rows: 2, help: "Optional; kept with the award." },
    ],
    onSubmit,
  });
}

async function giveRewardForm(engine, user, refresh) {
  const { data } = await engine.list("/v1/rewards", { limit: CHOICES_LIMIT });
  const names = new Map(data.map((r) => [r.id, r.name]));
  return choiceForm({
    id: "give-reward",
    name: "rewardId",
    label: "Reward",
    choices: data.map((r) => [r.id, `${r.name} (${r.type.toLowerCase().replace("_", " ")})`]),
    none: "The program has no rewards to give.",
    submitLabel: "Give reward…",
    onSubmit: (values) =>
      confirmed(
        { title: "Give a reward", message: `Give “${names.get(values.rewardId)}” to ${memberName(user)}, free of points?`, confirmLabel: "Give reward" },
        () => engine.post("/v1/commands/give_reward", { rewardId: values.rewardId, beneficiaryId: user.id, comment: values.comment || undefined }),
        (benefit) => {
          refresh();
          return `Gave “${benefit.reward.name}” to ${memberName(user)}.`;
        },
      ),
  });
}

async function awardBadgeForm(engine, user, refresh) {
  const { data } = await engine.list("/v1/badges", { limit: CHOICES_LIMIT });
  const active = data.filter((b) => b.status === "ACTIVE");
  const names = new Map(active.map((b) => [b.id, b.internalName]));
  return choiceForm({
    id: "award-badge",
    name: "badgeId",
    label: "Badge",
    choices: active.map((b) => [b.id, b.internalName]),
    none: "The program has no active badges.",
    submitLabel: "Award badge…",
    onSubmit: (values) =>
      confirmed(
        { title: "Award a badge", message: `Award “${names.get(values.badgeId)}” to ${memberName(user)}?`, confirmLabel: "Award badge" },
        () => engine.post("/v1/commands/award_badge", { badgeId: values.badgeId, beneficiaryId: user.id, comment: values.comment || undefined }),
        (award) => {
          refresh();
          return `Awarded “${award.badge.internalName}” to ${memberName(user)}.`;
        },
      ),
  });
}

// Restoring a burned voucher (after a voided sale): the engine wants a reason, asked for in a form of its own so a
// refusal shows next to it. The benefits table's "Restore…" buttons fill it in.
function unburnForm(engine, user, refresh) {
  const holder = el("div", { id: "unburn", hidden: true });
  let chosen = null;
  const summary = el("p", { class: "chosen" });
  const node = form({
    id: "unburn-voucher",
    submitLabel: "Restore voucher…",
    fields: [{ name: "reason", label: "Reason for restoring", type: "textarea", rows: 2, required: true, help: "For example: sale voided at the till." }],
    onSubmit: (values) =>
      confirmed(
        {
          title: "Restore a burned voucher",
          message: `Restore “${chosen.reward.name}” (burned ${formatDate(chosen.burnedAt)}) for ${memberName(user)}, so it can be used again?`,
          confirmLabel: "Restore voucher",
        },
        () => engine.post("/v1/commands/unburn_voucher", { benefitId: chosen.id, reason: values.reason }),
        (benefit) => {
          refresh();
          return `Restored “${benefit.reward.name}”: it is ${benefit.status.toLowerCase()} again.`;
        },
      ),
  });
  holder.append(el("h3", {}, "Restore a burned voucher"), summary, node);
  holder.choose = (benefit) => {
    chosen = benefit;
    summary.textContent = `Voucher: ${benefit.reward.name}, burned ${formatDate(benefit.burnedAt)}.`;
    holder.hidden = false;
    node.controls.reason.focus();
  };
  return holder;
}

async function closeAccount(engine, user, navigate) {
  const ok = await confirmAction({
    title: "Close this account",
    message: `Close ${memberName(user)}'s account (${user.accountNumber})? Personal data is erased and identifiers released; the ledger is kept. This cannot be undone.`,
    confirmLabel: "Close account",
  });
  if (!ok) {
    notify("Cancelled: the account stays open.");
    return;
  }
  try {
    await engine.delete(`/v1/users/${encodeURIComponent(user.id)}`);
  } catch (error) {
    notify(`Could not close the account: ${error.message || error.code}`);
    return;
  }
  notify(`Closed account ${user.accountNumber}.`);
  navigate("#/members");
}

function lazy(loader) {
  const holder = el("div");
  load(holder, loader);
  return holder;
}

async function renderMember(view, { engine, params, navigate, isCurrent }) {
  const [user, wallet] = await Promise.all([
    engine.get(`/v1/users/${encodeURIComponent(params.id)}`),
    engine.get(`/v1/users/${encodeURIComponent(params.id)}/wallet`),
  ]);
  if (!isCurrent()) return;
  // After an action the whole page is read again, so every section shows the engine's state after it.
  const refresh = () => navigate(href("members", user.id));
  const unburn = unburnForm(engine, user, refresh);
  const closeButton = el("button", { type: "button", class: "danger", onclick: () => closeAccount(engine, user, navigate) }, "Close account…");
  view.append(
    header(memberName(user), closeButton),
    el(
      "p",
      { class: "muted" },
      `Account ${user.accountNumber} · `,
      el("a", { href: `#/events?subject=${encodeURIComponent(user.id)}` }, "Their events"),
      " · ",
      el("a", { href: `#/audit?target=${encodeURIComponent(user.id)}` }, "Changes to this member in the audit trail"),
    ),
    el(
      "div",
      { class: "grid pair" },
      section("Profile", profileFacts(user)),
      section("Wallet", walletView(wallet)),
    ),
    section(
      "Actions",
      el(
        "div",
        { class: "grid actions-grid" },
        el("div", {}, el("h3", {}, "Adjust points"), adjustPointsForm(engine, user, refresh)),
        el("div", {}, el("h3", {}, "Give a reward"), lazy(() => giveRewardForm(engine, user, refresh))),
        el("div", {}, el("h3", {}, "Award a badge"), lazy(() => awardBadgeForm(engine, user, refresh))),
      ),
    ),
    section("Benefits and vouchers", benefitsView(engine, user, (benefit) => unburn.choose(benefit)), unburn),
    section("Points ledger", ledgerView(engine, user)),
    el("div", { class: "grid pair" }, section("Audiences", lazy(() => audiencesView(engine, user.id))), section("Badges", badgesView(engine, user))),
    section("Orders", ordersView(engine, user)),
  );
}

export const memberRoutes = [
  { path: "members", title: "Members", nav: { label: "Members", group: "Program" }, render: renderMembers },
  { path: "members/:id", title: "Member", render: renderMember },
];
