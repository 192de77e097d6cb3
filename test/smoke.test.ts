import * as ecc from "tiny-secp256k1";
import * as bitcoin from "bitcoinjs-lib";
import { PGlite } from "@electric-sql/pglite";
import nock from "nock";
test("toolchain", async () => {
  bitcoin.initEccLib(ecc);
  expect(bitcoin.address.toOutputScript("bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080", bitcoin.networks.regtest).length).toBe(22);
  const db = await PGlite.create();
  const r = await db.query<{ x: bigint }>("select 9007199254740993::int8 as x");
  console.log(typeof r.rows[0].x, r.rows[0].x);
  nock.disableNetConnect();
});
