/**
 * Runs the local chain as its own process for demos:
 *   node dist/dev/localchain/main.js [port]
 * then point ESPLORA_URL at the printed URL and drive it with
 *   curl -X POST $URL/regtest/fund -d '{"address":"bcrt1…","sats":"100000"}'
 *   curl -X POST $URL/regtest/mine -d '{"blocks":1}'
 *   curl -X POST $URL/regtest/evict/<txid>   (drop it from the mempool, as after expiry)
 */
import { startLocalChain } from "./server.js";

const USAGE = "usage: node dist/dev/localchain/main.js [port]   (default LOCALCHAIN_PORT or 3002; 0 picks a free port)";
const arg = process.argv[2];
if (arg === "--help" || arg === "-h" || arg === "help") {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const portText = arg ?? process.env.LOCALCHAIN_PORT ?? "3002";
const port = Number(portText);
if (!/^\d+$/.test(portText) || port > 65535) {
  process.stderr.write(`"${portText}" is not a port number.\n${USAGE}\n`);
  process.exit(2);
}
const node = await startLocalChain({ network: "regtest", port });
process.stdout.write(`Local regtest chain (Esplora API) listening on ${node.url}\n`);
// Its Bitcoin Core JSON-RPC face: CHAIN_BACKEND=core BITCOIN_RPC_URL=<url> and these credentials.
process.stdout.write(`Bitcoin Core JSON-RPC on ${node.url}: BITCOIN_RPC_USER=${node.rpcAuth.user} BITCOIN_RPC_PASSWORD=${node.rpcAuth.password}\n`);
const stop = () => void node.close().then(() => process.exit(0));
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
