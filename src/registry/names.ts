/** Group names: 1–128 characters of letters, digits and `_ . : -` (safe in paths, logs and Redis keys). */
export const GROUP_NAME = /^[A-Za-z0-9_.:-]{1,128}$/;

/** Principal ids are whatever an authorizer returns, within reason. */
export const MAX_PRINCIPAL_LENGTH = 1024;

export function isGroupName(name: string): boolean {
  return GROUP_NAME.test(name);
}

export function isPrincipalId(id: string): boolean {
  return id.length > 0 && id.length <= MAX_PRINCIPAL_LENGTH;
}
