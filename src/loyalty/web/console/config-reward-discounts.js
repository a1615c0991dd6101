// A reward's discounts (/v1/rewards/{id}/discounts): what the till takes off when the reward is used. Add one,
// edit one in the same form, or remove one (after a confirmation).

import { el, formatMoney, load, notify, section, table } from "./ui.js";
import { choiceGroup, confirmedButton, editorForm, fieldRow, selectInput, textInput } from "./config-kit.js";

const TYPES = [
  ["ABSOLUTE", "Amount off (minor units)"],
  ["PERCENTAGE", "Percentage off"],
  ["FIXED", "Fixed price (minor units)"],
];

export function describeValue(discount, currency) {
  if (discount.type === "PERCENTAGE") return `${discount.value}% off`;
  if (discount.type === "FIXED") return `Price ${formatMoney(discount.value, currency)}`;
  return `${formatMoney(discount.value, currency)} off`;
}

// A discount value as typed: a JSON number when it is one, else the text (the engine also takes decimal strings).
function valueOf(text) {
  const trimmed = text.trim();
  return trimmed !== "" && Number.isFinite(Number(trimmed)) ? Number(trimmed) : trimmed;
}

function discountForm(reward, venues, { onSaved }) {
  const type = selectInput(TYPES, "ABSOLUTE");
  const value = textInput("", { inputmode: "decimal" });
  const targets = textInput("", { spellcheck: "false", placeholder: "HOT-DRINKS, LATTE-M" });
  const adds = textInput("", { spellcheck: "false" });
  const places = choiceGroup({ legend: "Only at venues", options: venues.map((v) => [v.id, v.name]), apiNames: ["venues"] });
  const heading = el("h3", {}, "Add a discount");
  let editing = null;
  const cancel = el("button", { type: "button", class: "secondary", hidden: true }, "Cancel editing");
  const node = editorForm({
    children: [
      heading,
      fieldRow({ label: "Discount type", control: type, apiNames: ["type"] }),
      fieldRow({ label: "Discount value", control: value, apiNames: ["value"], help: "Amount off and fixed price in minor units (500 = £5.00); a percentage from 0 to 100." }),
      fieldRow({ label: "Applies to products or categories", control: targets, apiNames: ["productSku"], help: "SKUs or categories, comma-separated. Empty: the whole basket." }),
      fieldRow({ label: "Adds the item (SKU)", control: adds, apiNames: ["sku"], help: "Optional: a SKU the till adds to the basket so the discount can apply to it." }),
      places,
    ],
    submitLabel: "Add discount",
    actions: [cancel],
    onSubmit: async () => {
      const body = { type: type.value, value: valueOf(value.value), productSku: targets.value.trim() || null, sku: adds.value.trim() || null, venues: places.read().map((id) => ({ id })) };
      const base = `/v1/rewards/${encodeURIComponent(reward.id)}/discounts`;
      if (editing) await reward.engine.patch(`${base}/${encodeURIComponent(editing.id)}`, body);
      else await reward.engine.post(base, body);
      notify(editing ? "Discount saved." : "Discount added.");
      reset();
      onSaved();
    },
  });
  function reset() {
    editing = null;
    node.reset();
    heading.textContent = "Add a discount";
    node.submitButton.textContent = "Add discount";
    cancel.hidden = true;
  }
  cancel.addEventListener("click", reset);
  node.edit = (discount) => {
    editing = discount;
    type.value = discount.type;
    value.value = String(discount.value);
    targets.value = discount.productSku || "";
    adds.value = discount.sku || "";
    const chosen = new Set(discount.venues.map((v) => v.id));
    for (const box of places.querySelectorAll("input[type=checkbox]")) box.checked = chosen.has(box.value);
    heading.textContent = "Edit the discount";
    node.submitButton.textContent = "Save discount";
    cancel.hidden = false;
    type.focus();
  };
  return node;
}

function discountsTable(reward, discounts, { onEdit, onRemoved }) {
  const currency = reward.currency || "GBP";
  return table(
    [
      { label: "Discount", value: (d) => describeValue(d, currency) },
      { label: "Applies to", value: (d) => d.productSku || "Whole basket" },
      { label: "Adds item", value: (d) => d.sku || "—" },
      { label: "Venues", value: (d) => (d.venues.length ? String(d.venues.length) : "All") },
      {
        label: "Actions",
        value: (d) =>
          el(
            "div",
            { class: "actions" },
            el("button", { type: "button", class: "secondary", onclick: () => onEdit(d) }, `Edit ${describeValue(d, currency)}`),
            confirmedButton({
              label: `Remove ${describeValue(d, currency)}`,
              title: "Remove this discount?",
              message: `${describeValue(d, currency)} will no longer apply when “${reward.name}” is used.`,
              confirmLabel: "Remove",
              run: async () => {
                await reward.engine.delete(`/v1/rewards/${encodeURIComponent(reward.id)}/discounts/${encodeURIComponent(d.id)}`);
                notify("Discount removed.");
                onRemoved();
              },
            }),
          ),
      },
    ],
    discounts,
    { empty: "No discounts yet: the reward takes nothing off a basket.", caption: "Discounts" },
  );
}

export function discountsSection(reward, { engine }, extras) {
  const holder = el("div", { id: "reward-discounts" });
  const context = { ...reward, engine };
  const reload = () =>
    load(holder, async () => {
      const { data } = await engine.list(`/v1/rewards/${encodeURIComponent(reward.id)}/discounts`, { limit: 1000 });
      return discountsTable(context, data, { onEdit: (d) => editor.edit(d), onRemoved: reload });
    });
  const editor = discountForm(context, extras.venues, { onSaved: reload });
  reload();
  if (reward.archivedAt) return section("Discounts", holder);
  return section("Discounts", holder, editor);
}
