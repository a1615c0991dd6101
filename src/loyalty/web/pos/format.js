// Money in minor units (pence) and points, written for people.

export class Money {
  constructor(currency, locale = undefined) {
    this.currency = currency;
    this.formatter = new Intl.NumberFormat(locale, { style: "currency", currency });
    this.digits = this.formatter.resolvedOptions().maximumFractionDigits;
  }

  // 630 → "£6.30"
  format(minor) {
    return this.formatter.format(Number(minor) / 10 ** this.digits);
  }

  // 70 → "−£0.70" (a discount)
  minus(minor) {
    return Number(minor) === 0 ? this.format(0) : `\u2212${this.format(minor)}`;
  }

  // What one point is worth in minor units, from the programme's pointsCurrencyValue (major units, a decimal string).
  minorPerPoint(pointsCurrencyValue) {
    const value = Number(pointsCurrencyValue);
    return Number.isFinite(value) && value > 0 ? value * 10 ** this.digits : 0;
  }
}

const count = new Intl.NumberFormat(undefined, { maximumFractionDigits: 3 });

export function number(n) {
  return count.format(Number(n));
}

// 1 → "1 point", 806 → "806 points"
export function points(n) {
  return `${count.format(Number(n))} ${Math.abs(Number(n)) === 1 ? "point" : "points"}`;
}

export function dateTime(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  return new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" }).format(date);
}
