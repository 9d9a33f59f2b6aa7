// What an age recipient looks like wherever sealtrace takes one (-r, -R files, the runbook, the prompt):
// an X25519 public key, `age1` and 58 bech32 characters. runbooks/schema.json repeats it (checked by a test).

/** `age1` then 58 characters of bech32's alphabet (no 1, b, i or o after the separator). */
export const AGE_RECIPIENT = /^age1[02-9ac-hj-np-z]{58}$/;

export function isAgeRecipient(s: string): boolean {
  return AGE_RECIPIENT.test(s);
}
