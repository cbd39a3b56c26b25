// What the API description says of each endpoint in words: its summary, what a success answers, and the
// cabinet's own refusals. Everything else (paths, parameters, bodies, roles, validation and sign-in errors) is
// read from the routes themselves. A route without an entry here fails test/integration/openapi.test.ts.

export interface OperationNote {
  readonly summary: string;
  readonly description?: string;
  /** The success status; 200 unless said. */
  readonly status?: 200 | 201 | 202;
  /** What a success answers. */
  readonly answer: string;
  /** The answer is a Server-Sent Events stream, not JSON. */
  readonly stream?: true;
  /** A database that cannot be written is answered in the body, not with 503 (the kiosk sends the applicant to the window). */
  readonly storageFailureInAnswer?: true;
  /** The cabinet's refusals by status, each with its stable `code`s. */
  readonly refusals?: Partial<Record<400 | 401 | 403 | 404 | 409 | 429 | 503, string>>;
}

const caseView = 'the case: `caseNo`, `state` (`awaiting-items`, `ready`, `picking-up`, `collected`, `overdue`, `retrieved`), `enterprise`, `applicant` (masked), `items` with their compartment, `compartments`, `createdAt`, `readyAt`, `expiresAt`, `closedAt`; never the pickup code';
const compartmentView = 'the compartment: `{"id","size","state","caseNo","door","note","hold"}`';
const unknownCompartment = '`unknown-compartment`';

/** Keyed by `METHOD /path` as fastify registers the route. */
export const operationNotes: Readonly<Record<string, OperationNote>> = {
  'GET /api/v1/health': {
    summary: 'How the cabinet is',
    answer: '`{"status":"ok"|"degraded","hardware":"ok"|"lost","mqtt":"connected"|"offline"|"disabled","outbox","alarms","storage":"ok"|"failing","idReader":"ok"|"lost"|"absent"}`',
  },
  'GET /api/v1/me': {
    summary: 'Who the bearer (or the signed-in person) is',
    answer: '`{"name","role","may":{"loadAndCreate","acknowledgeAlarms","openRemotely"}}`',
  },
  'POST /api/v1/session': {
    summary: 'Sign in with a name and a password',
    description: 'Sets the session cookie (`govlocker_session`: HttpOnly, SameSite=Strict, Path=/, Secure over HTTPS, no Max-Age), which then works wherever a bearer token does. Wrong passwords in a row lock the name (`staff.lockoutAfterFailures`, for `staff.lockoutMinutes`; kept across restarts; unknown names lock alike), and wrong tokens and passwords from one address count together (20 a minute). Audited (`staff.signed_in`, `staff.signin_failed`, `staff.locked_out`), never the password.',
    answer: '`{"name","role","may":{"loadAndCreate","acknowledgeAlarms","openRemotely"},"mustChangePassword","idleMinutes","endsAt"}`; with `mustChangePassword` only `POST /session/password` is open until the person sets their own',
    refusals: {
      401: 'the name or the password is wrong: the same answer for an unknown name, a machine\'s name and a wrong password',
      429: '`signin-locked`: too many wrong passwords for this name (`retry-after`, even with the right password); or too many wrong tokens or passwords from this address',
    },
  },
  'DELETE /api/v1/session': {
    summary: 'Sign out',
    answer: '`{"signedOut":true}`, or `false` when the cookie named no live session; the cookie is removed either way. Audited (`staff.signed_out`)',
  },
  'POST /api/v1/session/password': {
    summary: 'Set a new password (the signed-in person\'s own)',
    description: 'Checked against the password policy (at least 10 characters, not a well-known password, not the name). A wrong `current` counts towards the lock like a wrong sign-in. The person\'s other sessions end; this one stays and is no longer limited to this endpoint. Audited (`staff.password_changed`).',
    answer: '`{"name","role","may","mustChangePassword":false,"idleMinutes","endsAt"}`',
    refusals: {
      400: '`wrong-password` (`current` is not the current password), `weak-password` (`next` fails the policy: the message says how to fix it)',
      429: '`signin-locked`: too many wrong passwords; the person is signed out (`retry-after`)',
    },
  },
  'GET /api/v1/compartments': {
    summary: 'Every compartment',
    answer: '`[{"id","size","state","caseNo","door","note","hold"}]`; `state` is `empty`, `reserved`, `loaded`, `open`, `fault` or `disabled`; `hold` is null or `{"kind":"item-left"|"unexpected-item","caseNo","since","alarmId"}`',
  },
  'POST /api/v1/cases': {
    summary: 'Create a case',
    description: 'USCC (GB 32100-2015), ID number (GB 11643-1999) and mobile number are checked; barcodes are unique among items not yet collected. Case numbers are stored upper-case.',
    status: 201,
    answer: caseView,
    refusals: { 409: '`duplicate-case`, `barcode-in-use`' },
  },
  'GET /api/v1/cases': {
    summary: 'List cases, by state',
    answer: `a list; each item is ${caseView}`,
  },
  'GET /api/v1/cases/:caseNo': {
    summary: 'One case',
    answer: caseView,
    refusals: { 404: '`unknown-case`' },
  },
  'POST /api/v1/cases/:caseNo/notify': {
    summary: 'Issue a new pickup credential and deliver it again',
    description: 'The old credential stops working. The answer is the only place the code and QR are shown.',
    answer: '`{"code","qr","expiresAt"}`',
    refusals: { 404: '`unknown-case`', 409: '`case-not-ready`' },
  },
  'POST /api/v1/cases/:caseNo/retrieve': {
    summary: "Open a case's compartments so a clerk takes the items back",
    status: 202,
    answer: '`{"caseNo","compartments"}`: the doors being opened',
    refusals: { 404: '`unknown-case`', 409: '`case-not-retrievable`, `pickup-in-progress`, `door-busy`', 503: '`hardware-unavailable`' },
  },
  'POST /api/v1/loads': {
    summary: 'Load an item by its barcode',
    description: "The item's compartment is chosen and its door opens for the clerk; the item is in when the door closes again.",
    status: 202,
    answer: '`{"loadId","caseNo","itemId","compartment"}`',
    refusals: { 404: '`unknown-barcode`', 409: '`already-loaded`, `cabinet-full`, `case-not-loading`', 503: '`hardware-unavailable`' },
  },
  'GET /api/v1/loads/:loadId': {
    summary: 'How a load went',
    answer: '`{"loadId","state":"open"|"committed"|"aborted","caseNo","compartment","reason"}`; `reason` of an aborted load: `item-not-detected`, `jammed`, `hardware-unavailable`, `interrupted`',
    refusals: { 404: '`unknown-load`' },
  },
  'POST /api/v1/compartments/:id/open': {
    summary: 'Open one compartment remotely (audited)',
    description: 'At most `policy.remoteOpensPerMinute`; the next is refused and raises an alarm.',
    status: 202,
    answer: '`{"compartment","openId"}`',
    refusals: { 404: unknownCompartment, 409: '`door-busy`, `remote-open-cap`', 503: '`hardware-unavailable`' },
  },
  'POST /api/v1/compartments/:id/disable': {
    summary: 'Take a compartment out of service',
    answer: compartmentView,
    refusals: { 404: unknownCompartment },
  },
  'POST /api/v1/compartments/:id/enable': {
    summary: 'Put a compartment back into service',
    description: "Also clears a fault and ends a clerk's hold; the item sensor is read afresh right after.",
    answer: compartmentView,
    refusals: { 404: unknownCompartment },
  },
  'POST /api/v1/compartments/:id/clear': {
    summary: 'A held compartment has been emptied by a clerk',
    description: 'For a compartment held because of its item sensor (`item-left`, `unexpected-item`). Audited; the alarm stays until ops acknowledge it.',
    answer: compartmentView,
    refusals: { 404: unknownCompartment, 409: '`item-still-seen`, `nothing-to-clear`' },
  },
  'GET /api/v1/alarms': {
    summary: 'Open alarms, oldest first',
    answer: '`[{"id","kind","compartment","raisedAt","acknowledgedAt","acknowledgedBy","data"}]`',
  },
  'POST /api/v1/alarms/:id/ack': {
    summary: 'Acknowledge one alarm (audited)',
    answer: 'the acknowledged alarm: `{"id","kind","compartment","raisedAt","acknowledgedAt","acknowledgedBy","data"}`',
    refusals: { 404: '`unknown-alarm`', 409: '`already-acknowledged`' },
  },
  'GET /api/v1/pickup-guard': {
    summary: 'The cabinet-wide pickup attempt guard',
    answer: '`{"lockedUntil","suspended","consecutiveFailures","failuresToday"}`',
  },
  'POST /api/v1/pickup-guard/resume': {
    summary: 'Resume code entry after the daily ceiling',
    answer: 'the guard: `{"lockedUntil","suspended","consecutiveFailures","failuresToday"}`',
  },
  'GET /api/v1/audit': {
    summary: 'Audit entries after a seq',
    answer: '`[{"seq","ts","actor","action","data","prev","hash"}]`',
  },
  'GET /api/v1/audit/verify': {
    summary: 'Check the audit hash chain',
    answer: '`{"ok":true,"entries","head"}`, or `{"ok":false,"entries","brokenAt","problem"}`',
  },
  'GET /api/v1/events': {
    summary: 'Every event, live (Server-Sent Events)',
    description: 'The same events as MQTT `…/events`; each frame\'s id is the event\'s `seq`, and `Last-Event-ID` (or `?after=SEQ`) replays what was missed from the outbox first. At most 8 streams per client address.',
    answer: 'an event stream: frames named by event type, each `{"seq","bootId","id","ts","type","data"}`',
    stream: true,
    refusals: { 429: 'too many event streams open (8 per client address, 200 in all)' },
  },
  'POST /api/v1/kiosk/pickup': {
    summary: 'Collect a case with its pickup code or QR and the second factor',
    description: 'The 8-digit code always needs `idSuffix` (or `idCardReadId`); the QR needs it when the case holds a seal or tax device. Failed attempts count for the whole cabinet.',
    answer: '`{"result":"opened","compartments","caseNo","items"}`, `{"result":"need-id","scanId"?}` or `{"result":"denied","reason","attemptsLeft"?,"retryAfterSeconds"?,"window"?,"cause"?}`; `reason` is `invalid`, `locked-out`, `suspended`, `expired`, `out-of-service` (`cause: "storage-failing"` while the database cannot be written), `in-progress` or `unrecognised`',
    storageFailureInAnswer: true,
    refusals: { 429: 'too many tries at once (`retry-after`)' },
  },
  'POST /api/v1/kiosk/rating': {
    summary: 'Rate a pickup (好差评, 1–5)',
    status: 201,
    answer: '`{"caseNo","level","levelName","seq"}`',
    refusals: { 409: '`already-rated`, `not-rateable`', 429: 'too many ratings at once (`retry-after`)' },
  },
  'GET /api/v1/kiosk/layout': {
    summary: "The cabinet's grid for the kiosk map",
    answer: '`{"cabinetId","columns","rows","compartments":[{"id","size","column","row"}],"itemNames"}`; nothing about contents',
  },
  'GET /api/v1/kiosk/events': {
    summary: 'The kiosk screen\'s live prompts (Server-Sent Events)',
    description: 'Scans (masked), `need-id`, ID cards read (`id-card`, masked) and the reader coming or going, doors opening, refusals; nothing personal.',
    answer: 'an event stream, starting with `hello` `{"cabinetId","helpWindow","idReader"}`',
    stream: true,
    refusals: { 429: 'too many event streams open (8 per client address, 200 in all)' },
  },
};
