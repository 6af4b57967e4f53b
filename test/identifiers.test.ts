import { expect } from "chai";
import {
  IBAN_LENGTHS,
  InputError,
  cnResidentIdCheckDigit,
  ibanChecksumOk,
  normalizeBankAccount,
  normalizeNationalId,
  normalizePhone,
  requireDefaultCountry,
} from "../src/client/index.js";
import { IdentifierSet } from "../src/matching/identifiers.js";

/** [input, default country or undefined, E.164]. */
type PhoneCase = [string, string | undefined, string];

function expectPhones(cases: readonly PhoneCase[]): void {
  for (const [input, country, expected] of cases)
    expect(normalizePhone(input, country), `${input} (${country ?? "no default"})`).to.equal(
      expected,
    );
}

function expectRefused(fn: () => unknown, pattern: RegExp): void {
  expect(fn).to.throw(InputError, pattern);
}

describe("identifiers: phone numbers", function () {
  it("drops a trunk prefix written after the country code, as (0) or as 0", function () {
    expectPhones([
      ["+49 (0)30 1234567", undefined, "+49301234567"],
      ["+49 030 1234567", undefined, "+49301234567"],
      ["+44 (0)20 7946 0958", undefined, "+442079460958"],
      ["0044 (0)20 7946 0958", undefined, "+442079460958"],
      ["+36 06 1 234 5678", undefined, "+3612345678"],
      ["+7 8 495 123 45 67", undefined, "+74951234567"],
    ]);
  });

  it("drops each country's own national trunk prefix (0, 8 in Russia, 06 in Hungary)", function () {
    expectPhones([
      ["030 901820", "DE", "+4930901820"],
      ["030 901820", "49", "+4930901820"],
      ["020 7946 0958", "GB", "+442079460958"],
      ["8 (495) 123-45-67", "RU", "+74951234567"],
      ["8 (495) 123-45-67", "7", "+74951234567"],
      ["06 1 234 5678", "HU", "+3612345678"],
      ["06 1 234 5678", "36", "+3612345678"],
    ]);
  });

  it("keeps a leading 0 that belongs to the number (Italy has no trunk prefix)", function () {
    expectPhones([
      ["06 6982 1234", "IT", "+390669821234"],
      ["06 6982 1234", "39", "+390669821234"],
      ["+39 06 6982 1234", undefined, "+390669821234"],
      ["0039 06 6982 1234", undefined, "+390669821234"],
    ]);
  });

  it("writes a mainland China mobile number one way in all its usual forms", function () {
    const forms: [string, string | undefined][] = [
      ["+86 138 0013 8000", undefined],
      ["0086 13800138000", undefined],
      ["+86-138-0013-8000", undefined],
      ["138-0013-8000", "CN"],
      ["138 0013 8000", "86"],
      ["86-138-0013-8000", "CN"],
      ["86-138-0013-8000", "86"],
      ["(86) 138 0013 8000", "86"],
    ];
    expectPhones(forms.map(([input, c]) => [input, c, "+8613800138000"]));
    const set = IdentifierSet.fromList(
      "phone",
      forms.filter(([, c]) => c !== "86").map(([input]) => input),
      { defaultCountryCode: "CN" },
    );
    expect(set.values).to.deep.equal(["+8613800138000"]);
    expect(set.duplicates).to.equal(4);
  });

  it("reads full-width digits and signs as their ASCII forms", function () {
    expectPhones([["＋８６　１３８　００１３　８０００", undefined, "+8613800138000"]]);
  });

  it("refuses a number in none of its country's number ranges, naming the country", function () {
    expectRefused(() => normalizePhone("+1 213 073 4253"), /^phone: .*not a number of \+1/);
    expectRefused(() => normalizePhone("+86 238 0013 8000"), /^phone: .*not a number of CN/);
    expectRefused(() => normalizePhone("+49 12"), /^phone: .*wrong number of digits for DE/);
  });

  it("refuses a national number without a default country, and a country code that does not exist", function () {
    expectRefused(() => normalizePhone("030 901820"), /^phone: "030 901820" has no country code/);
    expectRefused(() => normalizePhone("+999 1234567"), /no country calling code that exists/);
  });

  it("refuses an empty number, letters and a + anywhere but first", function () {
    expectRefused(() => normalizePhone("  "), /^phone: is empty$/);
    for (const s of ["+49 30 CALL ME", "+49 30 901820 ext. 12", "49+30901820"])
      expectRefused(() => normalizePhone(s), /^phone: .*characters other than digits/);
  });

  it("takes the default country as an ISO code or a calling code, and nothing else", function () {
    expect(requireDefaultCountry("de")).to.equal("DE");
    expect(requireDefaultCountry("86")).to.equal("86");
    for (const bad of ["XX", "999", "0", "DEU", ""])
      expectRefused(() => requireDefaultCountry(bad), /^defaultCountryCode: /);
    expectRefused(() => normalizePhone("030 901820", "999"), /^defaultCountryCode: "999"/);
  });
});

describe("identifiers: bank accounts", function () {
  it("reads an IBAN written with its IBAN prefix as an IBAN", function () {
    for (const s of [
      "IBAN DE89 3704 0044 0532 0130 00",
      "iban: de89 3704 0044 0532 0130 00",
      "IBAN:DE89370400440532013000",
    ])
      expect(normalizeBankAccount(s), s).to.equal("DE89370400440532013000");
  });

  it("refuses the IBAN prefix before something that is no IBAN", function () {
    expectRefused(
      () => normalizeBankAccount("IBAN 0532 0130 00"),
      /^bankAccount: .*not an IBAN: does not start with a country code/,
    );
  });

  it("refuses an IBAN whose length is wrong for its country although mod 97 passes", function () {
    for (const [s, length] of [
      ["DE51 3704 0044 0532 0130 0", 21],
      ["DE98 3704 0044 0532 0130 0000", 24],
    ] as const) {
      expect(ibanChecksumOk(s.replace(/ /g, "")), `${s} passes mod 97`).to.equal(true);
      expectRefused(
        () => normalizeBankAccount(s),
        new RegExp(`not an IBAN: has ${length} characters; an IBAN of DE has 22$`),
      );
    }
  });

  it("refuses an IBAN of a country that issues none, and one whose check fails", function () {
    expectRefused(
      () => normalizeBankAccount("XX12 3456 7890"),
      /XX is not a country that issues IBANs/,
    );
    expectRefused(
      () => normalizeBankAccount("DE88 3704 0044 0532 0130 00"),
      /fails the IBAN check/,
    );
  });

  it("accepts the SWIFT registry's example IBANs of lengths 15 to 33", function () {
    for (const iban of [
      "NO9386011117947",
      "BE68539007547034",
      "NL91ABNA0417164300",
      "CH9300762011623852957",
      "GB29NWBK60161331926819",
      "ES9121000418450200051332",
      "FR1420041010050500013M02606",
      "IT60X0542811101000000123456",
      "MT84MALT011000012345MTLCAST001S",
      "LC55HEMM000100010012001200023015",
      "RU0304452522540817810538091310419",
    ]) {
      expect(normalizeBankAccount(iban), iban).to.equal(iban);
      expect(IBAN_LENGTHS[iban.slice(0, 2)], iban).to.equal(iban.length);
    }
  });

  it("lists the registry's 89 countries, each with a length between 15 and 34", function () {
    const entries = Object.entries(IBAN_LENGTHS);
    expect(entries).to.have.length(89);
    for (const [country, length] of entries) {
      expect(country).to.match(/^[A-Z]{2}$/);
      expect(length).to.be.within(15, 34);
    }
  });

  it("keeps other account numbers as written, upper case, without separators", function () {
    expect(normalizeBankAccount("0532-0130-00")).to.equal("0532013000");
    expect(normalizeBankAccount("6222 0212 3456 7890 128")).to.equal("6222021234567890128");
    expectRefused(() => normalizeBankAccount("12#34"), /^bankAccount: .*not an account number/);
  });
});

describe("identifiers: national ID numbers", function () {
  it("computes the GB 11643 check digit (the standard's examples)", function () {
    expect(cnResidentIdCheckDigit("11010519491231002")).to.equal("X");
    expect(cnResidentIdCheckDigit("44052418800101001")).to.equal("4");
  });

  it("accepts a Chinese resident ID number with its check digit, x or X", function () {
    for (const s of ["11010519491231002X", "110105 19491231 002x", "440524188001010014"])
      expect(normalizeNationalId(s), s).to.equal(s.replace(/ /g, "").toUpperCase());
  });

  it("refuses a Chinese resident ID number whose check digit is wrong (a typo)", function () {
    for (const [s, got, expected] of [
      ["110105194912310021", "1", "X"],
      ["11010519491231003X", "X", "8"],
      ["440524188001010015", "5", "4"],
    ] as const) {
      expectRefused(
        () => normalizeNationalId(s),
        new RegExp(`GB 11643\\): its check digit is ${got}, the first 17 digits give ${expected}$`),
      );
    }
  });

  it("converts a 15-digit first-generation number to its 18 characters", function () {
    expect(normalizeNationalId("110105491231002")).to.equal("11010519491231002X");
    expect(normalizeNationalId("440524800101001")).to.equal("440524198001010013");
  });

  it("counts both generations of one card as one identifier", function () {
    const set = IdentifierSet.fromList("nationalId", ["11010519491231002X", "110105491231002"]);
    expect(set.values).to.deep.equal(["11010519491231002X"]);
    expect(set.duplicates).to.equal(1);
  });

  it("refuses a resident ID number whose birth date is no date", function () {
    expectRefused(
      () => normalizeNationalId("11010519491331002X"),
      /birth date 19491331 is not a date/,
    );
    expectRefused(
      () => normalizeNationalId("110105490229002"),
      /birth date 19490229 is not a date/,
    );
  });

  it("keeps other national ID numbers as written, upper case, without separators", function () {
    expect(normalizeNationalId(" t22-000.129 ")).to.equal("T22000129");
    expectRefused(() => normalizeNationalId("A1"), /^nationalId: .*not an ID number/);
  });
});
