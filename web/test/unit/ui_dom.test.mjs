// ui/dom.js: URLs put in href/src by h() never run code.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { safeUrl } from '../../src/ui/dom.js';

test('safeUrl keeps ordinary links', () => {
  for (const url of ['/receipts?receipt=ab', '#main', 'https://vote.example.org/x', 'http://127.0.0.1:8080/', 'blob:https://a/b', 'mailto:a@b', 'elections/1', '?q=1']) {
    assert.equal(safeUrl(url), url);
  }
});

test('safeUrl refuses script and data URLs, however disguised', () => {
  for (const url of ['javascript:alert(1)', 'JavaScript:alert(1)', ' javascript:alert(1)', 'java\tscript:alert(1)', 'java\nscript:x', '\u0001javascript:x', 'data:text/html,<script>', 'vbscript:x']) {
    assert.throws(() => safeUrl(url), TypeError, url);
  }
});
