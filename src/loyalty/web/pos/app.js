// The reference till: sign in with a POS client, identify the member, build the basket, price it live, take
// payment, print the receipt, and refund or void a sale. Everything goes through the engine's /v1 API.

import { Engine, EngineError, forgetCredentials, loadCredentials, randomId, saveCredentials } from "./api.js";
import { $, el, say, setText, show } from "./dom.js";
import { Money, points } from "./format.js";
import { describeError, describeRejection, needsSignIn, referenceOf } from "./messages.js";
import { renderReceipt } from "./receipt.js";
import {
  BASKET_REASONS,
  addProduct,
  basketBody,
  changeQuantity,
  checkoutBody,
  newSale,
  removeLine,
} from "./sale.js";

const PRICING_DELAY_MS = 150;

const state = {
  engine: null,
  catalogue: null,
  money: null,
  currency: "GBP",
  minorPerPoint: 0,
  offerNames: new Map(), // rewardId → name, for offers anyone may get
  member: null, // {member, wallet, offers}
  sale: newSale(),
  priced: null, // {text, data}: the answer for the body `text`
  pricingError: null,
  pricingSeq: 0,
  pricingTimer: null,
  pricingRun: null,
  paying: false,
  receipt: null, // {receipt, memberName, settled: bool}
  pendingRefund: null, // {orderId, externalId}: a refund whose outcome is not known yet
};

// ---------------------------------------------------------------- messages

function explain(error) {
  const reference = referenceOf(error);
  return reference ? `${describeError(error)} ${reference}` : describeError(error);
}

function notice(text) {
  setText("notice-text", text || "");
  show("notice", Boolean(text));
}

// A failure that means the till's credentials no longer work sends the cashier back to the sign-in form.
function signInAgainIf(error) {
  if (!needsSignIn(error)) return false;
  signOut(describeError(error));
  return true;
}

// ---------------------------------------------------------------- sign in / out

async function signIn(event) {
  event.preventDefault();
  const credentials = {
    apiKey: $("api-key").value.trim(),
    clientId: $("client-id").value.trim(),
    clientSecret: $("client-secret").value.trim(),
  };
  say("sign-in-error", "");
  if (!credentials.apiKey || !credentials.clientId || !credentials.clientSecret) {
    say("sign-in-error", "Fill in the API key, the client ID and the client secret.");
    const empty = ["api-key", "client-id", "client-secret"].find((id) => !$(id).value.trim());
    $(empty).focus();
    return;
  }
  const button = $("sign-in-button");
  button.disabled = true;
  button.textContent = "Signing in…";
  try {
    const engine = new Engine(credentials);
    await engine.renewToken();
    saveCredentials(credentials);
    $("client-secret").value = "";
    await openTill(engine);
  } catch (error) {
    say("sign-in-error", explain(error));
    $("api-key").focus();
  } finally {
    button.disabled = false;
    button.textContent = "Sign in";
  }
}

function signOut(message = "") {
  forgetCredentials();
  clearTimeout(state.pricingTimer);
  state.pricingTimer = null;
  state.pricingSeq += 1;
  state.engine = null;
  state.member = null;
  state.sale = newSale();
  state.priced = null;
  state.receipt = null;
  notice("");
  show("till-view", false);
  show("receipt-view", false);
  show("open-returns", false);
  show("sign-out", false);
  setText("till-status", "");
  show("sign-in-view", true);
  $("client-secret").value = "";
  say("sign-in-error", message);
  $("api-key").focus();
}

async function openTill(engine) {
  state.engine = engine;
  const [settings, catalogue, offers] = await Promise.all([
    engine.get("/v1/settings"),
    fetch(new URL("./catalogue.json", import.meta.url), { cache: "no-cache" }).then((r) => {
      if (!r.ok) throw new EngineError("CATALOGUE_MISSING");
      return r.json();
    }),
    engine.get("/v1/rewards?type=GENERIC_OFFER&limit=100"),
  ]);
  const setting = (name) => (settings.find((s) => s.name === name) || {}).value;
  state.catalogue = catalogue;
  state.currency = catalogue.currency || setting("baseCurrency") || "GBP";
  state.money = new Money(state.currency);
  state.minorPerPoint = state.money.minorPerPoint(setting("pointsCurrencyValue") || "0.01");
  state.offerNames = new Map(offers.map((offer) => [offer.id, offer.name]));
  const programme = setting("baseCurrency");
  if (programme && programme !== state.currency) {
    notice(
      `This till's prices are in ${state.currency} but the loyalty programme uses ${programme}. ` +
        "Sales will be refused until the till's catalogue is priced in the programme's currency.",
    );
  }

  setText("shop-name", catalogue.name || "Loyalty till");
  const pointWorth = state.minorPerPoint > 0 ? state.money.format(Math.round(100 * state.minorPerPoint)) : "";
  setText("till-status", `Signed in \u00b7 prices in ${state.currency}${pointWorth ? ` \u00b7 100 points = ${pointWorth}` : ""}`);
  renderCatalogue();
  show("sign-in-view", false);
  show("open-returns", true);
  show("sign-out", true);
  startSale();
}

// ---------------------------------------------------------------- the sale

function startSale() {
  state.sale = newSale();
  state.member = null;
  state.priced = null;
  state.pricingError = null;
  state.receipt = null;
  state.pendingRefund = null;
  clearTimeout(state.pricingTimer);
  state.pricingSeq += 1;
  $("points-to-spend").value = "0";
  say("member-error", "");
  say("product-error", "");
  say("pay-error", "");
  $("member-id").value = "";
  $("voucher-code").value = "";
  show("receipt-view", false);
  show("till-view", true);
  setLocked(false);
  renderAll();
  $("member-id").focus();
}

// While a payment's outcome is unknown, the sale must not change: the retry has to be the same request.
function setLocked(locked) {
  for (const id of ["member-form", "member-card", "catalogue", "product-form", "basket", "voucher-form", "voucher-list", "points-form"]) {
    $(id).inert = locked;
  }
}

function renderAll() {
  renderMember();
  renderBasket();
  renderPricing();
}

// ---------------------------------------------------------------- member

async function findMember(event) {
  event.preventDefault();
  const input = $("member-id");
  const identifier = input.value.trim();
  say("member-error", "");
  if (!identifier) {
    input.focus();
    return;
  }
  const button = $("member-find");
  button.disabled = true;
  try {
    const member = await state.engine.get(`/v1/users/${encodeURIComponent(identifier)}`);
    const [wallet, offers] = await Promise.all([
      state.engine.get(`/v1/users/${encodeURIComponent(member.id)}/wallet`),
      state.engine.get("/v1/rewards?type=GENERIC_OFFER&limit=100", { userId: member.id }),
    ]);
    state.member = { member, wallet, offers };
    for (const offer of offers) state.offerNames.set(offer.id, offer.name);
    input.value = "";
    renderMember();
    schedulePricing();
    $("product-code").focus();
  } catch (error) {
    if (signInAgainIf(error)) return;
    say("member-error", explain(error));
    input.select();
    input.focus();
  } finally {
    button.disabled = false;
  }
}

async function refreshWallet() {
  if (!state.member) return;
  try {
    state.member.wallet = await state.engine.get(`/v1/users/${encodeURIComponent(state.member.member.id)}/wallet`);
    renderMember();
  } catch {
    // the member card keeps what it showed; the next pricing says whether points still suffice
  }
}

function memberName(member) {
  const profile = member.profile || {};
  return [profile.givenName, profile.familyName].filter(Boolean).join(" ") || "Loyalty member";
}

function clearMember() {
  state.member = null;
  state.sale.pointsToSpend = 0;
  state.sale.pointsInvalid = false;
  $("points-to-spend").value = "0";
  renderMember();
  schedulePricing();
  $("member-id").focus();
}

function describeDiscount(discount) {
  const money = state.money;
  const targets = (discount.productSku || "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((target) => {
      const category = state.catalogue.categories.find((c) => c.id === target);
      if (category) return category.name.toLowerCase();
      const product = state.catalogue.products.find((p) => p.sku === target);
      return product ? product.name : target;
    });
  const on = targets.length ? ` ${targets.join(", ")}` : " the basket";
  if (discount.type === "PERCENTAGE") return `${discount.value}% off${on}`;
  if (discount.type === "ABSOLUTE") return `${money.format(discount.value)} off${on}`;
  if (discount.type === "FIXED") return `${targets.length ? targets.join(", ") : "Items"} for ${money.format(discount.value)}`;
  return "";
}

function voucherStatusText(voucher) {
  if (voucher.status === "EXPIRED") return "expired";
  if (voucher.status === "CREATED") return "not activated yet";
  if (!voucher.code || !voucher.code.value) return "no code to enter";
  return "";
}

function renderMember() {
  const known = state.member;
  show("member-card", Boolean(known));
  show("member-none", !known);
  const pointsInput = $("points-to-spend");
  pointsInput.disabled = !known;
  $("points-max").disabled = !known;
  if (!known) {
    $("points-help").textContent = "Find a member to spend points.";
    return;
  }
  const { member, wallet, offers } = known;
  setText("member-name", memberName(member));
  setText("member-account", member.accountNumber);
  setText("member-balance", points(wallet.points));
  setText("member-pending", points(wallet.pendingPoints));
  let tier = "No tier";
  if (wallet.tier) {
    tier = wallet.tier.attained
      ? wallet.tier.name
      : `None yet (${points(wallet.tier.earnedPoints)} of ${points(wallet.tier.pointsRequirement)} for ${wallet.tier.name})`;
  }
  setText("member-tier", tier);

  const offerList = $("member-offers");
  offerList.replaceChildren(
    ...(offers.length
      ? offers.map((offer) => {
          const terms = offer.discounts.map(describeDiscount).filter(Boolean).join("; ");
          const worthSaying = terms && terms.toLowerCase() !== offer.name.toLowerCase();
          return el("li", {}, el("strong", {}, offer.name), worthSaying ? el("span", { class: "muted" }, ` \u2014 ${terms}`) : null);
        })
      : [el("li", { class: "muted" }, "No offers for this member today.")]),
  );

  const vouchers = $("member-vouchers");
  const usable = wallet.vouchers || [];
  vouchers.replaceChildren(
    ...(usable.length
      ? usable.map((voucher) => {
          const code = voucher.code && voucher.code.value;
          const status = voucherStatusText(voucher);
          const inSale = code && state.sale.voucherCodes.includes(code);
          return el(
            "li",
            { class: "voucher-item" },
            el("span", {}, el("strong", {}, voucher.reward.name), code ? el("span", { class: "code" }, ` ${code}`) : null),
            status
              ? el("span", { class: "muted" }, ` (${status})`)
              : el(
                  "button",
                  {
                    type: "button",
                    class: "small secondary",
                    disabled: inSale,
                    "aria-label": `Use voucher ${voucher.reward.name} (${code})`,
                    onclick: () => addVoucher(code),
                  },
                  inSale ? "In sale" : "Use",
                ),
          );
        })
      : [el("li", { class: "muted" }, "No vouchers.")]),
  );

  const worth = state.minorPerPoint > 0 ? `, worth ${state.money.format(Math.floor(wallet.points * state.minorPerPoint))}` : "";
  $("points-help").textContent = `${points(Math.max(0, wallet.points))} available${worth}.`;
}

// ---------------------------------------------------------------- catalogue and basket

function renderCatalogue() {
  const { categories, products } = state.catalogue;
  const groups = categories.map((category) => {
    const items = products.filter((p) => p.category === category.id);
    const headingId = `category-${category.id}`;
    return el(
      "section",
      { class: "category", "aria-labelledby": headingId },
      el("h3", { id: headingId }, category.name),
      el(
        "div",
        { class: "products" },
        items.map((product) =>
          el(
            "button",
            {
              type: "button",
              class: "product",
              dataset: { sku: product.sku },
              "aria-label": `Add ${product.name}, ${state.money.format(product.price)}`,
              onclick: () => addToBasket(product),
            },
            el("span", { class: "product-name" }, product.name),
            el("span", { class: "product-price" }, state.money.format(product.price)),
          ),
        ),
      ),
    );
  });
  $("catalogue").replaceChildren(...groups);
  $("product-codes").replaceChildren(...products.map((p) => el("option", { value: p.sku }, p.name)));
}

function addToBasket(product) {
  addProduct(state.sale, product);
  say("product-error", "");
  say("pay-error", "");
  renderBasket();
  schedulePricing();
}

function addByCode(event) {
  event.preventDefault();
  const input = $("product-code");
  const typed = input.value.trim();
  if (!typed) return;
  const wanted = typed.toUpperCase();
  const product = state.catalogue.products.find((p) => p.sku.toUpperCase() === wanted || p.name.toUpperCase() === wanted);
  if (!product) {
    say("product-error", `There is no product with the code \u201c${typed}\u201d on this till.`);
    input.select();
    return;
  }
  input.value = "";
  addToBasket(product);
}

function pricedLines() {
  const fresh = currentPricing();
  return fresh ? fresh.lineItems : null;
}

function renderBasket() {
  const { lines } = state.sale;
  const money = state.money;
  setText("sale-number", state.sale.externalId);
  show("basket-empty", lines.length === 0);
  show("basket", lines.length > 0);
  const priced = pricedLines();
  const rows = lines.map((line, index) => {
    const answer = priced && priced[index] && priced[index].sku === line.sku ? priced[index] : null;
    return el(
      "tr",
      { dataset: { sku: line.sku } },
      el("th", { scope: "row" }, line.name, el("span", { class: "sku" }, `${line.sku} \u00b7 ${money.format(line.unitPrice)} each`)),
      el(
        "td",
        { class: "num" },
        el(
          "div",
          { class: "qty" },
          el("button", { type: "button", class: "small secondary", "aria-label": `One less ${line.name}`, onclick: () => changeLine(line.sku, -1) }, "\u2212"),
          el("span", { class: "qty-value", "aria-label": `Quantity of ${line.name}` }, String(line.quantity)),
          el("button", { type: "button", class: "small secondary", "aria-label": `One more ${line.name}`, onclick: () => changeLine(line.sku, 1) }, "+"),
        ),
      ),
      el("td", { class: "num line-discount" }, answer ? (answer.discount ? money.minus(answer.discount) : "\u2013") : "\u2026"),
      el("td", { class: "num line-total" }, answer ? money.format(answer.total) : "\u2026"),
      el(
        "td",
        { class: "remove" },
        el("button", { type: "button", class: "small link", "aria-label": `Remove ${line.name}`, title: "Remove", onclick: () => dropLine(line.sku) }, "\u00d7"),
      ),
    );
  });
  $("basket-lines").replaceChildren(...rows);
  renderVouchers();
}

function changeLine(sku, delta) {
  changeQuantity(state.sale, sku, delta);
  renderBasket();
  schedulePricing();
}

function dropLine(sku) {
  removeLine(state.sale, sku);
  renderBasket();
  schedulePricing();
  $("product-code").focus();
}

// ---------------------------------------------------------------- vouchers and points

function addVoucher(code) {
  const value = String(code || "").trim();
  if (!value) return;
  say("pay-error", "");
  state.sale.refusedVouchers = state.sale.refusedVouchers.filter((r) => r.code !== value);
  if (!state.sale.voucherCodes.includes(value)) state.sale.voucherCodes.push(value);
  renderVouchers();
  renderMember();
  schedulePricing();
}

function submitVoucher(event) {
  event.preventDefault();
  const input = $("voucher-code");
  addVoucher(input.value);
  input.value = "";
  input.focus();
}

function removeVoucher(code) {
  state.sale.voucherCodes = state.sale.voucherCodes.filter((c) => c !== code);
  renderVouchers();
  renderMember();
  schedulePricing();
  $("voucher-code").focus();
}

function dismissRefused(code) {
  state.sale.refusedVouchers = state.sale.refusedVouchers.filter((r) => r.code !== code);
  renderPricing();
  $("voucher-code").focus();
}

function renderVouchers() {
  const priced = currentPricing();
  const items = state.sale.voucherCodes.map((code) => {
    let status = ["checking\u2026"];
    let kind = "pending";
    if (priced) {
      const applied = priced.appliedDiscounts.filter((d) => d.source === "VOUCHER" && d.code === code);
      const rejected = priced.rejected.find((r) => r.code === code);
      if (applied.length) {
        status = ["applied, ", el("span", { class: "num" }, state.money.minus(applied.reduce((sum, d) => sum + d.amount, 0)))];
        kind = "applied";
      } else if (rejected) {
        status = [`not applied: ${describeRejection(rejected.reason)}`];
        kind = "rejected";
      }
    }
    return el(
      "li",
      { class: `chip ${kind}`, dataset: { code } },
      el("span", { class: "code" }, code),
      el("span", { class: "chip-status" }, " ", ...status),
      el("button", { type: "button", class: "small link", "aria-label": `Remove voucher ${code}`, onclick: () => removeVoucher(code) }, "Remove"),
    );
  });
  $("voucher-list").replaceChildren(...items);
}

function readPoints() {
  const input = $("points-to-spend");
  const value = Number(input.value);
  const valid = input.value === "" || (Number.isInteger(value) && value >= 0);
  state.sale.pointsToSpend = valid && input.value !== "" ? value : 0;
  state.sale.pointsInvalid = !valid;
  schedulePricing();
}

function useMaximumPoints() {
  if (!state.member) return;
  const balance = Math.max(0, state.member.wallet.points);
  let maximum = balance;
  const priced = currentPricing() || (state.priced && state.priced.data);
  if (priced && state.minorPerPoint > 0) {
    // What is left to pay before points, in points (the engine spends only whole points that fit).
    const beforePoints = priced.totals.total + priced.pointsValue;
    maximum = Math.min(balance, Math.floor(beforePoints / state.minorPerPoint + 1e-9));
  }
  $("points-to-spend").value = String(maximum);
  readPoints();
}

// ---------------------------------------------------------------- live pricing

function currentBodyText() {
  return JSON.stringify(basketBody(state.sale, state.member && state.member.member, state.currency));
}

// The pricing answer for the basket as it is now, or null while it is being priced (or could not be).
function currentPricing() {
  if (!state.priced || state.sale.lines.length === 0) return null;
  return state.priced.text === currentBodyText() ? state.priced.data : null;
}

function schedulePricing() {
  clearTimeout(state.pricingTimer);
  state.pricingSeq += 1;
  renderPricing();
  state.pricingTimer = setTimeout(() => {
    state.pricingTimer = null;
    state.pricingRun = price();
  }, PRICING_DELAY_MS);
}

async function price() {
  const seq = ++state.pricingSeq;
  if (!state.engine) return;
  if (state.sale.lines.length === 0) {
    state.priced = null;
    state.pricingError = null;
    renderAll();
    return;
  }
  const text = currentBodyText();
  try {
    const data = await state.engine.post("/v1/baskets/price", { bodyText: text });
    if (seq !== state.pricingSeq) return; // the basket changed meanwhile: a newer pricing is on its way
    state.priced = { text, data };
    state.pricingError = null;
    if (setAsideRefusedVouchers(data)) {
      schedulePricing();
      return;
    }
  } catch (error) {
    if (seq !== state.pricingSeq) return;
    if (signInAgainIf(error)) return;
    state.priced = null;
    state.pricingError = error;
  }
  renderBasket();
  renderPricing();
}

// A voucher refused for what it is (unknown, used, expired, someone else's…) is taken out of the sale and shown
// with the reason; sending it again would only count as another failed attempt. Answers whether any was.
function setAsideRefusedVouchers(data) {
  const refused = data.rejected.filter((r) => r.code && !BASKET_REASONS.has(r.reason) && state.sale.voucherCodes.includes(r.code));
  if (!refused.length) return false;
  for (const r of refused) {
    state.sale.voucherCodes = state.sale.voucherCodes.filter((c) => c !== r.code);
    state.sale.refusedVouchers = [...state.sale.refusedVouchers.filter((x) => x.code !== r.code), { code: r.code, reason: r.reason }];
  }
  renderMember();
  return true;
}

function discountLabel(discount) {
  if (discount.source === "POINTS") {
    const spent = discount.points || (currentPricing() || {}).pointsSpent;
    return spent ? `Points (${points(spent)})` : "Points";
  }
  if (discount.source === "VOUCHER") {
    const voucher = state.member && (state.member.wallet.vouchers || []).find((v) => v.code && v.code.value === discount.code);
    return voucher ? `Voucher ${discount.code} (${voucher.reward.name})` : `Voucher ${discount.code}`;
  }
  const name = state.offerNames.get(discount.rewardId);
  return name ? `Offer: ${name}` : "Offer";
}

function paymentBlocker(priced) {
  if (state.sale.lines.length === 0) return "Add products to the basket.";
  if (state.sale.pointsInvalid) return describeError({ code: "INVALID_POINTS" });
  if (state.pricingError) return describeError(state.pricingError);
  if (!priced) return "Updating prices\u2026";
  const waiting = priced.rejected.filter((r) => r.code && state.sale.voucherCodes.includes(r.code));
  if (waiting.length) return "Remove the vouchers that do not apply before taking payment.";
  return "";
}

function renderPricing() {
  const money = state.money;
  const priced = currentPricing();
  const applied = $("applied-discounts");
  const rejected = $("rejected-discounts");
  applied.replaceChildren(
    ...(priced ? priced.appliedDiscounts : []).map((d) =>
      el("li", { class: "discount", dataset: { source: d.source } }, el("span", {}, discountLabel(d)), el("span", { class: "num" }, money.minus(d.amount))),
    ),
  );
  const offerRejections = priced
    ? priced.rejected
        .filter((r) => !r.code)
        .map((r) =>
          el("li", { class: "rejection" }, el("strong", {}, `${state.offerNames.get(r.rewardId) || "An offer"}: `), describeRejection(r.reason)),
        )
    : [];
  const voucherRejections = state.sale.refusedVouchers.map((r) =>
    el(
      "li",
      { class: "rejection", dataset: { code: r.code } },
      el("strong", {}, `Voucher ${r.code}: `),
      el("span", { class: "reason" }, describeRejection(r.reason)),
      " ",
      el("button", { type: "button", class: "small link", "aria-label": `Dismiss the message about voucher ${r.code}`, onclick: () => dismissRefused(r.code) }, "Dismiss"),
    ),
  );
  rejected.replaceChildren(...voucherRejections, ...offerRejections);

  setText("total-subtotal", priced ? money.format(priced.totals.subtotal) : "\u2013");
  setText("total-discount", priced ? money.minus(priced.totals.discount) : "\u2013");
  setText("total-total", priced ? money.format(priced.totals.total) : "\u2013");

  let estimate = "";
  if (priced && state.member) {
    estimate = `The member will earn about ${points(priced.estimatedPointsEarned)} on this sale.`;
    if (priced.pointsSpent < state.sale.pointsToSpend) {
      estimate += ` Only ${points(priced.pointsSpent)} can be spent on this basket.`;
    }
  } else if (priced) {
    estimate = "No member in this sale: no points are earned.";
  }
  setText("points-estimate", estimate);
  let problem = state.pricingError ? explain(state.pricingError) : "";
  if (state.sale.pointsInvalid) problem = describeError({ code: "INVALID_POINTS" });
  say("pricing-error", problem);
  const pending = state.sale.lines.length > 0 && !priced && !state.pricingError;
  setText("pricing-state", pending ? "Updating prices\u2026" : "");
  renderVouchers();
  renderPayButtons(priced);
}

function renderPayButtons(priced = currentPricing()) {
  const card = $("pay-card");
  const cash = $("pay-cash");
  if (state.sale.unsettled) {
    card.textContent = "Retry payment";
    card.disabled = state.paying;
    cash.hidden = true;
    return;
  }
  cash.hidden = false;
  const total = priced ? ` ${state.money.format(priced.totals.total)}` : "";
  card.textContent = `Pay${total} by card`;
  cash.textContent = `Pay${total} in cash`;
  const blocked = state.paying || Boolean(paymentBlocker(priced));
  card.disabled = blocked;
  cash.disabled = blocked;
}

// Waits for the basket as it is now to be priced (a cashier may press Pay right after a change).
async function settledPricing() {
  if (state.sale.lines.length === 0) return null;
  for (let i = 0; i < 20; i += 1) {
    if (state.pricingTimer) {
      clearTimeout(state.pricingTimer);
      state.pricingTimer = null;
      state.pricingRun = price();
    }
    await state.pricingRun;
    const priced = currentPricing();
    if (priced || state.pricingError) return priced;
    if (!state.pricingTimer) state.pricingRun = price();
  }
  return currentPricing();
}

// ---------------------------------------------------------------- payment

async function pay(type) {
  if (state.paying) return; // a second press while the first is under way does nothing
  state.paying = true;
  say("pay-error", "");
  const card = $("pay-card");
  const label = card.textContent;
  try {
    let bodyText;
    if (state.sale.unsettled) {
      bodyText = state.sale.unsettled.bodyText;
    } else {
      const priced = await settledPricing();
      const blocker = paymentBlocker(priced);
      if (blocker) {
        say("pay-error", blocker);
        return;
      }
      const body = checkoutBody(state.sale, state.member && state.member.member, state.currency, type, priced.totals.total);
      bodyText = JSON.stringify(body);
    }
    renderPayButtons();
    card.textContent = "Taking payment\u2026";
    try {
      const receipt = await state.engine.post("/v1/checkouts", { bodyText, idempotencyKey: state.sale.idempotencyKey });
      state.sale.unsettled = null;
      showReceipt(receipt);
    } catch (error) {
      if (signInAgainIf(error)) return;
      if (error.outcomeUnknown) {
        // The sale may or may not have gone through: only the very same request may be sent again.
        state.sale.unsettled = { bodyText };
        setLocked(true);
        say(
          "pay-error",
          `${explain(error)} The till does not know whether the sale went through. Press \u201cRetry payment\u201d: ` +
            "the loyalty service will not take the same sale twice.",
        );
      } else {
        say("pay-error", explain(error));
        if (error.code && error.code.startsWith("VOUCHER") && state.member) refreshWallet();
        schedulePricing();
      }
    }
  } finally {
    state.paying = false;
    if (card.textContent === "Taking payment\u2026") card.textContent = label;
    renderPayButtons();
  }
}

async function cancelSale() {
  const sale = state.sale;
  if (sale.unsettled) {
    const sure = await confirmAction(
      "Cancel this sale?",
      `The last payment attempt may have gone through. If the customer was charged, refund receipt ${sale.externalId} ` +
        "with \u201cRefund or void a sale\u201d.",
      "Cancel the sale",
    );
    if (!sure) return;
  } else if (sale.lines.length || sale.voucherCodes.length || state.member) {
    const sure = await confirmAction("Cancel this sale?", "The basket, the member and the vouchers are cleared.", "Cancel the sale");
    if (!sure) return;
  }
  startSale();
}

// ---------------------------------------------------------------- receipt, refund and void

function showReceipt(receipt) {
  state.receipt = { receipt, memberName: state.member ? memberName(state.member.member) : "", settled: false };
  renderReceipt($("receipt"), receipt, {
    money: state.money,
    shopName: (state.catalogue && state.catalogue.name) || "Loyalty till",
    memberName: state.receipt.memberName,
    discountLabel,
  });
  say("receipt-message", "");
  say("receipt-error", "");
  $("receipt-refund").disabled = false;
  $("receipt-void").disabled = false;
  setLocked(false);
  show("till-view", false);
  show("receipt-view", true);
  $("receipt-new").focus();
}

function refundConfirmation(order) {
  const paid = order.totals.total - (order.refundedValue || 0);
  let text = `Give the customer back ${state.money.format(paid)}.`;
  if (order.user) {
    const earned = order.pointsEarned - (order.pointsReversed || 0);
    text += ` The member loses the ${points(earned)} this sale earned`;
    text += order.pointsSpent ? ` and gets back the ${points(order.pointsSpent)} spent on it.` : ".";
  }
  return text;
}

async function balanceAfter(order) {
  if (!order.user) return null;
  try {
    const wallet = await state.engine.get(`/v1/users/${encodeURIComponent(order.user.id)}/wallet`);
    return wallet.points;
  } catch {
    return null;
  }
}

// A full refund of what remains of the order. The refund's reference is kept until the engine answers, so a retry
// after a lost answer repeats the same refund (the engine replays it) instead of asking for a second one.
async function refundOrder(order) {
  if (!state.pendingRefund || state.pendingRefund.orderId !== order.id) {
    state.pendingRefund = { orderId: order.id, externalId: `${order.externalId}-R${randomId(4)}` };
  }
  const reference = state.pendingRefund.externalId;
  try {
    const refund = await state.engine.post(`/v1/orders/${encodeURIComponent(order.id)}/refunds`, {
      body: { externalId: reference, reason: "Refunded in full at the till" },
      idempotencyKey: `refund-${reference}`,
    });
    state.pendingRefund = null;
    const balance = await balanceAfter(order);
    let text = `Refunded ${state.money.format(refund.value)} to the customer.`;
    if (order.user) {
      text += ` ${points(refund.pointsReversed)} taken back, ${points(refund.pointsReturned)} returned to the member.`;
      if (balance !== null) text += ` New balance: ${points(balance)}.`;
    }
    return text;
  } catch (error) {
    if (!error.outcomeUnknown) state.pendingRefund = null;
    throw error;
  }
}

async function voidOrder(order) {
  const receipt = await state.engine.post(`/v1/checkouts/${encodeURIComponent(order.id)}/void`, {
    idempotencyKey: `void-${order.id}`,
  });
  let text = `Sale ${receipt.externalId} voided: give the customer back ${state.money.format(order.totals.total - (order.refundedValue || 0))}.`;
  if (receipt.balance !== null && receipt.balance !== undefined) text += ` New balance: ${points(receipt.balance)}.`;
  return text;
}

async function refundFromReceipt() {
  const { receipt } = state.receipt;
  const sure = await confirmAction("Refund this sale in full?", refundConfirmation(receipt), "Refund");
  if (!sure) return;
  await receiptAction(() => refundOrder(receipt));
}

async function voidFromReceipt() {
  const { receipt } = state.receipt;
  const sure = await confirmAction(
    "Void this sale?",
    "Use this when the sale was a mistake. " + refundConfirmation(receipt) + " Vouchers used become usable again.",
    "Void",
  );
  if (!sure) return;
  await receiptAction(() => voidOrder(receipt));
}

async function receiptAction(action) {
  say("receipt-error", "");
  $("receipt-refund").disabled = true;
  $("receipt-void").disabled = true;
  try {
    say("receipt-message", await action());
    state.receipt.settled = true;
    $("receipt-new").focus();
  } catch (error) {
    if (signInAgainIf(error)) return;
    say("receipt-error", explain(error));
    $("receipt-refund").disabled = false;
    $("receipt-void").disabled = false;
  }
}

// ---- refund or void a past sale

const returns = { order: null };

const ORDER_STATUS = { PLACED: "Paid", PARTIALLY_REFUNDED: "Partly refunded", REFUNDED: "Refunded in full" };

function openReturns() {
  returns.order = null;
  $("returns-number").value = "";
  show("returns-order", false);
  say("returns-message", "");
  say("returns-error", "");
  $("returns-dialog").showModal();
  $("returns-number").focus();
}

async function findOrder(event) {
  event.preventDefault();
  const number = $("returns-number").value.trim();
  say("returns-message", "");
  say("returns-error", "");
  show("returns-order", false);
  if (!number) return;
  try {
    returns.order = await state.engine.get(`/v1/orders/${encodeURIComponent(number)}`);
    renderReturnsOrder();
    $("returns-refund").disabled ? $("returns-close").focus() : $("returns-refund").focus();
  } catch (error) {
    if (signInAgainIf(error)) return;
    say("returns-error", explain(error));
    $("returns-number").select();
  }
}

function renderReturnsOrder() {
  const order = returns.order;
  const money = state.money;
  const facts = [
    ["Receipt number", order.externalId],
    ["Sold", new Date(order.occurredAt).toLocaleString()],
    ["Member", order.user ? `account ${order.user.accountNumber || ""}` : "No member"],
    ["Paid", money.format(order.totals.total)],
    ["Refunded so far", money.format(order.refundedValue || 0)],
    ["Status", ORDER_STATUS[order.status] || order.status],
  ];
  $("returns-facts").replaceChildren(...facts.map(([k, v]) => el("div", {}, el("dt", {}, k), el("dd", {}, v))));
  const finished = order.status === "REFUNDED";
  $("returns-refund").disabled = finished;
  $("returns-void").disabled = finished;
  show("returns-order", true);
}

async function returnsAction(kind) {
  const order = returns.order;
  if (!order) return;
  const sure =
    kind === "refund"
      ? await confirmAction("Refund this sale in full?", refundConfirmation(order), "Refund")
      : await confirmAction("Void this sale?", `${refundConfirmation(order)} Vouchers used become usable again.`, "Void");
  if (!sure) return;
  say("returns-message", "");
  say("returns-error", "");
  try {
    const text = kind === "refund" ? await refundOrder(order) : await voidOrder(order);
    say("returns-message", text);
    returns.order = await state.engine.get(`/v1/orders/${encodeURIComponent(order.id)}`);
    renderReturnsOrder();
    $("returns-close").focus();
  } catch (error) {
    if (signInAgainIf(error)) return;
    say("returns-error", explain(error));
  }
}

// ---------------------------------------------------------------- confirmation dialog

function confirmAction(title, text, yesLabel) {
  const dialog = $("confirm-dialog");
  setText("confirm-title", title);
  setText("confirm-text", text);
  setText("confirm-yes", yesLabel);
  return new Promise((resolve) => {
    dialog.returnValue = "";
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "yes"), { once: true });
    dialog.showModal();
    $("confirm-no").focus();
  });
}

// ---------------------------------------------------------------- wiring

function clearOnEscape(id) {
  $(id).addEventListener("keydown", (event) => {
    if (event.key === "Escape" && $(id).value) {
      event.preventDefault();
      event.stopPropagation();
      $(id).value = "";
    }
  });
}

function wire() {
  $("sign-in-form").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", () => signOut());
  $("notice-close").addEventListener("click", () => notice(""));
  $("member-form").addEventListener("submit", findMember);
  $("member-clear").addEventListener("click", clearMember);
  $("product-form").addEventListener("submit", addByCode);
  $("voucher-form").addEventListener("submit", submitVoucher);
  $("points-form").addEventListener("submit", (event) => event.preventDefault());
  $("points-to-spend").addEventListener("input", readPoints);
  $("points-max").addEventListener("click", useMaximumPoints);
  $("pay-card").addEventListener("click", () => pay("CARD"));
  $("pay-cash").addEventListener("click", () => pay("CASH"));
  $("sale-cancel").addEventListener("click", cancelSale);
  $("receipt-print").addEventListener("click", () => window.print());
  $("receipt-refund").addEventListener("click", refundFromReceipt);
  $("receipt-void").addEventListener("click", voidFromReceipt);
  $("receipt-new").addEventListener("click", startSale);
  $("open-returns").addEventListener("click", openReturns);
  $("returns-form").addEventListener("submit", findOrder);
  $("returns-refund").addEventListener("click", () => returnsAction("refund"));
  $("returns-void").addEventListener("click", () => returnsAction("void"));
  $("returns-close").addEventListener("click", () => $("returns-dialog").close());
  $("confirm-no").addEventListener("click", () => $("confirm-dialog").close("no"));
  $("confirm-yes").addEventListener("click", () => $("confirm-dialog").close("yes"));
  for (const id of ["member-id", "product-code", "voucher-code", "returns-number"]) clearOnEscape(id);
}

async function boot() {
  wire();
  const credentials = loadCredentials();
  if (!credentials) {
    show("sign-in-view", true);
    $("api-key").focus();
    return;
  }
  try {
    await openTill(new Engine(credentials));
  } catch (error) {
    if (signInAgainIf(error)) return;
    // Keep what was typed, so the cashier can simply try again once the connection is back.
    $("api-key").value = credentials.apiKey;
    $("client-id").value = credentials.clientId;
    $("client-secret").value = credentials.clientSecret;
    show("sign-in-view", true);
    say("sign-in-error", explain(error));
    $("sign-in-button").focus();
  }
}

boot();
