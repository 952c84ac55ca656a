// The same formatting rules as `sessionstats show` (render.py), computed from exact values: a cost arrives as
// an exact decimal string and is rounded here in decimal arithmetic, never through a JavaScript number.
"use strict";

const EMPTY = "-";

function group(digits) {  // "1234567" -> "1,234,567"
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

// Round a plain decimal string to `places`: "half-up" (away from zero on a tie, as Decimal's ROUND_HALF_UP)
// or "half-even" (as Python's format() rounds a float's exact binary value). Returns [negative, int, frac].
function roundDecimal(text, places, mode) {
  let negative = text.startsWith("-");
  const body = text.replace(/^[-+]/, "");
  const [whole, frac = ""] = body.split(".");
  const padded = frac.padEnd(places + 1, "0");
  let scaled = BigInt((whole || "0") + padded.slice(0, places));
  const next = padded.charCodeAt(places) - 48;
  const rest = /[1-9]/.test(padded.slice(places + 1));
  const up = next > 5 || (next === 5 && (rest || mode === "half-up" || scaled % 2n === 1n));
  if (up) scaled += 1n;
  if (scaled === 0n) negative = false;
  const digits = scaled.toString().padStart(places + 1, "0");
  return [negative, digits.slice(0, digits.length - places), places ? digits.slice(-places) : ""];
}

function fmtTokens(n) {  // 1234567 -> "1,234,567"
  if (n === null || n === undefined) return EMPTY;
  const text = typeof n === "bigint" ? n.toString() : String(Math.trunc(n));
  return text.startsWith("-") ? "-" + group(text.slice(1)) : group(text);
}

function fmtCost(exact) {  // "0.00125" -> "$0.0013": four places, half-up, never "-$0.0000"
  if (exact === null || exact === undefined) return EMPTY;
  const [negative, whole, frac] = roundDecimal(String(exact), 4, "half-up");
  return (negative ? "-" : "") + "$" + group(whole) + "." + frac;
}

function fmtKnownCost(exact, unpriced, calls, compact = false) {  // as fmt_known_cost: never a made-up "$0.0000"
  if (!unpriced) return fmtCost(exact);
  if (unpriced >= calls) return "unknown";
  if (compact) return fmtCost(exact) + "*";
  return `${fmtCost(exact)} + ${fmtTokens(unpriced)} unpriced call${unpriced !== 1 ? "s" : ""}`;
}

function fmtNumber(value, places) {  // 1234.56 -> "1,234.6"; "-" for a figure that divides by zero
  if (value === null || value === undefined || !Number.isFinite(value)) return EMPTY;
  const exact = Math.abs(value) < 1e21 ? value.toFixed(100) : String(value);  // the double's exact digits
  const [negative, whole, frac] = roundDecimal(exact, places, "half-even");
  return (negative ? "-" : "") + group(whole) + (places ? "." + frac : "");
}

function fmtDuration(seconds) {  // 3725 -> "01:02:05"; days roll into the hours
  if (seconds === null || seconds === undefined) return EMPTY;
  const whole = Math.trunc(seconds);
  const pad = (n) => String(n).padStart(2, "0");
  return `${pad(Math.floor(whole / 3600))}:${pad(Math.floor((whole % 3600) / 60))}:${pad(whole % 60)}`;
}

function fmtTime(iso) {  // "2026-01-02 03:04:05 +0100" in the browser's zone, as fmt_time
  if (!iso) return EMPTY;
  const when = new Date(iso);
  const pad = (n) => String(n).padStart(2, "0");
  const offset = -when.getTimezoneOffset();
  const sign = offset < 0 ? "-" : "+";
  const zone = sign + pad(Math.floor(Math.abs(offset) / 60)) + pad(Math.abs(offset) % 60);
  return `${when.getFullYear()}-${pad(when.getMonth() + 1)}-${pad(when.getDate())} ` +
    `${pad(when.getHours())}:${pad(when.getMinutes())}:${pad(when.getSeconds())} ${zone}`;
}

function decimalDifference(newer, older) {  // exact "b - a" of two decimal strings, as a decimal string
  const scale = Math.max(...[newer, older].map((t) => (String(t).split(".")[1] || "").length));
  const scaled = (t) => {
    const [whole, frac = ""] = String(t).replace("-", "").split(".");
    const value = BigInt(whole + frac.padEnd(scale, "0"));
    return String(t).startsWith("-") ? -value : value;
  };
  const difference = scaled(newer) - scaled(older);
  const digits = (difference < 0n ? -difference : difference).toString().padStart(scale + 1, "0");
  const text = scale ? `${digits.slice(0, -scale)}.${digits.slice(-scale)}` : digits;
  return (difference < 0n ? "-" : "") + text;
}

// How a figure changed, as `show --watch` says it (cli/watch.py _delta): "+1,550", "+$0.0089", "-0.5".
// `kind` is the figure's type there (JSON cannot tell the float 0.0 from the count 0): cost, count or number.
function fmtDelta(older, newer, kind) {
  if (kind === "cost" && typeof older === "string" && typeof newer === "string") {
    const difference = decimalDifference(newer, older);
    return (difference.startsWith("-") ? "-" : "+") + fmtCost(difference.replace("-", ""));
  }
  if (kind === "count" && Number.isInteger(older) && Number.isInteger(newer)) {
    return (newer >= older ? "+" : "-") + fmtTokens(Math.abs(newer - older));
  }
  if (kind === "number" && typeof older === "number" && typeof newer === "number") {
    return (newer > older ? "+" : "-") + fmtNumber(Math.abs(newer - older), 1);
  }
  return "changed";
}
