/**
 * Headers for every HTML page the cabinet serves. The pages are single files with inline script and style
 * and no external resources; `frame-ancestors 'none'` (and the older X-Frame-Options) keep another site from
 * framing a page to trick a clerk into clicks.
 */
export const pageHeaders = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'self'; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
} as const;
