"""Counter-based random numbers: Philox4x32-10 (Salmon et al., SC'11, "Parallel random numbers: as
easy as 1, 2, 3") keyed by (seed, image index), with Box–Muller normals. The exact layout is in
docs/model-contract.md; src/sampler/rng.ts implements the same function, bit for bit."""
from __future__ import annotations

import numpy as np

M0, M1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
W0, W1 = 0x9E3779B9, 0xBB67AE85
MASK = np.uint64(0xFFFFFFFF)


def philox4x32(counter: np.ndarray, key) -> np.ndarray:
    """counter: uint32 array [..., 4]; key: (k0, k1). Returns uint32 [..., 4]. Ten rounds."""
    c = [counter[..., i].astype(np.uint64) for i in range(4)]
    k0, k1 = int(key[0]) & 0xFFFFFFFF, int(key[1]) & 0xFFFFFFFF
    for r in range(10):
        p0 = M0 * c[0]
        p1 = M1 * c[2]
        hi0, lo0 = p0 >> np.uint64(32), p0 & MASK
        hi1, lo1 = p1 >> np.uint64(32), p1 & MASK
        c = [hi1 ^ c[1] ^ np.uint64(k0), lo1, hi0 ^ c[3] ^ np.uint64(k1), lo0]
        k0, k1 = (k0 + W0) & 0xFFFFFFFF, (k1 + W1) & 0xFFFFFFFF
    return np.stack(c, axis=-1).astype(np.uint32)


def normals(seed: int, index: int, stream: int, n: int) -> np.ndarray:
    """n standard normals (float32) for image `index` of a request with `seed`, noise stream `stream`
    (0 = initial noise, i+1 = the consistency sampler's noise after step i)."""
    blocks = (n + 3) // 4
    ctr = np.zeros((blocks, 4), dtype=np.uint32)
    ctr[:, 0] = np.arange(blocks, dtype=np.uint32)
    ctr[:, 1] = stream
    r = philox4x32(ctr, (seed, index)).astype(np.float64)
    u = (r + 0.5) / 4294967296.0
    rho_a = np.sqrt(-2.0 * np.log(u[:, 0]))
    rho_b = np.sqrt(-2.0 * np.log(u[:, 2]))
    z = np.empty((blocks, 4), dtype=np.float64)
    z[:, 0] = rho_a * np.cos(2 * np.pi * u[:, 1])
    z[:, 1] = rho_a * np.sin(2 * np.pi * u[:, 1])
    z[:, 2] = rho_b * np.cos(2 * np.pi * u[:, 3])
    z[:, 3] = rho_b * np.sin(2 * np.pi * u[:, 3])
    return z.reshape(-1)[:n].astype(np.float32)
