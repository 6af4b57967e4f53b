import { expect } from "chai";
import { createHmac } from "node:crypto";
import { AbiCoder, concat, getBytes, keccak256 } from "ethers";
import {
  buildFreezeRequestList,
  buildFreezeResultList,
  commitFreezeItem,
  commitFrozenItem,
  freezeItemProof,
  freezeListJson,
  freezeListKey,
  InputError,
  parseFreezeList,
  verifyRequestList,
  verifyResultList,
  FREEZE_LEAF_ENCODING,
  type FreezeRequestList,
} from "../src/client/index.js";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";

/** The test vector of docs/contracts.md, "Freezes": a bank's system must reproduce it. */
const VECTOR = {
  caseKey: `0x${"11".repeat(32)}`,
  nonce: `0x${"22".repeat(32)}`,
  listKey: "0x922a33e0d39e2c860c4b8df0cba2351c24b2e665e444c3b36b4048db14fb9fc4",
  items: [
    {
      chainId: 1n,
      token: "0xdAC17F958D2ee523a2206206994597C13D831ec7",
      account: "0x1111111111111111111111111111111111111111",
      amount: 1_000_000n,
    },
    {
      chainId: 1n,
      token: "0x0000000000000000000000000000000000000000",
      account: "0x2222222222222222222222222222222222222222",
      amount: 500_000_000_000_000_000n,
    },
    {
      chainId: 56n,
      token: "0x55d398326f99059fF775485246999027B3197955",
      account: "0x3333333333333333333333333333333333333333",
      amount: 250_000_000_000_000_000_000n,
    },
  ],
  commitments: [
    "0x883456de6cdd72abc676f1ccc1d56bb2a619520b087b1c42fedd68184ff62c24",
    "0xa6d7058cb9f3c2e8fc4f89ed8efd1736fa5cc4641f2329f1830315dff3fd12a4",
    "0x4cfb81c73a05b43a59d42cdacb6ff8b89dc5371621645bf5f3a526b23497fde2",
  ],
  root: "0xba2fc0357c76cafa9a0d9b5bb582e3e5a0f94489a97245c234a0da74d8f7823a",
  frozen: [1_000_000n, 0n, 100_000_000_000_000_000_000n],
  resultCommitments: [
    "0x99fb1f9749f1d8fc0bdf9279d638378ea631eb5559502d387b42f9c15b8f5dbd",
    "0x5510783b197e8305c61efba45815f760da78f80374a6937846538d87147171d6",
    "0x9f817e5288c41c40c82b09ee9851dc126bc3ce24123f104314b835d3b024f65b",
  ],
  resultRoot: "0x40e9c93c19db58b957a0a93943342f3f9daec1d527aa4aa6355dc1cfb411fc62",
} as const;

/** HMAC-SHA256 of a UTF-8 message under a 32-byte hex key, as another language would write it. */
const hmac = (key: string, message: string): string =>
  `0x${createHmac("sha256", getBytes(key)).update(message, "utf8").digest("hex")}`;

/** The Merkle root as docs/contracts.md spells it out, written without the library. */
function rootByHand(commitments: readonly string[]): string {
  const coder = AbiCoder.defaultAbiCoder();
  const leaves = commitments
    .map((c, i) => keccak256(keccak256(coder.encode(["uint256", "bytes32"], [i, c]))))
    .sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
  const pair = (a: string, b: string) => keccak256(concat(BigInt(a) < BigInt(b) ? [a, b] : [b, a]));
  const n = leaves.length;
  const tree: string[] = new Array<string>(2 * n - 1);
  leaves.forEach((leaf, i) => (tree[tree.length - 1 - i] = leaf));
  for (let i = tree.length - 1 - n; i >= 0; i--) {
    tree[i] = pair(tree[2 * i + 1] as string, tree[2 * i + 2] as string);
  }
  return tree[0] as string;
}

const requestOf = (): FreezeRequestList => ({
  ...buildFreezeRequestList({
    caseId: 7n,
    exchange: 8,
    caseKey: VECTOR.caseKey,
    nonce: VECTOR.nonce,
    items: VECTOR.items,
  }),
  freezeId: 1n,
});

describe("client: freeze lists", function () {
  describe("leaf encoding (test vector)", function () {
    it("derives the list key from the case key and the nonce", function () {
      expect(freezeListKey(VECTOR.caseKey, VECTOR.nonce)).to.equal(VECTOR.listKey);
      expect(
        hmac(VECTOR.caseKey, `veritrace:freeze-list-key:v1:${VECTOR.nonce.toLowerCase()}`),
      ).to.equal(VECTOR.listKey);
    });

    it("commits each requested item as the documented HMAC string", function () {
      VECTOR.items.forEach((item, i) => {
        const message = `veritrace:freeze-item:v1:${item.chainId}:${item.token.toLowerCase()}:${item.account.toLowerCase()}:${item.amount}`;
        expect(hmac(VECTOR.listKey, message)).to.equal(VECTOR.commitments[i]);
        expect(commitFreezeItem(VECTOR.listKey, item)).to.equal(VECTOR.commitments[i]);
      });
    });

    it("gives the vector's request root, by the library and by hand", function () {
      const list = requestOf();
      expect(list.key).to.equal(VECTOR.listKey);
      expect(list.root).to.equal(VECTOR.root);
      expect(rootByHand(VECTOR.commitments)).to.equal(VECTOR.root);
      expect(FREEZE_LEAF_ENCODING).to.deep.equal(["uint256", "bytes32"]);
    });

    it("commits each answered item and gives the vector's result root", function () {
      const result = buildFreezeResultList(requestOf(), VECTOR.frozen);
      result.items.forEach((item, i) => {
        const message = `veritrace:freeze-result:v1:${item.chainId}:${item.token}:${item.account}:${item.requested}:${item.frozen}`;
        expect(hmac(VECTOR.listKey, message)).to.equal(VECTOR.resultCommitments[i]);
        expect(commitFrozenItem(VECTOR.listKey, item)).to.equal(VECTOR.resultCommitments[i]);
      });
      expect(result.root).to.equal(VECTOR.resultRoot);
      expect(rootByHand(VECTOR.resultCommitments)).to.equal(VECTOR.resultRoot);
      expect(result.listRoot).to.equal(VECTOR.root);
    });

    it("proves one item to a court without the others", function () {
      const list = requestOf();
      const proof = freezeItemProof(list, 1);
      expect(
        StandardMerkleTree.verify(
          list.root,
          FREEZE_LEAF_ENCODING,
          [1n, VECTOR.commitments[1]],
          proof,
        ),
      ).to.equal(true);
    });
  });

  describe("files", function () {
    it("round-trips a request and a result through JSON", function () {
      const request = requestOf();
      const result = buildFreezeResultList(request, VECTOR.frozen);
      expect(parseFreezeList(freezeListJson(request))).to.deep.equal(request);
      expect(parseFreezeList(freezeListJson(result))).to.deep.equal(result);
    });

    it("refuses a file that is not a freeze list, naming the field", function () {
      const text = freezeListJson(requestOf());
      const bad: [string, string][] = [
        ["{", "list"],
        [text.replace("veritrace-freeze-list/1", "v0"), "version"],
        [text.replace('"request"', '"answer"'), "kind"],
        [text.replace('"1000000"', "1000000"), "amount"],
        [text.replace('"key"', '"kee"'), "key"],
      ];
      for (const [t, field] of bad) {
        let error: unknown;
        try {
          parseFreezeList(t);
        } catch (e) {
          error = e;
        }
        expect(error, field).to.be.instanceOf(InputError);
        expect((error as InputError).field).to.equal(field);
      }
    });
  });

  describe("checks against the chain", function () {
    const chain = {
      freezeId: 1n,
      caseId: 7n,
      exchange: 8,
      itemCount: 3,
      listRoot: VECTOR.root,
      resultRoot: VECTOR.resultRoot,
    };

    it("accepts the lists whose roots the chain holds", function () {
      const request = requestOf();
      verifyRequestList(request, chain);
      verifyResultList(buildFreezeResultList(request, VECTOR.frozen), chain);
    });

    it("refuses a request list with a tampered amount or an extra account", function () {
      const request = requestOf();
      const tampered = {
        ...request,
        items: request.items.map((i, k) => (k === 2 ? { ...i, amount: i.amount - 1n } : i)),
      };
      expect(() => verifyRequestList(tampered, chain)).to.throw(
        /^freeze 1: the list's 3 items have root 0x[0-9a-f]{64}; the chain holds 3 items with root 0xba2fc035/,
      );
      const extra = {
        ...request,
        items: [...request.items, { ...VECTOR.items[0], account: `0x${"44".repeat(20)}` }],
      };
      expect(() => verifyRequestList(extra, chain)).to.throw(/the list's 4 items have root/);
      expect(() => verifyRequestList({ ...request, caseId: 8n }, chain)).to.throw(
        /the list is for case 8 and exchange 8, the chain's request for case 7/,
      );
    });

    it("refuses a result list with a changed frozen amount", function () {
      const result = buildFreezeResultList(requestOf(), VECTOR.frozen);
      const changed = {
        ...result,
        items: result.items.map((i, k) => (k === 1 ? { ...i, frozen: 1n } : i)),
      };
      expect(() => verifyResultList(changed, chain)).to.throw(
        /^freeze 1: the result list's items have root 0x[0-9a-f]{64}; the exchange recorded 0x40e9c93c/,
      );
      expect(() => verifyResultList(result, { ...chain, resultRoot: null })).to.throw(
        /no answer is on chain/,
      );
    });
  });
});
