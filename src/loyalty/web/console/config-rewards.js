// Rewards: vouchers members buy with points (or are given) and offers a till applies, with price, value, availability,
// targeting (tier, audiences, venues) and code settings. A reward's page adds its discounts. Deleting archives.

import { formatMoney, formatPoints, link } from "./ui.js";
import { choiceGroup, compact, emptyToNull, fromLocalInput, listAll, reference, resourceRoutes, toLocalInput } from "./config-kit.js";
import { discountsSection } from "./config-reward-discounts.js";

const CODE_TYPES = [
  ["HUMAN", "None (the member shows the voucher)"],
  ["OTP", "A unique code per voucher"],
  ["STATIC", "One code for everyone"],
  ["POOL", "Codes from a code pool"],
];

async function extras({ engine }) {
  const [tiers, categories, pools, audiences, venues, settings] = await Promise.all([
    listAll(engine, "/v1/tiers", { order: "ASC" }),
    listAll(engine, "/v1/reward_categories"),
    engine.get("/v1/code_pools"),
    listAll(engine, "/v1/audiences"),
    listAll(engine, "/v1/venues"),
    engine.get("/v1/settings"),
  ]);
  const currency = (settings.find((s) => s.name === "baseCurrency") || {}).value || "GBP";
  return { tiers, categories, pools, audiences, venues, currency };
}

function options(list, label, none) {
  return [["", none], ...list.map((x) => [x.id, label(x)])];
}

function fields(item, x) {
  const r = item || {};
  const code = r.code ? r.code.format || r.code.value || "" : "";
  return [
    { name: "type", label: "Type", type: "select", value: r.type || "VOUCHER", options: [["VOUCHER", "Voucher (bought with points or given)"], ["GENERIC_OFFER", "Offer (applied by the till)"]], help: "Cannot change once created." },
    { name: "name", label: "Name", required: true, value: r.name || "", help: "2–200 characters." },
    { name: "summary", label: "Summary", value: r.summary || "" },
    { name: "description", label: "Description", type: "textarea", value: r.description || "" },
    { name: "price", label: "Price (points)", type: "number", value: r.price ?? 0, min: 0, required: true, help: "0 = free." },
    { name: "value", label: "Value (minor units, 500 = £5.00)", type: "number", value: r.value ?? "", min: 0, help: "What the reward is worth to the member; it counts towards the loyalty cost." },
    { name: "currency", label: "Currency", value: r.currency || (item ? "" : x.currency), placeholder: "GBP" },
    { name: "purchasable", label: "Members may buy it with points", type: "checkbox", value: item ? r.purchasable : true },
    { name: "availableFrom", label: "Available from", type: "datetime-local", value: toLocalInput(r.availability && r.availability.start), apiNames: ["availability.start", "availability"], help: "Empty: from now." },
    { name: "availableUntil", label: "Available until", type: "datetime-local", value: toLocalInput(r.availability && r.availability.end), apiNames: ["availability.end"], help: "Empty: open-ended." },
    { name: "priority", label: "Priority (higher shows first)", type: "number", value: r.priority ?? 0, min: 0 },
    { name: "tier", label: "Tier required", type: "select", value: r.tier ? r.tier.id : "", options: options(x.tiers, (t) => `${t.name} or higher`, "Any member") },
    { name: "category", label: "Category", type: "select", value: r.category ? r.category.id : "", options: options(x.categories, (c) => c.name, "None") },
    { name: "codeType", label: "Code", type: "select", value: r.codeType || "HUMAN", options: CODE_TYPES, help: "Cannot change once created." },
    { name: "code", label: "Code format or value", value: code, placeholder: "CAFE-{code}", help: "A unique code: an optional format with {code} once. One code for everyone: the code itself." },
    { name: "codePool", label: "Code pool", type: "select", value: r.codePool ? r.codePool.id : "", options: options(x.pools, (p) => `${p.name} (${p.totalCodes - p.issuedCodes} left)`, "None") },
    { name: "hideCode", label: "Hide the code from the member", type: "checkbox", value: r.hideCode },
    { name: "redeemOnPurchase", label: "Reveal the code at once when bought", type: "checkbox", value: r.redeemOnPurchase },
    { name: "purchaseExpiration", label: "Valid for (seconds after purchase)", type: "number", value: r.purchaseExpiration ?? "", min: 1 },
    { name: "stockCapacity", label: "Stock", type: "number", value: r.stockCapacity ?? "", min: 0, help: "Empty: unlimited." },
    { name: "minTransactionAmount", label: "Minimum basket (minor units)", type: "number", value: r.minTransactionAmount ?? "", min: 0 },
    { name: "maxTransactionAmount", label: "Maximum basket (minor units)", type: "number", value: r.maxTransactionAmount ?? "", min: 0 },
    { name: "stacking", label: "Stacking", type: "select", value: r.stacking || "STACKABLE", options: [["STACKABLE", "Combines with other discounts"], ["EXCLUSIVE", "Exclusive"]] },
    { name: "reactorOnly", label: "Hidden: only given by reactors", type: "checkbox", value: r.reactorOnly },
  ];
}

function extraRows(item, x) {
  const ids = (list) => (list || []).map((ref) => ref.id);
  const audiences = x.audiences.map((a) => [a.id, a.name]);
  return [
    choiceGroup({ legend: "Redemption channels", options: [["IN_STORE", "In store"], ["ONLINE", "Online"]], values: item ? item.redemptionChannels : [], apiNames: ["redemptionChannels"], help: "None ticked: everywhere." }),
    choiceGroup({ legend: "Visible only to members of", options: audiences, values: ids(item && item.visibleToAudiences), apiNames: ["visibleToAudiences"], help: "None ticked: everyone who qualifies sees it." }),
    choiceGroup({ legend: "Purchasable only by members of", options: audiences, values: ids(item && item.purchasableForAudiences), apiNames: ["purchasableForAudiences"] }),
    choiceGroup({ legend: "Only at venues", options: x.venues.map((v) => [v.id, v.name]), values: ids(item && item.venues), apiNames: ["venues"] }),
  ];
}

function group(formNode, name) {
  return [...formNode.querySelectorAll(".choices")].find((n) => n.apiNames[0] === name).read();
}

function codeOf(values) {
  if (!values.code) return null;
  if (values.codeType === "OTP") return { format: values.code };
  if (values.codeType === "STATIC") return { value: values.code };
  return null;
}

function availability(values, item) {
  const shownStart = toLocalInput(item && item.availability.start);
  const start = item && values.availableFrom === shownStart ? item.availability.start : fromLocalInput(values.availableFrom);
  const end = fromLocalInput(values.availableUntil);
  if (!start && !end) return item ? { start: item.availability.start, end: null } : null;
  return { start: start || new Date().toISOString(), end };
}

function body(values, item, formNode) {
  const refs = (ids) => ids.map((id) => ({ id }));
  const fieldsSent = {
    name: values.name,
    summary: emptyToNull(values.summary),
    description: emptyToNull(values.description),
    price: values.price ?? 0,
    value: values.value,
    currency: emptyToNull(values.currency),
    purchasable: values.purchasable,
    availability: availability(values, item),
    priority: values.priority ?? 0,
    tier: reference(values.tier),
    category: reference(values.category),
    hideCode: values.hideCode,
    redeemOnPurchase: values.redeemOnPurchase,
    purchaseExpiration: values.purchaseExpiration,
    stockCapacity: values.stockCapacity,
    minTransactionAmount: values.minTransactionAmount,
    maxTransactionAmount: values.maxTransactionAmount,
    stacking: values.stacking,
    reactorOnly: values.reactorOnly,
    redemptionChannels: group(formNode, "redemptionChannels"),
    visibleToAudiences: refs(group(formNode, "visibleToAudiences")),
    purchasableForAudiences: refs(group(formNode, "purchasableForAudiences")),
    venues: refs(group(formNode, "venues")),
  };
  if (item) {
    // An edit sends null to clear what was emptied; type, code type and pool cannot change and are left out.
    const code = values.codeType === "OTP" || values.codeType === "STATIC" ? { code: codeOf(values) } : {};
    return { ...fieldsSent, ...code };
  }
  return compact({
    type: values.type,
    ...fieldsSent,
    codeType: values.codeType,
    code: codeOf(values),
    codePool: values.codeType === "POOL" ? reference(values.codePool) : null,
  });
}

// Type, code type and pool are fixed once the reward exists: shown, not editable. On a new reward, offers (applied
// by the till, never bought) start as not purchasable.
function afterForm(formNode, item) {
  const { type, purchasable } = formNode.controls;
  if (item) {
    for (const name of ["type", "codeType", "codePool"]) formNode.controls[name].disabled = true;
    return;
  }
  type.addEventListener("change", () => {
    purchasable.checked = type.value === "VOUCHER";
  });
}

export const routes = resourceRoutes({
  path: "rewards",
  api: "/v1/rewards",
  title: "Rewards",
  singular: "Reward",
  nav: { label: "Rewards", group: "Configuration" },
  columns: [
    { label: "Name", value: (r) => link(r.name, "rewards", r.id) },
    { label: "Type", value: (r) => (r.type === "VOUCHER" ? "Voucher" : "Offer") },
    { label: "Price", value: (r) => `${formatPoints(r.price)} pts`, numeric: true },
    { label: "Value", value: (r) => (r.value === null ? "—" : formatMoney(r.value, r.currency || "GBP")), numeric: true },
    { label: "Discounts", value: (r) => String(r.discounts.length), numeric: true },
    { label: "Audiences", value: (r) => String(r.visibleToAudiences.length + r.purchasableForAudiences.length || "—"), numeric: true },
  ],
  extras,
  fields,
  extraRows,
  body,
  afterForm,
  name: (r) => r.name,
  canEdit: (r) => !r.archivedAt,
  sections: (item, context, x) => discountsSection(item, context, x),
  remove: {
    label: "Archive reward",
    title: (r) => `Archive “${r.name}”?`,
    message: "Members no longer see it and it cannot be bought or changed. Vouchers already held keep working.",
    confirmLabel: "Archive",
    done: (r) => `Reward “${r.name}” archived.`,
  },
});
