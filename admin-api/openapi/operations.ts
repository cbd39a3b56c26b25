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
  /** The answer is a file of this type, not JSON. */
  readonly media?: 'image/jpeg';
  /** A database that cannot be written is answered in the body, not with 503 (the kiosk sends the applicant to the window). */
  readonly storageFailureInAnswer?: true;
  /** The cabinet's refusals by status, each with its stable `code`s. */
  readonly refusals?: Partial<Record<400 | 401 | 403 | 404 | 409 | 429 | 503, string>>;
}

const caseView = 'the case: `caseNo`, `state` (`awaiting-items`, `ready`, `picking-up`, `collected`, `overdue`, `retrieved`, `cancelled`, `returned`), `source` (`clerk` or `hall-system`), `enterprise`, `applicant` (masked), `agent` (代办人, masked, or null), `returnReasons` (a `returned` case: why the applicant sent the items back), `items` with their compartment, `compartments`, `createdAt`, `readyAt`, `expiresAt`, `closedAt`; never the pickup code';
const compartmentView = 'the compartment: `{"id","size","state","caseNo","door","note","hold"}`';
const unknownCompartment = '`unknown-compartment`';

/** Keyed by `METHOD /path` as fastify registers the route. */
export const operationNotes: Readonly<Record<string, OperationNote>> = {
  'GET /api/v1/health': {
    summary: 'How the cabinet is',
    answer: '`{"status":"ok"|"degraded","hardware":"ok"|"lost","mqtt":"connected"|"offline"|"disabled","outbox","alarms","storage":"ok"|"failing","idReader":"ok"|"lost"|"absent","camera":"ok"|"down"|"unknown"|"absent"}`; a camera that is down makes `status` `degraded` only where `camera.required`',
  },
  'GET /api/v1/me': {
    summary: 'Who the bearer (or the signed-in person) is',
    answer: '`{"name","role","may":{"loadAndCreate","acknowledgeAlarms","openRemotely","load","viewCabinet"}}`, and for a courier `itemTypes`: the item types they may load',
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
    description: 'USCC (GB 32100-2015), ID number (GB 11643-1999) and mobile number are checked; barcodes are unique among items not yet collected. Case numbers are stored upper-case. A clerk\'s case is `source: "clerk"` and a case number already on file is `duplicate-case`. The hall system (role `integration`) may send a case again: the same case (compared by a keyed hash of its canonical JSON) is answered **200** with the case as it is, and nothing is written; another case under the same number is 409 `case-differs`, whose `issues` name each field that differs (never its value). Reported as `case.created` with its `source`.',
    status: 201,
    answer: `${caseView} (200 with the case for a repeat from the hall system)`,
    refusals: { 400: '`item-cannot-fit` (no compartment of this cabinet takes that item type; `issues` name `items.N.type`)', 409: '`duplicate-case` (a clerk), `case-differs` (the hall system: `issues` name the fields), `barcode-in-use`' },
  },
  'PUT /api/v1/cases/:caseNo': {
    summary: 'Amend a case (the hall system): the whole case as it should now be',
    description: 'While no item has been handed out and nobody is at the doors. Enterprise and applicant are corrected; items not yet loaded may be removed; items may be added: a ready (or overdue) case then awaits items again and its credential stops working (a new one is issued and sent when the last item is in). A ready case whose applicant\'s phone changes gets a new credential sent to the new number. An item inside the cabinet cannot be removed or change its type. The same case again changes nothing. Reported as `case.amended`.',
    answer: caseView,
    refusals: {
      400: '`case-number-mismatch` (the body\'s caseNo is not the path\'s)',
      404: '`unknown-case`',
      409: '`in-pickup`, `case-closed`, `item-inside` (`issues` name each loaded item that would leave the case or change its type), `barcode-in-use`',
    },
  },
  'POST /api/v1/cases/:caseNo/cancel': {
    summary: 'Cancel a case (the hall system)',
    description: 'The credential stops working. Nothing inside: the case is `cancelled` and closed at once. Items inside: `cancelled`, and a clerk takes them back (POST /cases/:caseNo/retrieve), as for an overdue case. Cancelling a cancelled case again answers the case. Reported as `case.cancelled` (`toRetrieve`: the compartments to empty).',
    answer: caseView,
    refusals: { 404: '`unknown-case`', 409: '`in-pickup` (the applicant is at the doors), `case-closed`, `door-busy` (an item is being loaded)' },
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
    description: 'For an overdue case, a cancelled one with items inside (it stays `cancelled`, closed once they are back), a `returned` one (the applicant sent the items back at the doors; it stays `returned`, closed once they are back), or any case not yet collected.',
    status: 202,
    answer: '`{"caseNo","compartments"}`: the doors being opened',
    refusals: { 404: '`unknown-case`', 409: '`case-not-retrievable`, `pickup-in-progress`, `door-busy`', 503: '`hardware-unavailable`' },
  },
  'GET /api/v1/deposits': {
    summary: 'Documents deposited at the kiosk, waiting for a clerk (容缺材料)',
    description: 'Deposits whose door has shut with the document inside (`received`), or that a clerk is taking out (`retrieving`), oldest first.',
    answer: '`[{"id","caseNo","compartment","state","depositor":"applicant"|"agent"|"department","depositedBy","createdAt","receivedAt","retrievedAt","retrievedBy","reason"}]`',
  },
  'POST /api/v1/deposits': {
    summary: 'A department returns something to the window for a case',
    description: 'A courier (or clerk) names the case: the smallest free compartment that takes a document opens; the door shutting makes it a deposit (`depositor: "department"`, `depositedBy`), listed for the clerk like an applicant\'s.',
    status: 202,
    answer: 'the deposit, `state: "opening"`, with its `compartment`',
    refusals: { 404: '`unknown-case`', 409: '`cabinet-full`', 503: '`hardware-unavailable`' },
  },
  'GET /api/v1/deposits/:id': {
    summary: 'One deposit as it stands (a courier: their own returns only)',
    answer: 'the deposit: `state` `opening`, `received`, `aborted` (with `reason`), `retrieving` or `retrieved`',
    refusals: { 404: '`unknown-deposit`' },
  },
  'POST /api/v1/deposits/:id/retrieve': {
    summary: 'Open a deposit\'s compartment so a clerk takes the document out',
    description: 'The door opens; once it shuts again the deposit is `retrieved` (`deposit.retrieved`, with who) and the compartment is free.',
    status: 202,
    answer: 'the deposit, `state: "retrieving"`',
    refusals: { 404: '`unknown-deposit`', 409: '`deposit-not-waiting`, `door-busy`', 503: '`hardware-unavailable`' },
  },
  'POST /api/v1/loads': {
    summary: 'Load an item by its barcode',
    description: "The item's compartment is chosen and its door opens for the clerk (or courier); the item is in when the door closes again. A courier loads only the item types of their department (`govlocker users add --role courier --items …`); their refused scans (unknown barcode, full cabinet, an item type not theirs) are reported as `load.refused` for the clerk. Every load records who scanned it.",
    status: 202,
    answer: '`{"loadId","caseNo","itemId","compartment"}`',
    refusals: { 403: '`not-your-item-type` (a courier: the message names the item type and who may load it)', 404: '`unknown-barcode`', 409: '`already-loaded`, `cabinet-full`, `case-not-loading`', 503: '`hardware-unavailable`' },
  },
  'GET /api/v1/loading-alerts': {
    summary: "Couriers' loading exceptions of the last day",
    description: 'What the clerk deals with when departments load directly: refused scans (`load.refused`: an unknown barcode, a full cabinet, an item type not theirs, a case not awaiting items) and loads that did not go in (`load.aborted`: the item was not detected, a jammed lock, …), newest first, at most 50.',
    answer: '`[{"seq","ts","type":"load.refused"|"load.aborted","data":{"barcode"|"loadId","reason","by",…}}]`',
  },
  'GET /api/v1/loads/:loadId': {
    summary: 'How a load went (a courier: their own loads only)',
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
  'GET /api/v1/snapshots/:id': {
    summary: 'The still the camera took at a door event',
    description: 'The id comes from a `door.opened` or `door.closed` event\'s `data.snapshot` (config `camera`). Waits for a capture still under way (at most `camera.timeoutMs`). Each view is audited under the viewer\'s name (`snapshot.viewed`). Answered with `Cache-Control: no-store`. Stills are kept `camera.retentionDays` (30) days and are not in backups.',
    answer: 'the JPEG (`image/jpeg`)',
    media: 'image/jpeg',
    refusals: {
      400: 'the id is not a snapshot id (`issues` names `id`)',
      404: '`capture-failed` (the camera gave no still: `reason` is `unreachable`, `timeout`, `wrong-credentials`, `unsupported-auth`, `http-error`, `not-jpeg` or `too-large`, and the message says what to check), `unknown-snapshot` (no still with this id), `snapshot-expired` (older than `camera.retentionDays`), `snapshot-unreadable` (the file kept for it does not open with this cabinet\'s key)',
    },
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
  'POST /api/v1/kiosk/resend': {
    summary: 'Send a lost pickup code again ("没收到取件码？")',
    description: 'The applicant gives the case number and the ID suffix (or `idCardReadId`). A new credential is issued with the old one\'s expiry (the old code and QR stop working) and sent to the phone on file through the SMS gateway (`…/notify`, `"kind":"credential"`); the answer shows only the masked phone. A wrong case number and a wrong ID suffix get the same `invalid` answer and count as failed attempts of the cabinet-wide attempt guard. At most `policy.resendsPerCasePerDay` per case in 24 hours and `policy.resendsPerHour` for the cabinet.',
    answer: '`{"result":"sent","maskedPhone","expiresAt"}` or `{"result":"denied","reason","attemptsLeft"?,"retryAfterSeconds"?,"window"?,"cause"?}`; `reason` is `invalid`, `locked-out`, `suspended`, `busy` (the cabinet\'s hourly allowance), `limit-reached` (this case\'s daily allowance), `expired` (overdue: the window helps), `not-ready` (items still being loaded), `nothing-waiting` (collected, retrieved, cancelled or returned), `in-progress`, `out-of-service` (`cause: "storage-failing"`) or `not-offered` (`policy.resendsPerCasePerDay` is 0)',
    storageFailureInAnswer: true,
    refusals: { 429: 'too many tries at once (`retry-after`)' },
  },
  'POST /api/v1/kiosk/deposit': {
    summary: 'Deposit a document the case still owes (容缺材料)',
    description: 'The case number with the applicant\'s or the agent\'s ID suffix (or `idCardReadId`) opens the smallest free compartment that takes a document (medium or larger). The door shutting is `deposit.received` (where item sensors exist, only with the document seen; otherwise `deposit.aborted`, `item-not-detected`), and the clerk station lists it. A wrong case number and a wrong ID get the same `invalid` answer and count as failed attempts of the cabinet-wide attempt guard.',
    answer: '`{"result":"opened","compartment"}` or `{"result":"denied","reason","attemptsLeft"?,"retryAfterSeconds"?,"window"?,"cause"?}`; `reason` is `invalid`, `locked-out`, `suspended`, `no-compartment` (nothing free takes a document: the window helps) or `out-of-service` (`cause`: `board-offline`, `storage-failing`, `camera-unavailable`)',
    storageFailureInAnswer: true,
    refusals: { 429: 'too many tries at once (`retry-after`)' },
  },
  'POST /api/v1/kiosk/return': {
    summary: 'Send the items back at the doors (材料有误，退回窗口)',
    description: 'While the case\'s doors are open at pickup, the applicant says what is wrong (fixed `reasons`: `wrong-content`, `damaged`, `not-ours`, `missing-item`, `other`) and puts the items back. Once every door has shut the case is `returned` (`case.returned` with the reasons, an alarm `case-returned` for the clerk, who retrieves the items like an overdue case). Asking again while the doors are open replaces the reasons.',
    answer: '`{"result":"accepted","compartments"}` or `{"result":"denied","reason":"not-in-progress","window"}` (no door of that case is open for its pickup now)',
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
    answer: 'an event stream, starting with `hello` `{"cabinetId","helpWindow","idReader","resend"}` (`resend`: whether the kiosk offers "没收到取件码？")',
    stream: true,
    refusals: { 429: 'too many event streams open (8 per client address, 200 in all)' },
  },
};
