// "/receipts": a voter's receipt, typed or as the JSON file the booth downloaded; shows its
// status and, once sequenced, its inclusion proof verified against the signed tree head.

import { getLanguage, t } from '../../lib/i18n.js';
import { clearErrorSummary, fieldError, showErrorSummary } from '../../ui/error_summary.js';
import { focusElement, h, replaceChildren } from '../../ui/dom.js';
import { formatDateTime, formatNumber, parseReceiptInput } from '../format.js';
import { paths } from '../router.js';
import {
  checkLine, code, dl, inclusionCheck, loading, loadTreeHead, outcomeTag, problemText, settle, time, treeHeadLine,
} from './common.js';

const TEXT_ID = 'receipt';
const FILE_ID = 'receipt-file';

export async function renderReceipts(ctx) {
  const s = ctx.state;
  ctx.setTitle(t('portal.receipts.title'));
  const errorSlot = h('div', { class: 'error-summary-slot' });
  const result = h('div', { class: 'receipt-result', tabindex: '-1' });
  const text = h('input', {
    id: TEXT_ID, name: 'receipt', type: 'text', class: 'input input--mono input--hex', autocomplete: 'off', spellcheck: 'false',
    autocapitalize: 'none', 'aria-describedby': `${TEXT_ID}-hint`, value: s.text ?? ctx.search.get('receipt') ?? '',
  });
  const file = h('input', {
    id: FILE_ID, name: 'receiptFile', type: 'file', class: 'input-file', accept: '.json,application/json',
    'aria-describedby': `${FILE_ID}-hint`,
  });
  const textGroup = h('div', { class: 'field' },
    h('label', { for: TEXT_ID, class: 'label' }, t('portal.receipts.textLabel')),
    h('p', { id: `${TEXT_ID}-hint`, class: 'hint' }, t('portal.receipts.textHint')),
    text);
  const fileGroup = h('div', { class: 'field' },
    h('label', { for: FILE_ID, class: 'label' }, t('portal.receipts.fileLabel')),
    h('p', { id: `${FILE_ID}-hint`, class: 'hint' }, t('portal.receipts.fileHint')),
    file);
  const groups = { [TEXT_ID]: { group: textGroup, input: text }, [FILE_ID]: { group: fileGroup, input: file } };

  function setErrors(list) {
    for (const [id, { group, input }] of Object.entries(groups)) {
      document.getElementById(`${id}-error`)?.remove();
      const err = list.find((e) => e.targetId === id);
      group.classList.toggle('field--error', Boolean(err));
      if (err) {
        input.before(fieldError(`${id}-error`, err.text));
        input.setAttribute('aria-invalid', 'true');
        input.setAttribute('aria-describedby', `${id}-hint ${id}-error`);
      } else {
        input.removeAttribute('aria-invalid');
        input.setAttribute('aria-describedby', `${id}-hint`);
      }
    }
    if (list.length) showErrorSummary(errorSlot, list);
    else clearErrorSummary(errorSlot);
  }

  async function check() {
    s.text = text.value;
    let parsed;
    const chosen = file.files?.[0];
    if (chosen) {
      let content = '';
      try {
        content = chosen.size > 64 * 1024 ? '' : await chosen.text();
      } catch {
        content = '';
      }
      parsed = parseReceiptInput(content);
      if (parsed.error) parsed = { error: 'bad_file' };
    } else {
      parsed = parseReceiptInput(text.value);
    }
    s.checked = null;
    if (parsed.error) {
      replaceChildren(result);
      const target = parsed.error === 'bad_file' ? FILE_ID : TEXT_ID;
      setErrors([{ targetId: target, text: t(`portal.receipts.error.${parsed.error}`) }]);
      return;
    }
    setErrors([]);
    replaceChildren(result, loading(t('portal.receipts.checking')));
    const nodes = await checkReceipt(ctx, parsed);
    if (ctx.signal.aborted) return;
    if (nodes.error) {
      replaceChildren(result);
      setErrors([{ targetId: nodes.field ?? TEXT_ID, text: nodes.error }]);
      return;
    }
    replaceChildren(result, ...nodes.filter(Boolean));
    s.checked = parsed;
    focusElement(result);
  }

  // After a language change: the same result, in the new language.
  async function recheck() {
    const nodes = await checkReceipt(ctx, s.checked);
    if (!ctx.signal.aborted && result.isConnected && !nodes.error) replaceChildren(result, ...nodes.filter(Boolean));
  }

  const form = h(
    'form',
    { class: 'receipt-form', novalidate: true, onsubmit: (ev) => { ev.preventDefault(); check(); } },
    textGroup,
    h('p', { class: 'or' }, t('portal.receipts.or')),
    fileGroup,
    h('button', { type: 'submit', class: 'button' }, t('portal.receipts.button')),
  );
  replaceChildren(
    ctx.main,
    errorSlot,
    h('h1', null, t('portal.receipts.title')),
    h('p', { class: 'lead' }, t('portal.receipts.intro')),
    form,
    result,
  );
  // A link from the booth's receipt file (checkUrl) checks at once.
  if (!s.autoChecked && ctx.search.get('receipt')) {
    s.autoChecked = true;
    await check();
  } else if (s.checked) {
    await recheck();
  }
}

// -> a list of nodes, or {error, field} for a problem to show in the error summary.
async function checkReceipt(ctx, { receipt, electionId: fromFile }) {
  const lang = getLanguage();
  const got = await settle(ctx.api.receipt(receipt));
  if (got.error) {
    if (got.error.status === 404) return { error: t('portal.receipts.error.unknown'), field: fromFile ? FILE_ID : TEXT_ID };
    if (got.error.status === 400) return { error: t('portal.receipts.error.not_hex'), field: TEXT_ID };
    return { error: problemText(got.error), field: fromFile ? FILE_ID : TEXT_ID };
  }
  const status = got.value;
  const electionId = status.electionId ?? fromFile ?? null;
  const heading = h('h2', null, t('portal.receipts.resultTitle'));
  const facts = [
    [t('portal.receipts.receipt'), code(receipt)],
    // The plain word, then the API's own term (pending / sequenced) for those who compare.
    [t('portal.field.status'), [statusWord(status.status), ' ', code(String(status.status), 'api-term')]],
  ];
  const mismatch = fromFile && status.electionId && fromFile !== status.electionId;
  if (status.status !== 'sequenced') {
    // dueBy: an upper bound to the minute; null: at the close (docs/api/openapi.yaml).
    const due = status.dueBy ? t('portal.receipts.dueBy', { time: formatDateTime(status.dueBy, lang) }) : t('portal.receipts.dueAtClose');
    return [heading, dl(facts), h('p', null, t('portal.receipts.pending'), ' ', due), mismatchNote(mismatch)];
  }
  facts.push([t('portal.receipts.leaf'), formatNumber(status.leafIndex, lang)]);
  if (!electionId) {
    return [heading, dl(facts), h('p', null, t('portal.receipts.noElection'))];
  }
  const [election, head] = await Promise.all([settle(ctx.api.publicElection(electionId)), settle(loadTreeHead(ctx.api, electionId))]);
  if (election.value) {
    facts.unshift([t('portal.receipts.election'), h('a', { href: paths.election(electionId) }, election.value.title)]);
  }
  if (head.error) return [heading, dl(facts), h('p', { class: 'portal-problem' }, problemText(head.error))];
  const { sth, verdict } = head.value;
  const proof = await settle(ctx.api.inclusionProof(electionId, receipt, sth.treeSize));
  const lines = [treeHeadLine(head.value)];
  let included = false;
  if (proof.error) {
    lines.push(checkLine('fail', t('portal.receipts.noProof', { reason: problemText(proof.error) })));
  } else {
    const checked = inclusionCheck(receipt, proof.value, sth);
    included = checked.included;
    lines.push(checked.line);
  }
  facts.push(
    [t('portal.treeHead.size'), t('portal.treeHead.sizeValue', { count: sth.treeSize, size: formatNumber(sth.treeSize, lang) })],
    [t('portal.treeHead.root'), code(sth.rootHash)],
    [t('portal.treeHead.time'), time(sth.timestamp)],
  );
  const ok = verdict.ok && included;
  return [
    heading,
    h('p', { class: ['verdict', ok ? 'verdict--pass' : 'verdict--fail'] },
      outcomeTag(ok ? 'pass' : 'fail'), ' ',
      t(ok ? 'portal.receipts.summaryOk' : 'portal.receipts.summaryFail')),
    h('ul', { class: 'checks' }, lines),
    dl(facts),
    mismatchNote(mismatch),
    h('p', null, h('a', { href: paths.verify(electionId, receipt) }, t('portal.link.verifyWithReceipt'))),
  ];
}

function statusWord(status) {
  const s = status === 'sequenced' ? 'sequenced' : 'pending';
  return h('strong', { class: ['tag', 'status-tag', `status-tag--${s}`] }, t(`portal.receipts.status.${s}`));
}

function mismatchNote(mismatch) {
  return mismatch ? h('p', { class: 'portal-problem' }, t('portal.receipts.mismatch')) : null;
}
