// The printed receipt of a checkout, built from the engine's answer (POST /v1/checkouts).

import { el } from "./dom.js";
import { dateTime, number, points } from "./format.js";

const PAYMENT_NAMES = { CARD: "Paid by card", CASH: "Paid in cash" };

function row(label, value, attributes = {}) {
  return el("tr", attributes, el("th", { scope: "row" }, label), el("td", { class: "num" }, value));
}

// receipt: the checkout answer; context: {money, shopName, memberName, discountLabel(discount) → text}
export function renderReceipt(target, receipt, context) {
  const { money } = context;
  const lines = el("tbody");
  for (const line of receipt.lineItems) {
    const name = line.name || line.sku;
    const gross = line.total + line.discount;
    lines.append(
      el(
        "tr",
        { class: "receipt-line" },
        el("td", {}, `${number(line.quantity)} \u00d7 ${name}`, el("span", { class: "muted" }, ` @ ${money.format(line.unitPrice)}`)),
        el("td", { class: "num" }, money.format(gross)),
      ),
    );
    if (line.discount > 0) {
      lines.append(
        el(
          "tr",
          { class: "receipt-line-discount" },
          el("td", {}, "Discount"),
          el("td", { class: "num" }, money.minus(line.discount)),
        ),
      );
    }
  }

  const discounts = el("tbody", { id: "receipt-discounts" });
  for (const applied of receipt.appliedDiscounts || []) {
    discounts.append(row(context.discountLabel(applied), money.minus(applied.amount), { class: "receipt-discount" }));
  }

  const totals = el(
    "tbody",
    {},
    row("Subtotal", money.format(receipt.totals.subtotal)),
    row("Total discounts", money.minus(receipt.totals.discount), { id: "receipt-total-discount" }),
    row("Total", money.format(receipt.totals.total), { class: "grand", id: "receipt-total" }),
  );
  for (const payment of receipt.payments || []) {
    totals.append(row(PAYMENT_NAMES[payment.type] || `Paid (${payment.type})`, money.format(payment.amount)));
  }

  const loyalty = el("tbody");
  if (receipt.user) {
    loyalty.append(
      row("Points earned", points(receipt.pointsEarned), { id: "receipt-points-earned" }),
      row("Points spent", points(receipt.pointsSpent), { id: "receipt-points-spent" }),
      row("New balance", receipt.balance === null ? "–" : points(receipt.balance), { id: "receipt-balance" }),
    );
  }

  target.replaceChildren(
    el("header", { class: "receipt-head" }, el("p", { class: "receipt-shop" }, context.shopName), el("p", {}, dateTime(receipt.occurredAt))),
    el("p", { class: "receipt-number" }, "Receipt ", el("strong", { id: "receipt-number" }, receipt.externalId)),
    receipt.user
      ? el(
          "p",
          { class: "receipt-member" },
          "Member: ",
          el("strong", {}, context.memberName || "Loyalty member"),
          ` \u00b7 account ${receipt.user.accountNumber || ""}`,
        )
      : el("p", { class: "receipt-member" }, "No loyalty member"),
    el("table", { class: "receipt-table" }, el("caption", { class: "visually-hidden" }, "Items"), lines),
    receipt.appliedDiscounts && receipt.appliedDiscounts.length
      ? el("table", { class: "receipt-table" }, el("caption", {}, "Discounts"), discounts)
      : null,
    el("table", { class: "receipt-table totals-table" }, el("caption", { class: "visually-hidden" }, "Totals"), totals),
    receipt.user
      ? el("table", { class: "receipt-table loyalty-table" }, el("caption", {}, "Loyalty points"), loyalty)
      : null,
    el("p", { class: "receipt-thanks" }, "Thank you for your visit"),
  );
}
