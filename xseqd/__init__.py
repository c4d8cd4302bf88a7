"""xseqd, a shared-sequencer devnet daemon.

Importing the package selects eth-hash's pysha3 backend (safe-pysha3, a dependency) for
every keccak — py-evm's tries, transaction and receipt hashes, our commitments — unless
``ETH_HASH_BACKEND`` says otherwise: about 1.3 µs per short hash against 9 µs with
pycryptodome, which eth-hash would pick first. Same digests either way.
"""

import os

try:
    import sha3  # noqa: F401  (safe-pysha3)
except ImportError:  # pragma: no cover - a dependency; eth-hash then uses pycryptodome
    pass
else:
    os.environ.setdefault("ETH_HASH_BACKEND", "pysha3")
