// What the engine's error codes mean at the counter, in words a cashier can act on.

function seconds(error, fallback = "a few") {
  const n = error && Number(error.retryAfter);
  if (!Number.isFinite(n) || n <= 0) return `${fallback} seconds`;
  return n === 1 ? "1 second" : `${Math.ceil(n)} seconds`;
}

const MESSAGES = {
  // Signing in
  INVALID_API_KEY: "The till's API key was not accepted. Check it with your manager and sign in again.",
  INVALID_CLIENT: "The client ID or secret was not accepted. Check them with your manager and sign in again.",
  INVALID_SCOPE: "This till's client is not allowed to work as a till. Ask your manager to check its permissions.",
  INVALID_TOKEN: "The till's sign-in has expired. Sign in again.",
  MISSING_TOKEN: "The till is not signed in. Sign in again.",
  INVALID_REQUEST: "The sign-in details are incomplete. Fill in all three fields.",
  FORBIDDEN: "This till is not allowed to do that. Ask your manager to check its permissions.",

  // Connection and load
  NETWORK: "The till cannot reach the loyalty service. Check the connection and try again.",
  SERVER_ERROR: "The loyalty service had a problem. Try again in a moment.",
  UNEXPECTED_ANSWER: "The loyalty service gave an answer the till does not understand. Try again.",
  CATALOGUE_MISSING: "The till's product list could not be loaded. Reload the page, or ask your manager.",
  RATE_LIMITED: (e) => `The loyalty service is busy. Wait ${seconds(e)} and try again.`,
  TOO_MANY_FAILED_VALIDATIONS: (e) =>
    `Too many wrong voucher codes have been tried. Wait ${seconds(e)} before trying another voucher.`,
  PAYLOAD_TOO_LARGE: "This sale has too many items to send in one go. Split it into two sales.",
  IDEMPOTENCY_KEY_IN_USE: "The last attempt is still being processed. Wait a moment, then try again.",
  IDEMPOTENCY_KEY_REUSED: "This payment no longer matches the first attempt. Cancel the sale and start it again.",

  // Members
  USER_NOT_FOUND: "No member was found for that card or number. Check it and try again.",
  USER_REQUIRED: "Find the member before spending points.",
  USER_CONTEXT_REQUIRED: "Find the member first.",

  // Vouchers
  VOUCHER_NOT_FOUND: "This voucher code is not recognised. Check the code and try again.",
  VOUCHER_ALREADY_BURNED: "This voucher has already been used.",
  VOUCHER_EXPIRED: "This voucher has expired.",
  VOUCHER_OWNER_MISMATCH: "This voucher belongs to someone else. Only its owner can use it.",
  VOUCHER_NOT_VALID_AT_VENUE: "This voucher cannot be used in this shop.",
  BENEFIT_NOT_REDEEMED: "The member has not activated this voucher yet. They can activate it in their app.",
  VOUCHER_NOT_APPLICABLE: "A voucher in this sale does not apply to the basket. Remove it and try again.",
  NOT_AVAILABLE: "This reward is not available at the moment.",
  OUT_OF_STOCK: "This reward has run out.",

  // Discounts that do not apply to the basket
  MIN_TRANSACTION_AMOUNT_NOT_MET: "The basket is below the minimum spend for this discount.",
  NOT_COMBINABLE: "Cannot be combined with the other discounts in this sale; the better discount was kept.",
  NO_APPLICABLE_DISCOUNT: "Nothing in the basket qualifies for this discount.",
  ADD_ITEM_PRICE_UNKNOWN: "The free item of this discount is not on this till.",

  // Points
  INSUFFICIENT_POINTS: "The member does not have enough points for that. Lower the points to spend.",
  SPEND_CAP_EXCEEDED: "The member has reached their limit for spending points for now.",
  INVALID_POINTS: "Enter the points to spend as a whole number.",

  // Sales
  CURRENCY_MISMATCH: "The till's prices are in a different currency from the loyalty programme. Ask your manager.",
  VENUE_NOT_FOUND: "This shop is not known to the loyalty service. Ask your manager.",
  ORDER_CONFLICT: "This receipt number was already used for a different sale. Cancel the sale and start it again.",
  ORDER_TOTALS_MISMATCH: "The sale's totals did not add up. Cancel the sale and start it again.",
  ORDER_NOT_FOUND: "No sale was found with that receipt number.",
  REFUND_EXCEEDS_ORDER: "There is nothing left to refund on this sale: it has already been refunded in full.",
  REFUND_CONFLICT: "A different refund was already recorded under this reference. Try the refund again.",
  SKU_NOT_IN_ORDER: "That item is not on this sale.",
  ALREADY_VOIDED: "This sale has already been voided.",
  VOID_WINDOW_PASSED: "Sales can only be voided within 24 hours. Refund it instead.",
  NOT_A_CHECKOUT: "This sale was not taken at a till, so it cannot be voided. Refund it instead.",

  // Input the till should never send
  VALIDATION_ERROR: "The loyalty service could not accept what the till sent.",
  UNKNOWN_FIELD: "The loyalty service could not accept what the till sent.",
  MALFORMED_JSON: "The loyalty service could not accept what the till sent.",
};

// A sentence for a failure (an EngineError, or any error thrown while talking to the engine).
export function describeError(error) {
  const code = error && error.code ? error.code : "UNEXPECTED_ANSWER";
  const known = MESSAGES[code];
  if (typeof known === "function") return known(error);
  if (known) return known;
  if (error && error.status === 404) return "The loyalty service could not find that.";
  if (error && error.status === 409) return "That could not be done because something changed meanwhile. Try again.";
  if (error && error.status === 422) return "The loyalty service refused that for this sale.";
  return "The loyalty service could not do that. Try again, or ask your manager.";
}

// A sentence for why a voucher or an offer was left out of a priced basket.
export function describeRejection(reason) {
  return describeError({ code: reason });
}

// Failures worth quoting to support: the engine's request id finds them in its logs.
const FOR_SUPPORT = new Set([
  "SERVER_ERROR",
  "UNEXPECTED_ANSWER",
  "VALIDATION_ERROR",
  "UNKNOWN_FIELD",
  "MALFORMED_JSON",
  "ORDER_TOTALS_MISMATCH",
  "IDEMPOTENCY_KEY_REUSED",
]);

// The support reference to quote for an unexpected failure, or an empty string.
export function referenceOf(error) {
  if (!error || !error.requestId) return "";
  if (FOR_SUPPORT.has(error.code) || !MESSAGES[error.code]) return `Reference for support: ${error.requestId}.`;
  return "";
}

// Failures after which the till must sign in again.
export function needsSignIn(error) {
  return Boolean(error) && ["INVALID_API_KEY", "INVALID_CLIENT", "INVALID_TOKEN", "MISSING_TOKEN"].includes(error.code);
}
