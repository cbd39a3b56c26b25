// The result byte (SW3) of every reply from the ID-card reader's SAM module, by name, so a driver can log
// and count outcomes by what they mean. The codes are the SAM module's own (HARDWARE.md §3 and the SAM
// vendors' manuals); a code not listed here is `unknown` and keeps its number in the reply header.

export const STATUS_CODES = {
  /** 操作成功: select or read done. */
  ok: 0x90,
  /** 卡中此项无内容: the card has no such item (seen on optional items such as fingerprints). */
  'no-content': 0x91,
  /** 寻找卡成功: the answer to a good find-card. */
  'card-found': 0x9f,
  /** 寻找卡失败: no card on the reader. */
  'no-card': 0x80,
  /** 选取卡失败: a card was found but could not be selected (moved away, or a second card in the field). */
  'select-failed': 0x81,
  /** 尚未找卡: a select or read without a card found first (the card left, or the steps ran out of order). */
  'no-card-selected': 0x34,
  /** 读卡操作失败. */
  'read-failed': 0x41,
  /** 无法识别的卡类型: an RF card that is not an ID card (a transit card, a bank card). */
  'unknown-card-type': 0x40,
  /** 卡认证机具失败: the card did not accept the reader. */
  'reader-not-authenticated': 0x31,
  /** 机具认证卡失败: the reader did not accept the card (damaged or not genuine). */
  'card-not-authenticated': 0x32,
  /** 信息验证错误: the card's data failed verification. */
  'data-not-verified': 0x33,
  /** 取随机数失败: the card's challenge could not be read. */
  'random-number-failed': 0x47,
  /** 接收业务终端数据的校验和错: the module received a frame from us with a bad CHK. */
  'checksum-error': 0x10,
  /** 接收业务终端数据的长度错 / 接收超时: the module received a frame from us cut short. */
  'length-error': 0x11,
  /** 接收业务终端的命令错误: the module did not understand our command. */
  'command-error': 0x21,
  /** 越权操作. */
  'not-permitted': 0x23,
  /** 无法识别的错误. */
  'unrecognised-error': 0x24,
  /** SAM 自检失败，不能接收命令. */
  'sam-self-test-failed': 0x60,
  /** SAM 未经授权，无法使用. */
  'sam-not-authorised': 0x66,
} as const;

export type KnownIdCardStatus = keyof typeof STATUS_CODES;
export type IdCardStatus = KnownIdCardStatus | 'unknown';

const byCode = new Map<number, KnownIdCardStatus>(Object.entries(STATUS_CODES).map(([name, code]) => [code, name as KnownIdCardStatus]));

/** The name of an SW3 byte; `unknown` for a code the module's manuals do not list. */
export function statusOf(sw3: number): IdCardStatus {
  return byCode.get(sw3) ?? 'unknown';
}

/**
 * What a driver does about a status:
 * - `success`: go on (`ok`, `card-found`, `no-content`).
 * - `no-card`: nothing on the reader; keep polling quietly.
 * - `card`: a card is there but this attempt failed; start again from find-card (the person may have moved
 *   the card, or it is not an ID card).
 * - `transmission`: the module got a damaged or unknown frame from us; resend.
 * - `module`: the SAM module itself is at fault; a maintenance matter, not the applicant's.
 * - `unknown`: a code outside the manuals; treat as `module` and log the number.
 */
export type StatusCategory = 'success' | 'no-card' | 'card' | 'transmission' | 'module' | 'unknown';

const categories: Record<IdCardStatus, StatusCategory> = {
  ok: 'success',
  'no-content': 'success',
  'card-found': 'success',
  'no-card': 'no-card',
  'select-failed': 'card',
  'no-card-selected': 'card',
  'read-failed': 'card',
  'unknown-card-type': 'card',
  'reader-not-authenticated': 'card',
  'card-not-authenticated': 'card',
  'data-not-verified': 'card',
  'random-number-failed': 'card',
  'checksum-error': 'transmission',
  'length-error': 'transmission',
  'command-error': 'transmission',
  'not-permitted': 'module',
  'unrecognised-error': 'module',
  'sam-self-test-failed': 'module',
  'sam-not-authorised': 'module',
  unknown: 'unknown',
};

export function statusCategory(status: IdCardStatus): StatusCategory {
  return categories[status];
}
