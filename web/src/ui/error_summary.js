// Error summary in the GOV.UK Design System style: a box at the top of the
// page, titled "There is a problem", with one link per error that moves focus
// to the field; focus moves to the box when it appears. Fields also get an
// inline message (fieldError) tied to them with aria-describedby.

import { t } from '../lib/i18n.js';
import { clear, focusElement, h } from './dom.js';

function focusTarget(id) {
  const target = document.getElementById(id);
  if (!target) return;
  // A fieldset: focus its first control, show its legend.
  const control = target.matches('input, select, textarea, button')
    ? target
    : target.querySelector('input, select, textarea, button');
  const legend = target.tagName === 'FIELDSET' ? target.querySelector('legend') : null;
  (legend ?? control ?? target).scrollIntoView({ block: 'start' });
  focusElement(control ?? target, { scroll: false });
}

/**
 * Builds the summary. errors: [{targetId, text}]; a targetId of null gives a
 * plain item without a link.
 */
export function errorSummary(errors, { title = t('error.summaryTitle') } = {}) {
  const titleId = 'error-summary-title';
  return h(
    'div',
    { class: 'error-summary', tabindex: '-1', 'aria-labelledby': titleId, role: 'alert' },
    h('h2', { class: 'error-summary__title', id: titleId }, title),
    h(
      'ul',
      { class: 'error-summary__list' },
      errors.map((e) =>
        h(
          'li',
          null,
          e.targetId
            ? h(
                'a',
                {
                  href: `#${e.targetId}`,
                  onclick: (ev) => {
                    ev.preventDefault(); // no fragment in the address bar or history
                    focusTarget(e.targetId);
                  },
                },
                e.text,
              )
            : e.text,
        ),
      ),
    ),
  );
}

/**
 * Shows the summary in container (emptied first) and moves focus to it.
 * Also prefixes document.title with "Error: " until clearErrorSummary.
 */
export function showErrorSummary(container, errors, options) {
  clear(container);
  const box = errorSummary(errors, options);
  container.appendChild(box);
  const prefix = t('error.titlePrefix');
  if (!document.title.startsWith(prefix)) document.title = `${prefix} ${document.title}`;
  focusElement(box);
  return box;
}

export function clearErrorSummary(container) {
  if (container) clear(container);
  const prefix = t('error.titlePrefix');
  if (document.title.startsWith(prefix)) document.title = document.title.slice(prefix.length).trimStart();
}

/** The inline message under a field or legend: <p class="error-message">. */
export function fieldError(id, text) {
  return h('p', { id, class: 'error-message' }, h('span', { class: 'visually-hidden' }, t('error.inlinePrefix') + ' '), text);
}
