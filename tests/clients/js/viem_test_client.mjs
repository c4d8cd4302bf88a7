// viem against a real xseqd rollup endpoint (issue 9): the anvil-mode test client
// impersonates an account and sends through eth_sendUnsignedTransaction; simulateContract
// and call with state overrides; getProof checked against the block's state root;
// createAccessList; a callTracer trace through client.request.
// Usage: node viem_test_client.mjs <rollup-url> <chain id> <Counter artifact path>
// Prints one JSON object on stdout; any failed assertion exits non-zero.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  createTestClient,
  defineChain,
  encodeFunctionData,
  http,
  keccak256,
  pad,
  publicActions,
  toHex,
} from "viem";

const [url, chainIdText, artifactPath] = process.argv.slice(2);
const art = JSON.parse(readFileSync(artifactPath, "utf8"));
const chain = defineChain({
  id: Number(chainIdText),
  name: "xseqd",
  nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
  rpcUrls: { default: { http: [url] } },
});
const client = createTestClient({ chain, mode: "anvil", transport: http(url), pollingInterval: 50 }).extend(
  publicActions,
);
const json = (v) => JSON.parse(JSON.stringify(v, (_, x) => (typeof x === "bigint" ? x.toString() : x)));

const whale = "0x00000000000000000000000000000000000a11ce";
const recipient = "0x000000000000000000000000000000000000b0b1";
const counter = "0x000000000000000000000000000000000000c011";
const empty = "0x000000000000000000000000000000000000e3e3";
const slot0 = pad("0x0");

// -- impersonation: an account nobody has the key of sends through the test client ----------
await client.setBalance({ address: whale, value: 10n ** 20n });
await client.impersonateAccount({ address: whale });
const hash = await client.sendUnsignedTransaction({ from: whale, to: recipient, value: 12345n });
const receipt = await client.waitForTransactionReceipt({ hash, timeout: 20_000 });
assert.equal(receipt.status, "success");
assert.equal(receipt.from.toLowerCase(), whale);
await client.stopImpersonatingAccount({ address: whale });
const recipientBalance = await client.getBalance({ address: recipient });
assert.equal(recipientBalance, 12345n);

// -- a contract put in place with the test client --------------------------------------------
await client.setCode({ address: counter, bytecode: art.deployedBytecode });
await client.setStorageAt({ address: counter, index: slot0, value: pad(toHex(3)) });
const count = await client.readContract({ address: counter, abi: art.abi, functionName: "count" });
assert.equal(count, 3n);

// -- state overrides -------------------------------------------------------------------------
const diff = [{ address: counter, stateDiff: [{ slot: slot0, value: pad(toHex(41)) }] }];
const simulated = await client.simulateContract({
  address: counter,
  abi: art.abi,
  functionName: "count",
  stateOverride: diff,
});
assert.equal(simulated.result, 41n);
// a contract that exists only in the override (code + full state), called by raw calldata
const called = await client.call({
  to: empty,
  data: encodeFunctionData({ abi: art.abi, functionName: "count" }),
  stateOverride: [{ address: empty, code: art.deployedBytecode, state: [{ slot: slot0, value: pad(toHex(7)) }] }],
});
assert.equal(BigInt(called.data), 7n);
// a sender with no ether, given some by a balance override, simulates a payable transfer
const poor = "0x000000000000000000000000000000000000f00d";
const withBalance = await client.call({
  account: poor,
  to: recipient,
  value: 10n ** 18n,
  stateOverride: [{ address: poor, balance: 2n * 10n ** 18n }],
});
assert.equal(withBalance.data, undefined);
let withoutBalance = null;
try {
  await client.call({ account: poor, to: recipient, value: 10n ** 18n });
} catch (e) {
  withoutBalance = e.shortMessage ?? e.message;
}
assert.ok(withoutBalance, "a transfer without funds must fail without the override");
// the custom error comes back decoded (revert data intact), still under an override
let customError = null;
try {
  await client.simulateContract({
    account: whale,
    address: counter,
    abi: art.abi,
    functionName: "add",
    args: [2000n],
    stateOverride: diff,
  });
} catch (e) {
  customError = e.cause?.data?.errorName ?? null;
}
assert.equal(customError, "TooLarge");
// nothing of the overrides stuck
assert.equal(await client.readContract({ address: counter, abi: art.abi, functionName: "count" }), 3n);
assert.equal(await client.getBytecode({ address: empty }), undefined);

// -- eth_getProof: the proof's first node hashes to the block's state root ----------------------
const block = await client.getBlock({ blockTag: "latest" });
const proof = await client.getProof({ address: counter, storageKeys: [slot0], blockNumber: block.number });
assert.equal(keccak256(proof.accountProof[0]), block.stateRoot);
assert.equal(proof.storageProof[0].value, 3n);
assert.equal(keccak256(proof.storageProof[0].proof[0]), proof.storageHash);
assert.equal(proof.codeHash, keccak256(art.deployedBytecode));

// -- eth_createAccessList ----------------------------------------------------------------------
const access = await client.createAccessList({
  account: whale,
  to: counter,
  data: encodeFunctionData({ abi: art.abi, functionName: "increment" }),
});
const entry = access.accessList.find((e) => e.address.toLowerCase() === counter);
assert.ok(entry, JSON.stringify(json(access)));
assert.ok(entry.storageKeys.includes(slot0));

// -- a call trace through client.request (geth's callTracer shape) ----------------------------
const trace = await client.request({
  method: "debug_traceTransaction",
  params: [hash, { tracer: "callTracer" }],
});
assert.equal(trace.type, "CALL");
assert.equal(trace.from.toLowerCase(), whale);
assert.equal(BigInt(trace.value), 12345n);

console.log(
  JSON.stringify(
    json({
      hash,
      block: receipt.blockNumber,
      from: receipt.from,
      recipientBalance,
      simulated: simulated.result,
      called: called.data,
      withoutBalance,
      customError,
      stateRoot: block.stateRoot,
      proofNodes: proof.accountProof.length,
      accessList: access.accessList,
      accessGas: access.gasUsed,
      trace,
    }),
  ),
);
