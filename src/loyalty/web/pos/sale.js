// One sale at the till: its basket, the vouchers and points presented, and the ids that make paying safe to retry.

import { randomId } from "./api.js";

// Reasons the pricing calculator gives for a voucher that is valid but does not apply to this basket; it may apply
// once the basket changes, so the till keeps it in the sale (and will not take payment until it is removed).
export const BASKET_REASONS = new Set([
  "MIN_TRANSACTION_AMOUNT_NOT_MET",
  "NOT_COMBINABLE",
  "NO_APPLICABLE_DISCOUNT",
  "ADD_ITEM_PRICE_UNKNOWN",
]);

export function newSale() {
  const day = new Date().toISOString().slice(0, 10).replaceAll("-", "");
  return {
    // The receipt number: the order's externalId. The engine answers a repeat of the same checkout with the
    // stored receipt, so a sale is never taken twice.
    externalId: `T${day}-${randomId(6)}`,
    // Sent with every attempt to pay for this sale (a retry repeats the first attempt byte for byte).
    idempotencyKey: `checkout-${randomId(24)}`,
    lines: [], // {sku, name, category, unitPrice, quantity}
    voucherCodes: [], // codes sent to the engine with each pricing
    refusedVouchers: [], // {code, reason}: refused codes, shown to the cashier and never sent again
    pointsToSpend: 0,
    pointsInvalid: false, // the points field holds something other than a whole number
    // While the outcome of a payment attempt is unknown: the exact body sent, to be sent again unchanged.
    unsettled: null,
  };
}

export function addProduct(sale, product) {
  const line = sale.lines.find((l) => l.sku === product.sku);
  if (line) line.quantity += 1;
  else {
    sale.lines.push({
      sku: product.sku,
      name: product.name,
      category: product.category,
      unitPrice: product.price,
      quantity: 1,
    });
  }
}

export function changeQuantity(sale, sku, delta) {
  const line = sale.lines.find((l) => l.sku === sku);
  if (!line) return;
  line.quantity += delta;
  if (line.quantity <= 0) sale.lines = sale.lines.filter((l) => l !== line);
}

export function removeLine(sale, sku) {
  sale.lines = sale.lines.filter((l) => l.sku !== sku);
}

// The body of POST /v1/baskets/price (and the start of POST /v1/checkouts).
export function basketBody(sale, member, currency) {
  const body = {
    currency,
    channel: "IN_STORE",
    lineItems: sale.lines.map((line) => ({
      sku: line.sku,
      name: line.name,
      category: line.category,
      quantity: line.quantity,
      unitPrice: line.unitPrice,
    })),
  };
  if (member) body.user = member.id;
  if (sale.voucherCodes.length) body.voucherCodes = [...sale.voucherCodes];
  if (member && sale.pointsToSpend > 0) body.pointsToSpend = sale.pointsToSpend;
  return body;
}

export function checkoutBody(sale, member, currency, paymentType, amount) {
  return {
    ...basketBody(sale, member, currency),
    externalId: sale.externalId,
    payments: [{ type: paymentType, amount }],
  };
}
