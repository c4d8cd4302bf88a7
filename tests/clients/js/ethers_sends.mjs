// ethers v6 against a real xseqd rollup endpoint (issue 9): 20 concurrent sends with
// explicit nonces from one wallet, a nonce above the current one in estimateGas / call,
// and a contract deployed and called through ethers' ContractFactory.
// Usage: node ethers_sends.mjs <rollup-url> <private-key> <Counter artifact path>
// Prints one JSON object on stdout; any failed assertion exits non-zero.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { ethers } from "ethers";

const [url, key, artifactPath] = process.argv.slice(2);
// cacheTimeout -1: ethers caches identical requests for 250 ms by default, so on a devnet
// that mines instantly a second send right after the first would reuse its pending nonce
// (the same happens against anvil)
const provider = new ethers.JsonRpcProvider(url, undefined, {
  staticNetwork: true,
  pollingInterval: 50,
  cacheTimeout: -1,
});
const wallet = new ethers.Wallet(key, provider);
const to = "0x000000000000000000000000000000000000e7e7";

const network = await provider.getNetwork();
const start = await provider.getTransactionCount(wallet.address, "pending");

// 20 sends at once, nonces given by the caller: ethers estimates each one with its nonce
const sent = await Promise.all(
  Array.from({ length: 20 }, (_, i) =>
    wallet.sendTransaction({ to, value: 1000n + BigInt(i), nonce: start + i }),
  ),
);
const receipts = await Promise.all(sent.map((tx) => tx.wait(1, 20_000)));
for (const r of receipts) assert.equal(r.status, 1);
const nonceAfter = await provider.getTransactionCount(wallet.address, "latest");
assert.equal(nonceAfter, start + 20);
const recipient = await provider.getBalance(to);

// a nonce above the current one in calls is ignored, as geth and anvil do
const ahead = { from: wallet.address, to, value: 1n, nonce: nonceAfter + 7 };
const estimate = await provider.estimateGas(ahead);
const callResult = await provider.call(ahead);

// a contract through ethers' ContractFactory and Contract
const art = JSON.parse(readFileSync(artifactPath, "utf8"));
const factory = new ethers.ContractFactory(art.abi, art.bytecode, wallet);
const counter = await factory.deploy();
await counter.waitForDeployment();
const inc = await counter.increment();
const incReceipt = await inc.wait();
const events = incReceipt.logs.map((l) => counter.interface.parseLog(l)?.name);
const count = await counter.count();
let revertReason = null;
try {
  await counter.fail.staticCall();
} catch (e) {
  revertReason = e.reason;
}

console.log(
  JSON.stringify({
    chainId: Number(network.chainId),
    start,
    nonceAfter,
    blocks: [...new Set(receipts.map((r) => r.blockNumber))].length,
    statuses: receipts.map((r) => r.status),
    recipient: recipient.toString(),
    estimate: estimate.toString(),
    callResult,
    counter: await counter.getAddress(),
    count: count.toString(),
    events,
    revertReason,
  }),
);
