import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalize } from '../../src/lib/jcs.js';

const fromBits = (hex) => new DataView(Uint8Array.from(hex.match(/../g), (h) => parseInt(h, 16)).buffer).getFloat64(0);

// RFC 8785 Appendix B: IEEE 754 bit patterns and the text each must produce.
test('RFC 8785 Appendix B numbers', () => {
  const rows = [
    ['0000000000000000', '0'], ['8000000000000000', '0'], ['0000000000000001', '5e-324'],
    ['8000000000000001', '-5e-324'], ['7fefffffffffffff', '1.7976931348623157e+308'],
    ['ffefffffffffffff', '-1.7976931348623157e+308'], ['4340000000000000', '9007199254740992'],
    ['c340000000000000', '-9007199254740992'], ['4430000000000000', '295147905179352830000'],
    ['44b52d02c7e14af5', '9.999999999999997e+22'], ['44b52d02c7e14af6', '1e+23'],
    ['44b52d02c7e14af7', '1.0000000000000001e+23'], ['444b1ae4d6e2ef4e', '999999999999999700000'],
    ['444b1ae4d6e2ef4f', '999999999999999900000'], ['444b1ae4d6e2ef50', '1e+21'],
    ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'], ['3eb0c6f7a0b5ed8d', '0.000001'],
    ['41b3de4355555553', '333333333.3333332'], ['41b3de4355555554', '333333333.33333325'],
    ['41b3de4355555555', '333333333.3333333'], ['41b3de4355555556', '333333333.3333334'],
    ['41b3de4355555557', '333333333.33333343'], ['becbf647612f3696', '-0.0000033333333333333333'],
    ['43143ff3c1cb0959', '1424953923781206.2'],
  ];
  for (const [bits, text] of rows) assert.equal(canonicalize(fromBits(bits)), text, bits);
});

test('RFC 8785 Appendix B: NaN and Infinity are errors', () => {
  for (const bad of [NaN, Infinity, -Infinity, [1, NaN], { a: Infinity }]) {
    assert.throws(() => canonicalize(bad), TypeError);
  }
});

// RFC 8785 §3.2.2: the sample input and its canonical form.
test('RFC 8785 §3.2.2 example', () => {
  const input = JSON.parse(`{
    "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
    "string": "\\u20ac$\\u000F\\u000aA'\\u0042\\u0022\\u005c\\\\\\"\\/",
    "literals": [null, true, false]
  }`);
  assert.equal(canonicalize(input),
    '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],' +
    '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}');
});

// RFC 8785 §3.2.3: members sorted by UTF-16 code units.
test('RFC 8785 §3.2.3 sorting example', () => {
  const input = {
    '\u20ac': 'Euro Sign', '\r': 'Carriage Return', '\ufb33': 'Hebrew Letter Dalet With Dagesh',
    1: 'One', '\u{1F600}': 'Emoji: Grinning Face', '\u0080': 'Control',
    '\u00f6': 'Latin Small Letter O With Diaeresis',
  };
  assert.equal(canonicalize(input),
    '{"\\r":"Carriage Return","1":"One","\u0080":"Control",' +
    '"ö":"Latin Small Letter O With Diaeresis","€":"Euro Sign",' +
    '"\u{1F600}":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}');
});

test('string escaping: only quote, backslash and controls', () => {
  assert.equal(canonicalize('\u0000\u0001\u001f'), '"\\u0000\\u0001\\u001f"');
  assert.equal(canonicalize('\b\t\n\f\r'), '"\\b\\t\\n\\f\\r"');
  assert.equal(canonicalize('"\\'), '"\\"\\\\"');
  assert.equal(canonicalize('\u007f/\u2028\uffff'), '"\u007f/\u2028\uffff"');
});

test('lone surrogates have no UTF-8 form and are refused', () => {
  for (const bad of ['\ud800', 'a\udc00', '\ude00\ud83d', { '\ud800': 1 }]) {
    assert.throws(() => canonicalize(bad), TypeError);
  }
  assert.equal(canonicalize('\ud83d\ude00'), '"\u{1F600}"');
});

test('nesting, literals, empty containers (as tests/unit/jcs_test.cpp)', () => {
  const input = JSON.parse(`{"z": [3, {"b": [], "a": {}}, "x", null],
    "a": {"d": true, "c": false, "e": [[1.5], [0.25, -2]]}, "": "empty key"}`);
  assert.equal(canonicalize(input),
    '{"":"empty key","a":{"c":false,"d":true,"e":[[1.5],[0.25,-2]]},"z":[3,{"a":{},"b":[]},"x",null]}');
  assert.equal(canonicalize({}), '{}');
  assert.equal(canonicalize([]), '[]');
  assert.equal(canonicalize(null), 'null');
  assert.equal(canonicalize(-0), '0');
  assert.equal(canonicalize(1e21), '1e+21');
  assert.equal(canonicalize(1e-7), '1e-7');
});

test('values JSON has no form for are refused, not skipped', () => {
  for (const bad of [undefined, { a: undefined }, [undefined], 1n, () => 1, new Date(0), new Map(), Symbol('s')]) {
    assert.throws(() => canonicalize(bad), TypeError);
  }
});
