// The key envelope: the 32-byte session file key sealed as a complete age v1 file to every recipient.
import { Decrypter, Encrypter } from "age-encryption";
import { EXIT, UserError } from "../cli/errors.js";
import { FILE_KEY_BYTES } from "./format.js";

/**
 * Seals `fileKey` to each `age1…` recipient. Any age implementation can open the envelope, which is
 * what makes keys from age-keygen work. Throws UserError(usage) for an empty list or a malformed recipient.
 */
export async function sealFileKey(fileKey: Uint8Array, recipients: readonly string[]): Promise<Uint8Array> {
  if (recipients.length === 0) throw new UserError("no recipients: pass at least one age1… public key", EXIT.usage);
  const enc = new Encrypter();
  for (const r of recipients) {
    const recipient = r.trim();
    try {
      if (!recipient.startsWith("age1")) throw new Error("not age1");
      enc.addRecipient(recipient);
    } catch {
      throw new UserError(`not an age recipient: "${recipient.slice(0, 24)}"; expected a public key starting with age1`, EXIT.usage);
    }
  }
  try {
    return await enc.encrypt(fileKey);
  } catch (e) {
    throw new UserError(`cannot encrypt to the recipients: ${(e as Error).message}`, EXIT.usage, { cause: e });
  }
}

/**
 * Opens the envelope with the first matching identity (`AGE-SECRET-KEY-1…` strings).
 * Throws UserError(EXIT.key) when no identity matches; returns null if the envelope opens but is
 * malformed, which can only mean the header was forged by a key holder (the caller reports TAMPERED).
 */
export async function openFileKey(envelope: Uint8Array, identities: readonly string[]): Promise<Uint8Array | null> {
  if (identities.length === 0) throw new UserError("no identities given: pass the age identity file that matches a recipient", EXIT.key);
  const dec = new Decrypter();
  for (const id of identities) dec.addIdentity(id);
  let plain: Uint8Array;
  try {
    plain = await dec.decrypt(envelope);
  } catch (e) {
    const msg = (e as Error).message ?? "";
    if (/no identity matched/i.test(msg)) {
      throw new UserError(`no matching key: none of the ${identities.length} identities opens this session`, EXIT.key);
    }
    return null;
  }
  return plain.length === FILE_KEY_BYTES ? plain : null;
}
