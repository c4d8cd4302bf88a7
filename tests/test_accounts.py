"""The dev accounts: the fast BIP32 derivation gives eth-account's (and anvil's) keys, and
the keyring signs as the account it is asked for."""

from __future__ import annotations

from eth_account import Account

from xseqd.accounts import DEV_MNEMONIC, DevKeyring, dev_accounts


def test_keys_are_eth_accounts_derivation() -> None:
    Account.enable_unaudited_hdwallet_features()
    ours = dev_accounts(1001)
    for i in (0, 1, 9, 1000):
        ref = Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{i}")
        assert ours[i].key == ref.key
    assert ours[0].address == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"  # anvil's first


def test_keyring_maps_addresses_to_their_accounts() -> None:
    ring = DevKeyring(12)
    assert len(ring) == 12
    assert list(ring) == [bytes.fromhex(a.address[2:]) for a in dev_accounts(12)]
    assert ring[ring.addresses[11]].address == dev_accounts(12)[11].address
    assert ring.get(b"\x00" * 20) is None
