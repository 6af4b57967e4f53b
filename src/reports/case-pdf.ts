/**
 * The case report as a PDF, in English or Simplified Chinese: the case, its chain of custody,
 * the signature and Merkle checks, and how to verify it all. Every word comes from the tables of
 * i18n.ts; hashes, keys and numbers are printed whole, in a mono font, never shortened.
 */
import type { CustodyEntry } from "../ledger/queries.js";
import type { CaseEvidence } from "./case-evidence.js";
import { lookup, translator, type Lang, type MessageKey } from "./i18n.js";
import { renderPdf, type Doc } from "./pdf.js";

const isoTime = (seconds: number): string =>
  new Date(seconds * 1000).toISOString().replace(".000Z", "Z");

/** Detail fields that hold a time (seconds since 1970), shown as ISO 8601 UTC. */
const TIMES = new Set(["expiresAt", "newExpiry", "replacedExpiry", "previousExpiry"]);

const GREY = "#555555";
const RED = "#b00020";

/** The PDF of a case report in `lang`, made at `createdAt` (the only input besides `evidence`). */
export function caseReportPdf(
  evidence: CaseEvidence,
  lang: Lang,
  createdAt: Date,
): Promise<Buffer> {
  const t = translator(lang);
  return renderPdf({
    lang,
    title: `${t("title")} ${evidence.case.caseId}`,
    createdAt,
    draw: (doc) => new CaseLayout(doc, lang, evidence).draw(),
  });
}

class CaseLayout {
  private readonly t: (key: MessageKey) => string;
  constructor(
    private readonly doc: Doc,
    private readonly lang: Lang,
    private readonly e: CaseEvidence,
  ) {
    this.t = translator(lang);
  }

  draw(): void {
    const { doc, t, e } = this;
    doc
      .font("bold")
      .fontSize(20)
      .text(`${t("title")} ${e.case.caseId}`);
    doc.font("body").fontSize(10).fillColor(GREY).text(t("subtitle")).fillColor("black");
    doc.moveDown();
    this.caseSection();
    this.custodySection();
    this.checksSection();
    this.verifySection();
    this.footers();
  }

  private heading(key: MessageKey): void {
    this.doc.moveDown(0.8).font("bold").fontSize(14).fillColor("black").text(this.t(key));
    this.doc.moveDown(0.3);
  }

  /**
   * "label: value", the value in the mono font when it is a hash, key or number: never when it
   * holds a letter the mono font lacks (a Chinese word would show as empty boxes).
   */
  private field(label: string, value: string, mono = false, indent = 0): void {
    const { doc } = this;
    doc
      .font("body")
      .fontSize(9)
      .fillColor(GREY)
      .text(`${label}${this.t("colon")}`, doc.page.margins.left + indent, undefined, {
        continued: true,
      });
    doc
      .fillColor("black")
      .font(mono && /^[\x20-\x7e]*$/.test(value) ? "mono" : "body")
      .text(value);
    doc.x = doc.page.margins.left;
  }

  private word(key: string, fallback: string): string {
    return lookup(this.lang, key) ?? fallback;
  }

  private institution(id: number | null, kind: string | null): string {
    if (id === null) return this.t("none");
    return `${this.t("institution")} ${id}${kind === null || kind === "" ? "" : ` (${kind})`}`;
  }

  private caseSection(): void {
    const { t, e } = this;
    const c = e.case;
    this.heading("caseSection");
    this.field(t("caseId"), c.caseId, true);
    this.field(t("status"), this.word(`status.${c.status}`, c.status));
    this.field(t("caseNumberCommitment"), c.caseNumberCommitment, true);
    this.field(t("legalBasisCommitment"), c.legalBasisCommitment, true);
    this.field(t("scope"), c.scope.map((k) => this.word(`kind.${k}`, k)).join(", "));
    this.field(t("openedAt"), e.openedAt === null ? t("none") : isoTime(e.openedAt), true);
    this.field(t("expiresAt"), isoTime(c.expiresAt), true);
    this.field(t("closedAt"), e.closedAt === null ? t("notClosed") : isoTime(e.closedAt), true);
    this.field(t("opener"), this.institution(c.opener, this.kindOf(c.opener)));
    this.field(
      t("approver"),
      c.approver === null
        ? t("notApproved")
        : this.institution(c.approver, this.kindOf(c.approver)),
    );
    this.field(
      t("parties"),
      e.parties
        .map(
          (p) =>
            `${this.institution(p.id, p.kind)}: ${p.steps.map((s) => this.word(`step.${s}`, s)).join(", ")}`,
        )
        .join("; "),
    );
    this.field(t("chain"), String(e.chainId), true);
    this.field(
      t("ledgerContracts"),
      `CaseRegistry ${e.contracts.CaseRegistry}, AccessLedger ${e.contracts.AccessLedger}, ` +
        `AccessLogAnchor ${e.contracts.AccessLogAnchor}, ParticipantRegistry ${e.contracts.ParticipantRegistry}`,
      true,
    );
    this.field(t("indexedTo"), e.indexedTo === null ? t("none") : String(e.indexedTo), true);
    this.field(t("stepCount"), String(c.custody.length), true);
    this.field(t("contentDigest"), e.digest, true);
  }

  private kindOf(id: number): string | null {
    return this.e.parties.find((p) => p.id === id)?.kind ?? null;
  }

  private custodySection(): void {
    this.heading("custodySection");
    this.e.case.custody.forEach((entry, i) => this.step(i + 1, entry));
  }

  private step(n: number, s: CustodyEntry): void {
    const { doc, t } = this;
    // A step is not split over two pages when it fits on one.
    if (doc.y > doc.page.height - doc.page.margins.bottom - 110) doc.addPage();
    doc
      .moveDown(0.4)
      .font("bold")
      .fontSize(10)
      .fillColor("black")
      .text(`${n}. ${this.word(`step.${s.step}`, s.step)}`, doc.page.margins.left, undefined, {
        continued: true,
      })
      .font("mono")
      .fontSize(9)
      .text(`   ${isoTime(s.time)}`);
    const indent = 14;
    this.field(t("institution"), this.institution(s.institution, s.institutionKind), false, indent);
    this.field(t("signingKey"), s.signer ?? t("none"), true, indent);
    this.field(t("tx"), s.txHash, true, indent);
    this.field(t("blockLog"), `${s.blockNumber} / ${s.logIndex}`, true, indent);
    if (s.requestId !== null) this.field(t("request"), s.requestId, true, indent);
    for (const [key, value] of Object.entries(s.details)) {
      if (value === undefined || value === null) continue;
      this.field(
        this.word(`detail.${key}`, key),
        this.value(key, value),
        typeof value === "number" ||
          (typeof value === "string" && /^(0x[0-9a-fA-F]*|\d+)$/.test(value)),
        indent,
      );
    }
  }

  /** A detail's value as shown: times in ISO 8601, data kinds and lists in words. */
  private value(key: string, value: unknown): string {
    if (TIMES.has(key)) return isoTime(Number(value));
    if (key === "scope" && Array.isArray(value))
      return value.map((k) => this.word(`kind.${String(k)}`, String(k))).join(", ");
    if (key === "dataKind") return this.word(`kind.${String(value)}`, String(value));
    return typeof value === "object" ? JSON.stringify(value) : String(value);
  }

  private checksSection(): void {
    const { doc, t, e } = this;
    this.heading("checksSection");
    doc.font("bold").fontSize(10).text(t("deliverySignatures"));
    if (e.deliveries.length === 0) doc.font("body").fontSize(9).text(t("noDeliveries"));
    for (const d of e.deliveries) {
      // A delivery's two checks stay on one page with it.
      if (doc.y > doc.page.height - doc.page.margins.bottom - 130) doc.addPage();
      doc
        .moveDown(0.3)
        .font("body")
        .fontSize(9)
        .text(`${t("delivery")} ${d.deliveryId} (${t("request")} ${d.requestId}, ${t("tx")} `, {
          continued: true,
        })
        .font("mono")
        .text(d.txHash, { continued: true })
        .font("body")
        .text(")");
      for (const role of ["provider", "requester"] as const) {
        const r = d[role];
        doc
          .font("bold")
          .fillColor(r.valid ? "black" : RED)
          .text(`  ${t(role)}${t("colon")}${r.valid ? t("valid") : t("invalid")}`, {
            continued: true,
          })
          .font("body")
          .fillColor("black")
          .text(`  ${this.institution(r.institution, this.kindOf(r.institution))}`);
        this.field(t("signingKey"), r.signer, true, 14);
        this.field(t("recovered"), r.recovered ?? t("none"), true, 14);
        this.field(
          t("keyOfInstitution"),
          r.signerIsKeyOfInstitution ? t("yes") : t("no"),
          false,
          14,
        );
      }
    }
    if (e.deliveries.length > 0) {
      const ok = e.deliveries.every((d) => d.valid);
      doc
        .moveDown(0.3)
        .font("bold")
        .fillColor(ok ? "black" : RED)
        .text(ok ? t("signaturesAllValid") : t("signaturesFailed"))
        .fillColor("black");
    }
    doc.moveDown(0.6).font("bold").fontSize(10).text(t("merkleRoots"));
    if (e.anchors.length === 0) doc.font("body").fontSize(9).text(t("noAnchors"));
    for (const a of e.anchors) {
      doc
        .moveDown(0.3)
        .font("body")
        .fontSize(9)
        .text(
          `${t("anchor")} ${a.anchorId}: ${this.institution(a.institution, a.institution === null ? null : this.kindOf(a.institution))}, ${a.entryCount} ${t("entries")}`,
        );
      this.field(t("root"), a.root, true, 14);
      this.field(t("tx"), a.txHash, true, 14);
    }
    if (e.anchors.length > 0)
      doc.moveDown(0.3).font("body").fontSize(9).text(t("merkleNotChecked"));
  }

  private verifySection(): void {
    const { doc, t } = this;
    this.heading("verifySection");
    doc.font("body").fontSize(9).text(t("verifyIntro"));
    const steps: MessageKey[] = [
      "verifyStep1",
      "verifyStep2",
      "verifyStep3",
      "verifyStep4",
      "verifyStep5",
    ];
    steps.forEach((key, i) => doc.moveDown(0.3).text(`${i + 1}. ${t(key)}`, { indent: 0 }));
  }

  /** "Veritrace case report N · page i of n" at the foot of every page. */
  private footers(): void {
    const { doc, t, e } = this;
    const range = doc.bufferedPageRange();
    for (let i = range.start; i < range.start + range.count; i++) {
      doc.switchToPage(i);
      const bottom = doc.page.margins.bottom;
      // Written inside the bottom margin, which must not push the text onto a new page.
      doc.page.margins.bottom = 0;
      doc
        .font("body")
        .fontSize(8)
        .fillColor(GREY)
        .text(
          `${t("footer")} ${e.case.caseId} · ${t("page")
            .replace("{i}", String(i + 1))
            .replace("{n}", String(range.count))}`,
          doc.page.margins.left,
          doc.page.height - 36,
          {
            width: doc.page.width - doc.page.margins.left - doc.page.margins.right,
            align: "center",
            lineBreak: false,
          },
        );
      doc.page.margins.bottom = bottom;
    }
  }
}
