// Plain-language text for an API problem (lib/api.js ApiError) or any error.

import { has, t } from '../lib/i18n.js';

export function problemMessage(err) {
  const code = err?.code;
  if (code === 'too_many_requests') return t('problem.too_many_requests', { seconds: err.retryAfter ?? 1 });
  if (code && has(`problem.${code}`)) return t(`problem.${code}`);
  if (err?.status === 0) return t('problem.network_error');
  return t('problem.unknown', { status: err?.status ?? '?' });
}
