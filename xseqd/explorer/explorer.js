// xseqd explorer: a single page over the daemon's own JSON-RPC (no build step, no CDN).
// Routes live in the URL fragment: #/ · #/slot/N · #/bundle/H · #/tx/H · #/message/ID ·
// #/address/CHAIN/ADDR · #/search/TEXT. Deposits and encrypted items (sealed commit, reveal)
// are shown on the slot and item (#/bundle/H) pages. New slots arrive over the rollup WebSocket
// (eth_subscribe newHeads); L1 status (safe/finalized) is re-read every few seconds.
"use strict";

const view = document.getElementById("view");
const live = document.getElementById("live");
const state = { chainIds: [], route: "", known: new Set(), refreshing: false, html: "" };
document.getElementById("rpc-url").textContent = location.origin + "/";

// -- JSON-RPC ----------------------------------------------------------------------------

let nextId = 1;
async function rpc(method, params = [], path = "/") {
  const res = await fetch(path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: nextId++, method, params }),
  });
  const body = await res.json();
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result;
}

// -- formatting --------------------------------------------------------------------------

const esc = (s) =>
  String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
const num = (q) => (q == null ? null : typeof q === "number" ? q : parseInt(q, 16));
const short = (h, n = 6) => (h && h.length > 2 * n + 4 ? `${h.slice(0, n + 2)}…${h.slice(-n + 2)}` : h || "");
const fmtInt = (q) => (q == null ? "–" : num(q).toLocaleString("en-US"));
function eth(q) {
  if (q == null) return "–";
  const wei = BigInt(q);
  const whole = wei / 10n ** 18n;
  let frac = (wei % 10n ** 18n).toString().padStart(18, "0").replace(/0+$/, "").slice(0, 6);
  return `${whole.toLocaleString("en-US")}${frac ? "." + frac : ""} ETH`;
}
function age(ts) {
  const s = Math.max(0, Math.round(Date.now() / 1000 - num(ts)));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return new Date(num(ts) * 1000).toISOString().slice(0, 16).replace("T", " ");
}
const chainClass = (cid) => `k${Math.max(0, state.chainIds.indexOf(cid)) % 4}`;
const chain = (cid) => `<span class="chain ${chainClass(cid)}">${esc(cid)}</span>`;
const badge = (text, cls = text) => `<span class="badge ${esc(cls)}">${esc(text)}</span>`;
const link = (href, text, test = "") =>
  `<a href="${esc(href)}"${test ? ` data-test="${esc(test)}"` : ""}>${text}</a>`;
const slotLink = (n, test = "slot-link") => link(`#/slot/${num(n)}`, `slot ${num(n)}`, test);
const txLink = (h, test = "tx-link") => link(`#/tx/${h}`, `<span class="hash">${esc(short(h))}</span>`, test);
const addrLink = (cid, a) => (a ? link(`#/address/${cid}/${a}`, `<span class="hash">${esc(short(a))}</span>`, "address-link") : "–");
const statusOf = (q) => (q == null ? "" : num(q) === 1 ? badge("success", "ok") : badge("reverted", "bad"));
function l1Badge(l1) {
  if (!l1) return badge("no L1", "pending");
  const tx = l1.txHash ? ` <span class="small hash" title="${esc(l1.txHash)}">${esc(short(l1.txHash, 4))}</span>` : "";
  const at = l1.l1Block ? ` <span class="small">@${num(l1.l1Block)}</span>` : "";
  return badge(l1.status === "pending" ? "sealed" : l1.status) + at + tx;
}
const kv = (pairs) =>
  `<dl class="grid-kv">${pairs.filter(Boolean).map(([k, v]) => `<dt>${esc(k)}</dt><dd>${v}</dd>`).join("")}</dl>`;
const notFound = (what) => `<h1>Not found</h1><p class="empty">${esc(what)} is not known to this devnet.</p>`;

// -- pages -------------------------------------------------------------------------------

async function home() {
  const r = await rpc("xseq_recentSlots", [{ count: 25 }]);
  state.chainIds = r.chainIds;
  const l1 = r.l1;
  const l1Card = l1
    ? `<div class="card stats" data-test="l1-status">
        <div class="stat"><b>${fmtInt(r.head)}</b><span>latest slot</span></div>
        <div class="stat"><b>${fmtInt(l1.postedThrough)}</b><span>safe on L1</span></div>
        <div class="stat"><b>${fmtInt(l1.finalizedThrough)}</b><span>finalized</span></div>
        <div class="stat"><b>${fmtInt(l1.backlog)}</b><span>backlog</span></div>
        <div class="stat"><b>${fmtInt(l1.l1Head)}</b><span>L1 block</span></div>
        <div class="stat"><b>${fmtInt(l1.invalidations)}</b><span>invalidations</span></div>
        ${l1.lastError ? `<div class="stat error">${esc(l1.lastError)}</div>` : ""}
        ${l1.portal ? `<div class="stat wide" data-test="l1-portal"><b class="hash" title="${esc(l1.portal)}">${esc(l1.portal)}</b><span>L1 Portal (deposits, withdrawals)</span></div>` : ""}
      </div>`
    : `<div class="card stats" data-test="l1-status"><div class="stat"><b>${fmtInt(r.head)}</b><span>latest slot</span></div>
       <div class="stat"><b>–</b><span>no L1 settlement (--l1-rpc none)</span></div></div>`;
  const heads = r.chainIds.map((c) => `<th>${chain(c)} rollup</th>`).join("");
  const rows = r.slots
    .map((s) => {
      const n = num(s.number);
      const fresh = state.known.size && !state.known.has(n) ? " fresh" : "";
      const cols = s.rollups
        .map(
          (b) => `<td data-label="${esc(b.chainId)}"><span class="hash" title="${esc(b.blockHash)}">${esc(short(b.blockHash, 4))}</span><br>
            <span class="small">${b.txCount} tx · ${fmtInt(b.gasUsed)} gas</span></td>`,
        )
        .join("");
      const what = [
        s.bundles ? badge(`${s.bundles} bundle${s.bundles > 1 ? "s" : ""}`, "info") : "",
        s.deposits ? badge(`${s.deposits} deposit${s.deposits > 1 ? "s" : ""}`, "deposit") : "",
        s.encrypted ? badge(`${s.encrypted} encrypted`, "encrypted") : "",
        s.aborted ? badge(`${s.aborted} aborted`, "aborted") : "",
        s.messages ? badge(`${s.messages} msg`, "delivered") : "",
        s.invalidated ? badge(`${s.invalidated} invalidated`, "invalidated") : "",
      ].join(" ");
      return `<tr class="slot-row${fresh}" data-slot="${n}">
        <td data-label="slot">${slotLink(n, "slot-row-link")}<br><span class="small">${age(s.timestamp)}</span></td>
        ${cols}<td data-label="items">${s.items} item${s.items === 1 ? "" : "s"} ${what}</td>
        <td data-label="L1">${n === 0 ? badge("genesis", "info") : l1Badge(s.l1)}</td></tr>`;
    })
    .join("");
  state.known = new Set(r.slots.map((s) => num(s.number)));
  return `<h1>Latest slots <span class="sub">one block per rollup, sealed together</span></h1>${l1Card}
    <div class="table-wrap"><table class="slots" data-test="slots"><thead><tr><th>slot</th>${heads}<th>items</th><th>L1</th></tr></thead>
    <tbody>${rows || `<tr><td colspan="9" class="empty">No slots yet: send a transaction.</td></tr>`}</tbody></table></div>`;
}

function legCard(leg, i, itemStatus) {
  // a leg of a dropped bundle is on no rollup, even if it ran before the failing one
  const dropped = itemStatus === "aborted" || itemStatus === "invalidated";
  const ran = leg.status == null ? "" : ` <span class="small">ran: ${num(leg.status) === 1 ? "success" : "reverted"}</span>`;
  const st = dropped ? badge("not included", "aborted") + ran : statusOf(leg.status);
  return `<div class="leg" data-test="leg" data-chain="${esc(leg.chainId)}">
    <div class="row"><span class="small">leg ${i}</span> ${chain(leg.chainId)} ${txLink(leg.txHash, "leg-link")} ${st}</div>
    ${leg.gasUsed ? `<div class="small">${fmtInt(leg.gasUsed)} gas</div>` : ""}</div>`;
}

function abortBox(a) {
  if (!a) return "";
  return `<div class="reason" data-test="abort-reason"><b>Aborted at leg ${a.leg}</b> (${chain(a.chainId)}, ${esc(a.kind)}): ${esc(a.reason)}
    ${a.data && a.data !== "0x" ? `<div class="small mono">revert data ${esc(short(a.data, 10))}</div>` : ""}</div>`;
}

function messageLines(msgs) {
  if (!msgs || !msgs.length) return "";
  return `<div class="msgs">${msgs
    .map(
      (m) => `<div>${link(`#/message/${m.id}`, `message ${esc(short(m.id))}`, "message-link")} ${chain(m.source)} → ${chain(m.destination)}
        ${badge("delivered")} <span class="small">delivery</span> ${txLink(m.deliveryTx, "delivery-link")}</div>`,
    )
    .join("")}</div>`;
}

// what an item is, in words: deposits and the two phases of an encrypted item by name
function kindLabel(it) {
  if (it.kind === "deposit") return "L1 deposit";
  if (it.kind === "encrypted") return it.encrypted && it.encrypted.phase === "reveal" ? "encrypted (revealed)" : "encrypted (sealed)";
  return it.kind;
}
const phaseOf = (it) => (it.kind === "encrypted" ? (it.encrypted && it.encrypted.phase) || "commit" : "");

function tokenAmount(q) {
  return eth(q).replace(/ ETH$/, "");
}

// an L1 deposit: where it is on L1, who sent what to whom, the system call that applied it
function depositBox(d, systemTx) {
  if (!d) return "";
  const t = d.token;
  return `<div class="deposit-box" data-test="deposit">${kv([
    ["L1 transaction", `<span class="hash" data-test="l1-tx">${esc(d.l1TxHash)}</span>`],
    ["log index", `<span data-test="log-index">${esc(d.logIndex)}</span> <span class="small">(Portal deposit #${esc(d.index)}, L1 block ${esc(d.l1Block)})</span>`],
    ["depositor", `<span class="hash" data-test="depositor">${esc(t ? t.from : d.sender)}</span> <span class="small">on L1</span>`],
    ["target rollup", chain(d.chainId)],
    ["recipient", `<span data-test="recipient">${addrLink(d.chainId, t ? t.to : d.target)}</span>`],
    ["value", `<span data-test="value">${eth(d.value)}</span>`],
    t ? ["token", `<span data-test="token">${tokenAmount(t.amount)} of ${addrLink(d.chainId, t.address)}</span> <span class="small">(Portal ERC-20 deposit, relayed by the TokenBridge)</span>`] : null,
    !t && d.data && d.data !== "0x" ? ["call data", `<span class="hash">${esc(short(d.data, 16))}</span> <span class="small">${(d.data.length - 2) / 2} bytes</span>`] : null,
    ["rollup transaction", systemTx ? `${txLink(systemTx, "system-tx-link")} <span class="small">system call Mailbox.receiveDeposit</span>` : "–"],
  ])}</div>`;
}

// an encrypted item: its ciphertext (never its content while sealed) and commit <-> reveal
function encryptedBox(e) {
  if (!e) return "";
  const reveal = e.reveal
    ? `<span data-test="reveal-link">${link(`#/slot/${num(e.reveal.slot)}`, `revealed in slot ${num(e.reveal.slot)}`, "reveal-link")}</span> · #${num(e.reveal.index)} ${badge(e.reveal.status)}`
    : `<span class="small" data-test="not-revealed">not revealed yet: content hidden until keypers release slot ${num(e.commit ? e.commit.slot : 0)}'s decryption shares</span>`;
  const commit = e.commit ? link(`#/slot/${num(e.commit.slot)}`, `committed in slot ${num(e.commit.slot)}`, "commit-link") + ` · #${num(e.commit.index)}` : "–";
  return `<div class="encrypted-box" data-test="encrypted">${kv([
    ["ciphertext", `<span class="hash" data-test="ciphertext-hash">${esc(e.ciphertextHash)}</span> <span class="small" data-test="ciphertext-size">${fmtInt(e.ciphertextSize)} bytes</span>`],
    e.maxSlot ? ["valid through", `slot ${num(e.maxSlot)}`] : null,
    e.phase === "reveal" ? ["commit", commit] : ["reveal", reveal],
  ])}</div>`;
}

function itemCard(it) {
  const kind = it.kind;
  const hashLink =
    kind === "transaction" ? txLink(it.bundleHash)
    : kind === "devchange" ? `<span class="hash">${esc(short(it.bundleHash))}</span>`
    : link(`#/bundle/${it.bundleHash}`, `<span class="hash">${esc(short(it.bundleHash))}</span>`, "bundle-link");
  const phase = phaseOf(it);
  return `<li class="item ${esc(kind)} ${esc(it.status)}" data-test="item" data-kind="${esc(kind)}"${phase ? ` data-phase="${esc(phase)}"` : ""}>
    <div class="item-head"><span class="idx">#${num(it.index)}</span> ${badge(kindLabel(it), kind === "transaction" || kind === "bundle" ? "info" : kind)} ${hashLink} ${badge(it.status)}</div>
    ${kind === "deposit" ? depositBox(it.deposit, it.txHash) : ""}
    ${kind === "encrypted" ? encryptedBox(it.encrypted) : ""}
    ${it.legs.length ? `<div class="legs">${it.legs.map((l, i) => legCard(l, i, it.status)).join("")}</div>` : ""}
    ${it.change ? `<div class="small mono">${esc(it.change)}</div>` : ""}
    ${abortBox(it.abort)}${messageLines(it.messages)}</li>`;
}

async function slotPage(n) {
  const [slot, items] = await Promise.all([rpc("xseq_getSlot", [`0x${n.toString(16)}`]), rpc("xseq_slotItems", [`0x${n.toString(16)}`])]);
  if (!slot && items && items.length) {
    return `<h1>Slot ${n} <span class="sub">${badge("invalidated")}</span></h1>
      <p class="small">An L1 challenge invalidated slot ${n} and every later one (shared fate); the sequencer has not sealed a new slot ${n} yet.</p>
      <ol class="items" data-test="invalidated">${items.map(itemCard).join("")}</ol>`;
  }
  if (!slot) return notFound(`Slot ${n}`);
  state.chainIds = slot.rollups.map((b) => b.chainId);
  const blocks = slot.rollups
    .map(
      (b) => `<tr><td>${chain(b.chainId)}</td><td>${fmtInt(b.blockNumber)}</td><td class="hash" title="${esc(b.blockHash)}">${esc(short(b.blockHash, 8))}</td>
      <td class="hash" title="${esc(b.stateRoot)}">${esc(short(b.stateRoot, 8))}</td><td>${b.transactions.length}</td></tr>`,
    )
    .join("");
  const current = (items || []).filter((it) => it.status !== "invalidated");
  const rolledBack = (items || []).filter((it) => it.status === "invalidated");
  const nav = `${n > 0 ? link(`#/slot/${n - 1}`, "← previous") : ""} ${link(`#/slot/${n + 1}`, "next →")}`;
  return `<h1>Slot ${n} <span class="sub">${new Date(num(slot.timestamp) * 1000).toISOString().replace(".000Z", "Z")}</span></h1>
    <div class="card">${kv([
      ["L1", l1Badge(slot.l1)],
      slot.l1 && slot.l1.txHash ? ["L1 transaction", `<span class="hash">${esc(slot.l1.txHash)}</span>`] : null,
      ["order root", `<span class="hash">${esc(slot.orderRoot || "–")}</span>`],
      ["items", `${current.length} in receipt order`],
      ["", nav],
    ])}</div>
    <h2>Blocks</h2><div class="table-wrap"><table><thead><tr><th>rollup</th><th>block</th><th>hash</th><th>state root</th><th>txs</th></tr></thead><tbody>${blocks}</tbody></table></div>
    <h2>Ordered items</h2>
    <ol class="items" data-test="items">${current.map(itemCard).join("") || `<li class="empty">No items: an empty slot.</li>`}</ol>
    ${rolledBack.length ? `<h2>Invalidated on L1</h2><p class="small">An L1 challenge invalidated an earlier slot ${n} and every later one (shared fate);
      these items were in it and are not on any rollup until resubmitted.</p>
      <ol class="items" data-test="invalidated">${rolledBack.map(itemCard).join("")}</ol>` : ""}`;
}

// the explorer's own view of a deposit or encrypted item: its slot row (xseq_slotItems)
async function slotDoc(b, h) {
  if (!b.slot) return null;
  const items = (await rpc("xseq_slotItems", [b.slot])) || [];
  return items.find((it) => it.bundleHash === h && (it.kind !== "encrypted" || phaseOf(it) === "commit")) || null;
}

async function bundlePage(h) {
  const b = await rpc("xseq_getBundle", [h]);
  if (!b) return notFound(`Bundle ${h}`);
  if (b.kind === "deposit" || b.kind === "encrypted") return kindPage(h, b, await slotDoc(b, h));
  state.chainIds = [...new Set(b.legs.map((l) => l.chainId))].sort();
  const r = b.receipt;
  return `<h1>${b.kind === "bundle" ? "Bundle" : "Item"} <span class="sub hash">${esc(short(h, 10))}</span></h1>
    <div class="card">${kv([
      ["hash", `<span class="hash">${esc(h)}</span>`],
      ["status", badge(b.status)],
      ["slot", b.slot ? slotLink(b.slot) : "–"],
      ["index", b.index != null ? num(b.index) : "–"],
      ["legs", `${b.legs.length} on ${[...new Set(b.legs.map((l) => l.chainId))].map(chain).join(" ")}`],
    ])}</div>
    <h2>Legs</h2><div class="legs">${b.legs.map((l, i) => legCard(l, i, b.status)).join("")}</div>
    ${abortBox(b.abort)}
    ${b.messages && b.messages.length ? `<h2>Cross-rollup messages</h2>${messageLines(b.messages)}` : ""}
    ${r ? `<h2>Order receipt</h2><div class="card">${kv([
      ["slot · index", `${num(r.slot)} · ${num(r.index)}`],
      ["order chain", `<span class="hash">${esc(r.orderChain || r.chain || "")}</span>`],
      ["signature", `<span class="hash">${esc(short(r.signature || "", 16))}</span>`],
    ])}</div>` : ""}`;
}

async function kindPage(h, b, doc) {
  const r = b.receipt;
  const sealed = b.kind === "encrypted" && b.status === "sealed";
  const title = b.kind === "deposit" ? "L1 deposit" : sealed ? "Encrypted item (sealed)" : "Encrypted item (revealed)";
  const legs = sealed ? [] : b.legs;
  if (legs.length) state.chainIds = [...new Set(legs.map((l) => l.chainId))].sort();
  const place = b.kind === "encrypted" ? "commit slot" : "slot";
  return `<h1>${title} <span class="sub hash">${esc(short(h, 10))}</span></h1>
    <div class="card" data-test="item-page" data-kind="${esc(b.kind)}">${kv([
      ["hash", `<span class="hash">${esc(h)}</span>`],
      ["kind", badge(b.kind === "deposit" ? "L1 deposit" : sealed ? "encrypted (sealed)" : "encrypted (revealed)", b.kind)],
      ["status", badge(b.status)],
      [place, b.slot ? slotLink(b.slot) : "–"],
      ["index", b.index != null ? num(b.index) : "–"],
      b.executedSlot ? ["executed in", `${slotLink(b.executedSlot, "reveal-slot-link")} · #${num(b.executedIndex)}`] : null,
    ])}</div>
    ${b.kind === "deposit" ? `<h2>From the L1</h2><div class="card">${depositBox((doc && doc.deposit) || b.deposit, b.txHash)}</div>` : ""}
    ${b.kind === "encrypted" && doc ? `<h2>Ciphertext</h2><div class="card">${encryptedBox(doc.encrypted)}</div>` : ""}
    ${legs.length ? `<h2>Legs <span class="sub">decrypted at the reveal</span></h2><div class="legs">${legs.map((l, i) => legCard(l, i, b.status)).join("")}</div>` : ""}
    ${sealed ? "" : abortBox(b.abort)}
    ${b.messages && b.messages.length ? `<h2>Cross-rollup messages</h2>${messageLines(b.messages)}` : ""}
    ${r ? `<h2>Order receipt${b.kind === "encrypted" ? ` <span class="sub">over the ciphertext, at the commit</span>` : ""}</h2><div class="card">${kv([
      ["slot · index", `${num(r.slot)} · ${num(r.index)}`],
      ["order chain", `<span class="hash">${esc(r.orderChain || r.chain || "")}</span>`],
      ["signature", `<span class="hash">${esc(short(r.signature || "", 16))}</span>`],
    ])}</div>` : ""}`;
}

async function txPage(h) {
  const t = await rpc("xseq_getTransaction", [h]);
  if (!t) return notFound(`Transaction ${h}`);
  const tx = t.transaction || {};
  const rc = t.receipt || {};
  const cid = t.chainId;
  if (!state.chainIds.length) state.chainIds = [cid];
  const item = t.item;
  return `<h1>Transaction <span class="sub">on rollup ${chain(cid)}</span></h1>
    <div class="card">${kv([
      ["hash", `<span class="hash">${esc(h)}</span>`],
      ["status", t.included ? statusOf(rc.status) : badge("not included", "aborted")],
      t.included ? ["block · slot", `${fmtInt(tx.blockNumber)} · ${slotLink(tx.blockNumber)}`] : null,
      t.included ? ["from", addrLink(cid, tx.from)] : null,
      t.included ? ["to", tx.to ? addrLink(cid, tx.to) : `contract creation ${addrLink(cid, rc.contractAddress)}`] : null,
      t.included ? ["value", eth(tx.value)] : null,
      t.included ? ["gas used", fmtInt(rc.gasUsed)] : null,
      t.included ? ["nonce", fmtInt(tx.nonce)] : null,
      t.deposit ? ["applies", `${link(`#/bundle/${t.deposit.itemHash}`, "L1 deposit", "deposit-link")} <span class="small">from L1 tx</span> <span class="hash">${esc(short(t.deposit.l1TxHash))}</span> <span class="small">log ${esc(t.deposit.logIndex)} (system transaction of the mailbox)</span>`] : null,
      item ? ["ordered as", `${badge(item.kind, "info")} ${item.kind !== "transaction" ? link(`#/bundle/${item.hash}`, `<span class="hash">${esc(short(item.hash))}</span>`, "bundle-link") : ""} ${badge(item.status)} ${item.slot ? slotLink(item.slot) : ""}`] : null,
      t.delivers ? ["delivers", link(`#/message/${t.delivers}`, `message ${esc(short(t.delivers))}`, "message-link") + ` <span class="small">(system transaction of the mailbox)</span>`] : null,
      t.messagesSent.length ? ["sends", t.messagesSent.map((m) => link(`#/message/${m}`, `message ${esc(short(m))}`, "message-link")).join("<br>")] : null,
      t.included && tx.input && tx.input !== "0x" ? ["input", `<span class="hash">${esc(short(tx.input, 24))}</span> <span class="small">${(tx.input.length - 2) / 2} bytes</span>`] : null,
    ])}</div>
    ${rc.logs && rc.logs.length ? `<h2>Logs</h2><div class="table-wrap"><table><thead><tr><th>#</th><th>address</th><th>topic 0</th></tr></thead><tbody>${rc.logs
      .map((l) => `<tr><td>${num(l.logIndex)}</td><td>${addrLink(cid, l.address)}</td><td class="hash">${esc(short(l.topics[0] || "", 10))}</td></tr>`)
      .join("")}</tbody></table></div>` : ""}`;
}

async function messagePage(id) {
  const m = await rpc("xseq_getMessage", [id]);
  if (!m) return notFound(`Message ${id}`);
  state.chainIds = [m.source, m.destination].sort();
  return `<h1>Message <span class="sub hash">${esc(short(id, 10))}</span></h1>
    <div class="flow" data-test="message-flow">
      <div class="card"><h2>Source ${chain(m.source)}</h2>${kv([
        ["transaction", txLink(m.originTx, "origin-link")],
        ["sender", addrLink(m.source, m.sender)],
        ["slot", m.slot ? slotLink(m.slot) : "–"],
      ])}</div>
      <div class="arrow">→</div>
      <div class="card"><h2>Destination ${chain(m.destination)}</h2>${kv([
        ["delivery", txLink(m.deliveryTx, "delivery-link")],
        ["target", addrLink(m.destination, m.target)],
        ["outcome", badge(m.status)],
      ])}</div>
    </div>
    <div class="card">${kv([
      ["id", `<span class="hash">${esc(id)}</span>`],
      ["value", eth(m.value)],
      ["nonce", esc(m.nonce)],
      ["depth", esc(m.depth)],
      ["data", `<span class="hash">${esc(short(m.data, 24))}</span>`],
      ["item", link(`#/bundle/${m.itemHash}`, `<span class="hash">${esc(short(m.itemHash))}</span>`, "bundle-link")],
    ])}</div>`;
}

async function addressPage(cid, a) {
  if (!state.chainIds.length) state.chainIds = (await rpc("xseq_recentSlots", [{ count: 1 }])).chainIds;
  const r = await rpc("xseq_addressActivity", [{ chainId: cid, address: a, count: 50 }]);
  const tabs = state.chainIds
    .map((c) => `<a class="${c === cid ? "active" : ""}" href="#/address/${c}/${esc(a)}">rollup ${esc(c)}</a>`)
    .join("");
  const rows = r.transactions
    .map(
      (t) => `<tr><td>${txLink(t.hash)}</td><td>${slotLink(t.blockNumber)}</td><td>${addrLink(cid, t.from)}</td>
        <td>${t.to ? addrLink(cid, t.to) : `create ${addrLink(cid, t.contractAddress)}`}</td><td>${eth(t.value)}</td><td>${statusOf(t.status)}</td></tr>`,
    )
    .join("");
  return `<h1>Address <span class="sub hash">${esc(a)}</span></h1><nav class="tabs">${tabs}</nav>
    <div class="card stats"><div class="stat"><b>${eth(r.balance)}</b><span>balance on ${esc(cid)}</span></div>
      <div class="stat"><b>${fmtInt(r.nonce)}</b><span>nonce</span></div>
      <div class="stat"><b>${r.codeSize ? `${r.codeSize} bytes` : "none"}</b><span>code</span></div></div>
    <h2>Recent transactions</h2><div class="table-wrap"><table><thead><tr><th>tx</th><th>slot</th><th>from</th><th>to</th><th>value</th><th>status</th></tr></thead>
    <tbody>${rows || `<tr><td colspan="6" class="empty">No transactions in the last ${fmtInt(r.scannedFrom) === "0" ? "" : "5,000 "}blocks.</td></tr>`}</tbody></table></div>`;
}

async function searchPage(text) {
  const found = await rpc("xseq_search", [text]);
  if (!found) return `<h1>Nothing found</h1><p class="empty">“${esc(text)}” is not a slot, transaction, bundle, message, address or deposit's L1 transaction known here.</p>`;
  const to = {
    slot: () => `#/slot/${num(found.number)}`,
    bundle: () => `#/bundle/${found.hash}`,
    transaction: () => `#/tx/${found.hash}`,
    message: () => `#/message/${found.id}`,
    address: () => `#/address/${found.chainIds[0]}/${found.address}`,
  }[found.kind]();
  location.replace(to);
  return null;
}

// -- router ------------------------------------------------------------------------------

const ROUTES = [
  [/^#?\/?$/, () => home()],
  [/^#\/slot\/(\d+)$/, (m) => slotPage(parseInt(m[1], 10))],
  [/^#\/bundle\/(0x[0-9a-fA-F]{64})$/, (m) => bundlePage(m[1])],
  [/^#\/tx\/(0x[0-9a-fA-F]{64})$/, (m) => txPage(m[1])],
  [/^#\/message\/(0x[0-9a-fA-F]{64})$/, (m) => messagePage(m[1])],
  [/^#\/address\/(\d+)\/(0x[0-9a-fA-F]{40})$/, (m) => addressPage(parseInt(m[1], 10), m[2])],
  [/^#\/search\/(.+)$/, (m) => searchPage(decodeURIComponent(m[1]))],
];

async function render(quiet = false) {
  const hash = location.hash || "#/";
  const changed = hash !== state.route;
  state.route = hash;
  if (changed) state.known = new Set();
  for (const [re, page] of ROUTES) {
    const m = hash.match(re);
    if (!m) continue;
    try {
      const html = await page(m);
      if (html != null && hash === (location.hash || "#/")) {
        if (html !== state.html || changed) view.innerHTML = html; // unchanged: leave it be
        state.html = html;
        view.dataset.page = hash.split("/")[1] || "home";
        view.dataset.route = hash; // what tests wait for: this route's page is on screen
        if (changed) window.scrollTo(0, 0);
      }
    } catch (e) {
      if (!quiet) view.innerHTML = `<h1>Error</h1><p class="error">${esc(e.message)}</p>`;
    }
    return;
  }
  view.innerHTML = notFound(`Page ${hash}`);
}

window.addEventListener("hashchange", () => render());
document.getElementById("search-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const q = document.getElementById("search").value.trim();
  if (q) location.hash = `#/search/${encodeURIComponent(q)}`;
});

// -- live updates ------------------------------------------------------------------------

async function refresh() {
  if (state.refreshing) return;
  const page = (location.hash || "#/").split("/")[1] || "";
  if (page !== "" && page !== "slot") return; // pages of a fixed thing don't change
  state.refreshing = true;
  try {
    await render(true);
  } finally {
    state.refreshing = false;
  }
}

function connect(chainIds) {
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/rollup/${chainIds[0]}`);
  ws.onopen = () => {
    ws.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_subscribe", params: ["newHeads"] }));
    live.textContent = "live";
    live.classList.add("on");
  };
  ws.onmessage = (ev) => {
    const msg = JSON.parse(ev.data);
    if (msg.method === "eth_subscription") refresh();
  };
  ws.onclose = () => {
    live.textContent = "reconnecting";
    live.classList.remove("on");
    setTimeout(() => connect(chainIds), 1500);
  };
}

(async () => {
  try {
    const r = await rpc("xseq_rollups");
    state.chainIds = r.map((x) => x.chainId);
    connect(state.chainIds);
  } catch (e) {
    live.textContent = "offline";
  }
  await render();
  setInterval(refresh, 3000); // L1 status moves without new slots (safe, finalized)
})();
