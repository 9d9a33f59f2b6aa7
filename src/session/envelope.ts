// The key envelope: the 32-byte session file key sealed as a complete age v1 file to every recipient.
import { createHash } from "node:crypto";
import { Decrypter, Encrypter } from "age-encryption";
import { UserError } from "../errors.js";
import { FILE_KEY_BYTES } from "./format.js";
import { decryptFailure } from "./age-failure.js";

/**
 * age-encryption gives a Uint8Array's result through WHATWG `Response`, whose first use loads Node's fetch
 * (undici): ~25 ms of every recording's and every replay's start for a 32-byte key. Handed streams, it
 * returns streams, read here with their own reader.
 */
function streamOf(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(bytes);
      controller.close();
    },
  });
}

async function drain(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const reader = stream.getReader();
  const parts: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    length += value.length;
  }
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  for (const p of parts) p.fill(0);
  return out;
}

/**
 * Seals `fileKey` to each `age1…` recipient. Any age implementation can open the envelope, which is
 * what makes keys from age-keygen work. Throws UserError(bad-input) for an empty list or a malformed recipient.
 */
export async function sealFileKey(fileKey: Uint8Array, recipients: readonly string[]): Promise<Uint8Array> {
  if (recipients.length === 0) throw new UserError("no recipients: pass at least one age1… public key", "bad-input");
  const enc = new Encrypter();
  for (const r of recipients) {
    const recipient = r.trim();
    try {
      if (!recipient.startsWith("age1")) throw new Error("not age1");
      enc.addRecipient(recipient);
    } catch {
      throw new UserError(
        `not an age recipient: "${recipient.slice(0, 24)}"; expected a public key starting with age1`,
        "bad-input",
      );
    }
  }
  try {
    return await drain(await enc.encrypt(streamOf(fileKey)));
  } catch (e) {
    throw new UserError(`cannot encrypt to the recipients: ${(e as Error).message}`, "bad-input", { cause: e });
  }
}

/**
 * A set of age identities, parsed once. Opening many sessions with one KeyRing (replay merging files, a
 * verify pass then a decode pass) skips re-deriving public keys, and an envelope opened before is not
 * opened again: the ring keeps the file keys it found for as long as the caller keeps the ring.
 */
export class KeyRing {
  private readonly decrypter = new Decrypter();
  private readonly opened = new Map<string, Uint8Array>();
  readonly size: number;

  /** Throws UserError(wrong-key) for an empty list or a malformed identity string. */
  constructor(identities: readonly string[]) {
    if (identities.length === 0)
      throw new UserError("no identities given: pass the age identity file that matches a recipient", "wrong-key");
    for (const id of identities) {
      try {
        this.decrypter.addIdentity(id);
      } catch {
        throw new UserError("malformed age identity: expected AGE-SECRET-KEY-1…", "wrong-key");
      }
    }
    this.size = identities.length;
  }

  /**
   * Opens the envelope with the first matching identity. Throws UserError(wrong-key) when none matches;
   * returns null if the envelope is malformed, which only a forged header can cause (the caller reports TAMPERED).
   */
  async openFileKey(envelope: Uint8Array): Promise<Uint8Array | null> {
    const envelopeId = createHash("sha256").update(envelope).digest("hex");
    const known = this.opened.get(envelopeId);
    if (known) return known.slice();
    let plain: Uint8Array;
    try {
      plain = await drain(await this.decrypter.decrypt(streamOf(envelope)));
    } catch (e) {
      if (decryptFailure(e) === "no-match")
        throw new UserError(`no matching key: none of the ${this.size} identities opens this session`, "wrong-key");
      return null;
    }
    if (plain.length !== FILE_KEY_BYTES) return null;
    this.opened.set(envelopeId, plain.slice());
    return plain;
  }

  /** Wipes the file keys this ring has opened. */
  forget(): void {
    for (const key of this.opened.values()) key.fill(0);
    this.opened.clear();
  }
}
