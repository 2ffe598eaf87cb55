// RFC 8785 JSON Canonicalization Scheme, the form in which ballots' leaves, audit events
// and tree heads are hashed and signed (src/crypto/jcs.cpp is the server's).

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

// §3.2.2.2: JSON.stringify (ES2019 and later) escapes exactly as RFC 8785 asks: '"', '\',
// \b \t \n \f \r, other controls as \u00xx in lowercase, all else literal. It writes a lone
// surrogate as \udxxx, which has no UTF-8 form: §3.2.2.2 and I-JSON make it an error.
function serializeString(s) {
  if (LONE_SURROGATE.test(s)) throw new TypeError('JCS: a string holds a lone surrogate');
  return JSON.stringify(s);
}

// §3.2.2.3: numbers as ECMAScript's Number.prototype.toString writes them, which is
// JSON.stringify's; -0 becomes "0". NaN and Infinity are errors.
function serializeNumber(n) {
  if (!Number.isFinite(n)) throw new TypeError('JCS: NaN and Infinity have no JSON form');
  return JSON.stringify(n);
}

/** The RFC 8785 canonical text of a JSON value (plain objects, arrays, strings, finite
 *  numbers, booleans, null). Anything else throws TypeError. */
export function canonicalize(value) {
  if (value === null || value === true || value === false) return String(value);
  switch (typeof value) {
    case 'string':
      return serializeString(value);
    case 'number':
      return serializeNumber(value);
    case 'object':
      break;
    default:
      throw new TypeError(`JCS: a ${typeof value} has no JSON form`);
  }
  if (Array.isArray(value)) return '[' + value.map(canonicalize).join(',') + ']';
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    throw new TypeError('JCS: only plain objects and arrays');
  }
  // §3.2.3: members sorted by their names' UTF-16 code units, which is what the default
  // Array.prototype.sort compares.
  const names = Object.keys(value).sort();
  return (
    '{' + names.map((name) => serializeString(name) + ':' + canonicalize(value[name])).join(',') + '}'
  );
}
