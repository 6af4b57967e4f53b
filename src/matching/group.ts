/**
 * The group: X25519 (RFC 7748) through Node's native `crypto.diffieHellman`, and a hash of
 * identifiers onto Curve25519's u-line. docs/psi.md explains the choices for non-cryptographers.
 *
 * - A point is its u-coordinate: 32 bytes, little-endian (RFC 7748's encoding).
 * - A secret is 32 random bytes; X25519 clamps it (low three bits cleared, bit 254 set), so every
 *   effective scalar is a multiple of the cofactor 8 and X25519(a, X25519(b, P)) =
 *   X25519(b, X25519(a, P)): blinding commutes.
 * - `hashToCurve` maps (session, type, identifier) to a u-coordinate of a point on the curve
 *   (never on its twist, see there), by try-and-increment over domain-separated SHA-512.
 * - Points received from the other party are checked, every list before any use
 *   ({@link checkReceivedPoints}): 32 bytes, canonical (u < 2^255 − 19; Node would silently reduce
 *   u ≥ p and ignore the top bit), not of small order, and no repeat. OpenSSL also refuses an
 *   all-zero output with ERR_OSSL_FAILED_DURING_DERIVATION, which we report as such.
 *
 * Only node:crypto is used, so the worker threads load this module cheaply.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  type KeyObject,
} from "node:crypto";
import { MatchError } from "./errors.js";

/** Bytes of a point (u-coordinate) and of a secret scalar. */
export const POINT_BYTES = 32;

/** The field prime 2^255 − 19. */
export const P = (1n << 255n) - 19n;
/** Curve25519: v² = u³ + A·u² + u. */
const A = 486_662n;

/**
 * Domain separation tag of the identifier hash. Version 2 hashes identifiers normalized by the
 * rules of src/client/normalize.ts (libphonenumber-js phone numbers, IBAN lengths, Chinese
 * resident ID numbers); a v1 hash of the same identifier differs on purpose.
 */
export const HASH_DOMAIN = "veritrace:psi:v2";

/** PKCS#8 DER prefix of a raw X25519 private key, SPKI DER prefix of a raw public key. */
const PKCS8_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");
const SPKI_PREFIX = Buffer.from("302a300506032b656e032100", "hex");

/**
 * u-coordinates (canonical) of the points of small order on the curve and on its twist: 0 (order
 * 2), 1 (order 4), p − 1 (order 4, twist), and the two of order 8. X25519 of these is all zero.
 */
const LOW_ORDER: ReadonlySet<bigint> = new Set([
  0n,
  1n,
  P - 1n,
  325_606_250_916_557_431_795_983_626_356_110_631_294_008_115_727_848_805_560_023_387_167_927_233_504n,
  39_382_357_235_489_614_581_723_060_781_553_021_112_529_911_719_440_698_176_882_885_853_963_445_705_823n,
]);

/** The 32-byte encodings of {@link LOW_ORDER}, as latin1 strings (a byte-wise lookup). */
const LOW_ORDER_ENCODINGS: ReadonlySet<string> = new Set(
  [...LOW_ORDER].map((u) => encodeU(u).toString("latin1")),
);

/**
 * Checks a list of points received from the other party, before any of it is used: n × 32 bytes,
 * each a canonical u-coordinate (u < 2^255 − 19), none of small order, and no two equal. `what`
 * names the list in the error ("the request's", "the provider's re-blinded list"), which names the
 * element (its 0-based index) and, for a repeat, the element it repeats.
 *
 * Why each rule: a non-canonical value is a second encoding of a point (Node reduces it), a
 * small-order value is the identity after blinding (X25519's all-zero output) and never matches,
 * and a repeated value counts twice in the intersection: each would make the session end with a
 * wrong result and no error. Distinct identifiers always give distinct points (the hash is
 * injective in practice and blinding is a bijection on the prime-order subgroup), so an honest
 * party never sends a repeat.
 */
export function checkReceivedPoints(list: Uint8Array, what: string): void {
  if (list.length % POINT_BYTES !== 0) {
    throw new MatchError(
      "invalid-point",
      `${what} list is ${list.length} bytes, not a multiple of 32`,
    );
  }
  const bytes = Buffer.from(list.buffer, list.byteOffset, list.byteLength);
  const seen = new Map<string, number>();
  for (let i = 0, o = 0; o < bytes.length; i++, o += POINT_BYTES) {
    if (!isCanonical(bytes, o)) {
      throw new MatchError(
        "invalid-point",
        `${what} element ${i} is not a canonical point (u ≥ 2^255 − 19)`,
        { index: i },
      );
    }
    const key = bytes.toString("latin1", o, o + POINT_BYTES);
    if (LOW_ORDER_ENCODINGS.has(key)) {
      throw new MatchError("low-order-point", `${what} element ${i} is a point of small order`, {
        index: i,
      });
    }
    const first = seen.get(key);
    if (first !== undefined) {
      throw new MatchError("duplicate-point", `${what} element ${i} repeats element ${first}`, {
        index: i,
      });
    }
    seen.set(key, i);
  }
}

/** A fresh secret key object for a 32-byte scalar (clamped by X25519 itself). */
export function privateKeyOf(scalar: Uint8Array): KeyObject {
  if (scalar.length !== POINT_BYTES)
    throw new MatchError("internal", `a secret scalar is 32 bytes, got ${scalar.length}`);
  return createPrivateKey({
    key: Buffer.concat([PKCS8_PREFIX, scalar]),
    format: "der",
    type: "pkcs8",
  });
}

/** Little-endian bytes → integer. */
export function decodeU(bytes: Uint8Array): bigint {
  return BigInt(`0x${Buffer.from(bytes).reverse().toString("hex")}`);
}

/** Integer (< 2^256) → 32 little-endian bytes. */
export function encodeU(u: bigint): Buffer {
  return Buffer.from(u.toString(16).padStart(64, "0"), "hex").reverse();
}

/**
 * Whether 32 bytes are a canonical u-coordinate: u < 2^255 − 19 (so the top bit is clear too).
 * Decided from the bytes alone: u ≥ p only when bytes 31..1 are 0x7f, 0xff… and byte 0 ≥ 0xed.
 */
export function isCanonical(point: Uint8Array, offset = 0): boolean {
  const top = point[offset + 31] ?? 0;
  if (top < 0x7f) return true;
  if (top > 0x7f) return false;
  for (let i = 30; i >= 1; i--) if (point[offset + i] !== 0xff) return true;
  return (point[offset] ?? 0) < 0xed;
}

/** Jacobi symbol (a | n) for odd n > 0: 1, −1, or 0 when gcd(a, n) > 1 (binary algorithm). */
export function jacobi(a: bigint, n: bigint): number {
  let x = a % n;
  let m = n;
  let t = 1;
  while (x !== 0n) {
    while ((x & 1n) === 0n) {
      x >>= 1n;
      const r = m & 7n;
      if (r === 3n || r === 5n) t = -t;
    }
    [x, m] = [m, x];
    if ((x & 3n) === 3n && (m & 3n) === 3n) t = -t;
    x %= m;
  }
  return m === 1n ? t : 0;
}

/** Whether u (canonical) is the u-coordinate of a point on the curve rather than on the twist. */
export function isOnCurve(u: bigint): boolean {
  const rhs = (((u + A) * u + 1n) % P) * u; // u³ + A·u² + u
  return jacobi(rhs, P) === 1;
}

/** The bytes hashed for an identifier: domain, session id, type and identifier, unambiguous. */
function hashPrefix(sessionId: Uint8Array, type: string, normalized: string): Buffer {
  return Buffer.concat([
    Buffer.from(`${HASH_DOMAIN}\0`, "utf8"),
    sessionId,
    Buffer.from(`${type}\0${normalized}\0`, "utf8"),
  ]);
}

/**
 * H(x): the u-coordinate of a point of order ≥ ℓ on Curve25519 (not its twist) for a normalized
 * identifier of a session. Try-and-increment: u_j = SHA-512(prefix ‖ j)[0..32] little-endian with
 * the top bit cleared, for j = 0, 1, …, until u_j < p, u_j is not of small order and u_j³ + A·u_j² +
 * u_j is a square mod p (the point is on the curve); about two tries on average.
 *
 * Why not accept twist points, as X25519 would: whether a u-coordinate lies on the curve or the
 * twist is public (one Jacobi symbol), and multiplying never moves a point from one to the other,
 * so the blinded value H(x)^a would tell the other party one bit of H(x), a bit anyone can compute
 * for a guessed identifier. Hashing only onto the curve removes that bit.
 */
export function hashToCurve(sessionId: Uint8Array, type: string, normalized: string): Buffer {
  const prefix = hashPrefix(sessionId, type, normalized);
  for (let j = 0; j < 256; j++) {
    const digest = createHash("sha512").update(prefix).update(Uint8Array.of(j)).digest();
    const point = digest.subarray(0, POINT_BYTES);
    point[31] = (point[31] ?? 0) & 0x7f;
    if (!isCanonical(point)) continue;
    const u = decodeU(point);
    if (LOW_ORDER.has(u) || !isOnCurve(u)) continue;
    return Buffer.from(point);
  }
  // Each try succeeds with probability ≈ 1/2: 256 failures do not happen.
  throw new MatchError("internal", `no curve point for an identifier after 256 tries`);
}

/**
 * X25519(scalar, u) for one point at `points[offset..offset+32]`, written to `out[outOffset..]`.
 * Refuses a non-canonical point and a point of small order; `index` names the element.
 */
export function multiplyOne(
  privateKey: KeyObject,
  points: Uint8Array,
  offset: number,
  out: Uint8Array,
  outOffset: number,
  index: number,
): void {
  if (!isCanonical(points, offset)) {
    throw new MatchError(
      "invalid-point",
      `element ${index} is not a canonical point (u ≥ 2^255 − 19)`,
      {
        index,
      },
    );
  }
  const publicKey = createPublicKey({
    key: Buffer.concat([SPKI_PREFIX, points.subarray(offset, offset + POINT_BYTES)]),
    format: "der",
    type: "spki",
  });
  let shared: Buffer;
  try {
    shared = diffieHellman({ privateKey, publicKey });
  } catch (error) {
    if ((error as { code?: string }).code === "ERR_OSSL_FAILED_DURING_DERIVATION") {
      throw new MatchError("low-order-point", `element ${index} is a point of small order`, {
        index,
      });
    }
    throw error;
  }
  out.set(shared, outOffset);
}

/** X25519(scalar, ·) of every point in `points` (n × 32 bytes); `first` is the index of the first. */
export function multiplyAll(scalar: Uint8Array, points: Uint8Array, first = 0): Buffer {
  if (points.length % POINT_BYTES !== 0) {
    throw new MatchError(
      "invalid-point",
      `a list of points is ${points.length} bytes, not a multiple of 32`,
    );
  }
  const key = privateKeyOf(scalar);
  const out = Buffer.allocUnsafe(points.length);
  for (let i = 0, o = 0; o < points.length; i++, o += POINT_BYTES)
    multiplyOne(key, points, o, out, o, first + i);
  return out;
}

/** H(x)^scalar of every (normalized) identifier: n × 32 bytes. */
export function hashAndMultiplyAll(
  scalar: Uint8Array,
  sessionId: Uint8Array,
  type: string,
  identifiers: readonly string[],
  first = 0,
): Buffer {
  const key = privateKeyOf(scalar);
  const out = Buffer.allocUnsafe(identifiers.length * POINT_BYTES);
  identifiers.forEach((id, i) => {
    const h = hashToCurve(sessionId, type, id);
    multiplyOne(key, h, 0, out, i * POINT_BYTES, first + i);
  });
  return out;
}
