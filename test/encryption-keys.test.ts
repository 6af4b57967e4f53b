import { expect } from "chai";
import { Decrypter, Encrypter, generateX25519Identity, identityToRecipient } from "age-encryption";
import { network } from "hardhat";
import {
  ContractRevertError,
  InputError,
  VeritraceError,
  ageRecipient,
  bech32Decode,
  bech32Encode,
  currentEncryptionKey,
  encryptionKeyById,
  encryptionKeyHistory,
  generateEncryptionIdentity,
  keyRegistryDomainOf,
  keyRotationDigest,
  publicKeyOfIdentity,
  publicKeyOfRecipient,
  registerEncryptionKey,
  requireEncryptionPublicKey,
  revokeEncryptionKey,
  signKeyRotation,
  submitKeyRotation,
} from "../src/client/index.js";
import { clientConsortium } from "./helpers/client-consortium.js";

const connection = await network.create();
const { ethers, networkHelpers } = connection;

async function expectRevert(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(ContractRevertError);
    expect((e as Error).message).to.match(pattern);
    return;
  }
  expect.fail(`expected a revert matching ${pattern}`);
}

describe("client: age keys", function () {
  it("writes a public key as the age recipient the age library derives from its identity", async function () {
    for (let i = 0; i < 5; i++) {
      const identity = await generateX25519Identity();
      const recipient = await identityToRecipient(identity);
      const publicKey = await publicKeyOfIdentity(identity);
      expect(ageRecipient(publicKey)).to.equal(recipient);
      expect(publicKeyOfRecipient(recipient)).to.equal(publicKey);
    }
  });

  it("encrypts through a recipient built from the raw key to the identity holding it", async function () {
    const { identity, publicKey } = await generateEncryptionIdentity();
    const e = new Encrypter();
    e.addRecipient(ageRecipient(publicKey));
    const d = new Decrypter();
    d.addIdentity(identity);
    expect(await d.decrypt(await e.encrypt("to the registered key"), "text")).to.equal(
      "to the registered key",
    );
  });

  it("decodes the BIP 173 test vectors and refuses a bad checksum or mixed case", function () {
    expect(bech32Decode("A12UEL5L")?.hrp).to.equal("a");
    const long = "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw";
    expect(bech32Decode(long)?.hrp).to.equal("abcdef");
    expect(bech32Decode("a12uel5m")).to.equal(null);
    expect(bech32Decode("A12uEL5L")).to.equal(null);
    const bytes = Uint8Array.from({ length: 32 }, (_, i) => i);
    const round = bech32Decode(bech32Encode("age", bytes));
    expect(round?.hrp).to.equal("age");
    expect([...(round?.bytes ?? [])]).to.deep.equal([...bytes]);
  });

  it("accepts a key as hex or age1…, and refuses zero, other lengths and other recipients", function () {
    const hex = `0x${"ab".repeat(32)}`;
    expect(requireEncryptionPublicKey("k", ageRecipient(hex))).to.equal(hex);
    expect(() => requireEncryptionPublicKey("k", `0x${"00".repeat(32)}`)).to.throw(
      InputError,
      /^k: the zero key/,
    );
    expect(() => requireEncryptionPublicKey("k", "0x1234")).to.throw(
      InputError,
      /^k: not a 32-byte/,
    );
    expect(() => requireEncryptionPublicKey("k", "age1notbech32")).to.throw(
      InputError,
      /^k: not an age X25519 recipient/,
    );
    expect(() => publicKeyOfRecipient(bech32Encode("age", new Uint8Array(31)))).to.throw(
      InputError,
      /not an age X25519 recipient/,
    );
  });
});

describe("client: encryption keys on the ledger", function () {
  async function consortium() {
    const { signers, record, contracts, admit } = await clientConsortium(connection);
    const bank = await admit("BANK", 3);
    const police = await admit("POLICE", 4);
    const relayer = signers[9];
    if (relayer === undefined) throw new Error("signer");
    return { record, contracts, bank, police, relayer };
  }

  it("is in the deployment record, deployed by the Ignition module", async function () {
    const { record, contracts } = await networkHelpers.loadFixture(consortium);
    expect(record.contracts.EncryptionKeyRegistry).to.match(/^0x[0-9a-fA-F]{40}$/);
    expect(await contracts.keys.registry()).to.equal(record.contracts.ParticipantRegistry);
  });

  it("registers, rotates and reads the keys of an institution, with their history", async function () {
    const { contracts, bank } = await networkHelpers.loadFixture(consortium);
    const first = await generateEncryptionIdentity();
    const a = await registerEncryptionKey(contracts, bank.signer, ageRecipient(first.publicKey));
    expect(a.keyId).to.equal(1n);
    expect(a.replacedKeyId).to.equal(0n);
    await expect(a.receipt.hash).to.be.a("string");

    const second = await generateEncryptionIdentity();
    const b = await registerEncryptionKey(contracts, bank.signer, second.publicKey);
    expect(b.replacedKeyId).to.equal(a.keyId);

    const current = await currentEncryptionKey(contracts, bank.id);
    expect(current.keyId).to.equal(b.keyId);
    expect(current.publicKey).to.equal(second.publicKey);
    expect(current.recipient).to.equal(ageRecipient(second.publicKey));
    expect(current.validUntil).to.equal(null);

    const history = await encryptionKeyHistory(contracts, bank.id);
    expect(history.map((k) => k.keyId)).to.deep.equal([b.keyId, a.keyId]);
    expect(history[1]?.validUntil).to.equal(current.validFrom);
    expect(history[1]?.publicKey).to.equal(first.publicKey);
  });

  it("emits EncryptionKeyRegistered with the key, the one replaced, the signer and the submitter", async function () {
    const { contracts, bank } = await networkHelpers.loadFixture(consortium);
    const { publicKey } = await generateEncryptionIdentity();
    await expect(contracts.keys.connect(bank.signer).registerKey(publicKey, 0))
      .to.emit(contracts.keys, "EncryptionKeyRegistered")
      .withArgs(bank.id, 1n, publicKey, 0n, bank.signer.address, bank.signer.address);
  });

  it("registers a rotation signed by the institution and submitted by a relayer", async function () {
    const { contracts, bank, relayer } = await networkHelpers.loadFixture(consortium);
    const first = await registerEncryptionKey(
      contracts,
      bank.signer,
      (await generateEncryptionIdentity()).publicKey,
    );
    const domain = await keyRegistryDomainOf(contracts);
    const { publicKey } = await generateEncryptionIdentity();
    const now = (await ethers.provider.getBlock("latest"))?.timestamp ?? 0;
    const rotation = {
      participantId: bank.id,
      publicKey,
      replacesKeyId: first.keyId,
      deadline: BigInt(now + 3600),
    };
    expect(keyRotationDigest(domain, rotation)).to.equal(
      await contracts.keys.rotationDigest(rotation),
    );
    const signature = await signKeyRotation(bank.signer, domain, rotation);
    const reg = await submitKeyRotation(
      contracts,
      relayer,
      rotation,
      bank.signer.address,
      signature,
    );
    expect(reg.replacedKeyId).to.equal(first.keyId);
    await expect(reg.receipt)
      .to.emit(contracts.keys, "EncryptionKeyRegistered")
      .withArgs(bank.id, reg.keyId, publicKey, first.keyId, bank.signer.address, relayer.address);
    // The same signature again: the key it replaced is no longer current.
    await expectRevert(
      submitKeyRotation(contracts, relayer, rotation, bank.signer.address, signature),
      /^StaleKeyRotation\(participantId=\d+, currentKeyId=2, replacesKeyId=1\)$/,
    );
  });

  it("names the refusal of a key another institution holds, and of a rotation on a stale view", async function () {
    const { contracts, bank, police } = await networkHelpers.loadFixture(consortium);
    const { publicKey } = await generateEncryptionIdentity();
    await registerEncryptionKey(contracts, bank.signer, publicKey);
    await expectRevert(
      registerEncryptionKey(contracts, police.signer, publicKey),
      /^EncryptionKeyAlreadyRegistered\(publicKey=0x[0-9a-f]{64}, keyId=1, participantId=\d+\)$/,
    );
    await expectRevert(
      registerEncryptionKey(
        contracts,
        bank.signer,
        (await generateEncryptionIdentity()).publicKey,
        {
          replaces: 0n,
        },
      ),
      /^StaleKeyRotation\(/,
    );
  });

  it("revokes a key, after which the institution has none to encrypt to", async function () {
    const { contracts, bank } = await networkHelpers.loadFixture(consortium);
    const { keyId } = await registerEncryptionKey(
      contracts,
      bank.signer,
      (await generateEncryptionIdentity()).publicKey,
    );
    await expect(revokeEncryptionKey(contracts, bank.signer, keyId, 2))
      .to.emit(contracts.keys, "EncryptionKeyRevoked")
      .withArgs(bank.id, keyId, 2, bank.signer.address);
    expect((await encryptionKeyById(contracts, keyId)).revoked).to.equal(true);
    await expectRevert(
      currentEncryptionKey(contracts, bank.id),
      /^NoEncryptionKey\(participantId=\d+\)$/,
    );
    // The next registration needs no `replaces`: none is current.
    const next = await registerEncryptionKey(
      contracts,
      bank.signer,
      (await generateEncryptionIdentity()).publicKey,
    );
    expect(next.replacedKeyId).to.equal(0n);
  });

  it("answers not-found for an unknown key id", async function () {
    const { contracts } = await networkHelpers.loadFixture(consortium);
    try {
      await encryptionKeyById(contracts, 77n);
      expect.fail("expected not-found");
    } catch (e) {
      expect(e).to.be.instanceOf(VeritraceError);
      expect((e as VeritraceError).kind).to.equal("not-found");
    }
  });
});
