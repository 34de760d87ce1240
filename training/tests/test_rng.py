import numpy as np

from training.rng import normals, philox4x32


def kat(ctr, key):
    return [int(v) for v in philox4x32(np.array([ctr], dtype=np.uint32), key)[0]]


def test_philox_known_answers_random123():
    assert kat([0, 0, 0, 0], (0, 0)) == [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8]
    assert kat([0xFFFFFFFF] * 4, (0xFFFFFFFF, 0xFFFFFFFF)) == [0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD]
    assert kat([0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344], (0xA4093822, 0x299F31D0)) == \
        [0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1]


def test_normals_depend_only_on_seed_index_stream():
    a = normals(42, 3, 0, 256)
    assert np.array_equal(a, normals(42, 3, 0, 256))
    assert np.array_equal(a[:10], normals(42, 3, 0, 10))  # a prefix does not depend on the length
    assert not np.array_equal(a, normals(42, 4, 0, 256))
    assert not np.array_equal(a, normals(43, 3, 0, 256))
    assert not np.array_equal(a, normals(42, 3, 1, 256))


def test_normals_are_standard_normal():
    from scipy import stats
    z = normals(7, 0, 0, 200_000).astype(np.float64)
    assert abs(z.mean()) < 0.01 and abs(z.std() - 1) < 0.01
    assert stats.kstest(z[:5000], "norm").pvalue > 1e-3
