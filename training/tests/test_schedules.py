import math
import pytest

import torch

from training.schedules import (SIGMA_MAX, SIGMA_MIN, ict_num_scales, karras_sigmas, lognormal_level_probs,
                                pseudo_huber_c, sampling_schedule)


def test_karras_grid_is_ascending_between_the_ends():
    s = karras_sigmas(11)
    assert math.isclose(float(s[0]), SIGMA_MIN, rel_tol=1e-9)
    assert math.isclose(float(s[-1]), SIGMA_MAX, rel_tol=1e-9)
    assert bool((s[1:] > s[:-1]).all())


def test_ict_curriculum_doubles_from_10_to_1280():
    total = 8000
    seen = [ict_num_scales(k, total) for k in range(0, total, 50)]
    assert seen[0] == 11 and seen[-1] == 1281
    assert sorted(set(seen)) == [11, 21, 41, 81, 161, 321, 641, 1281]
    assert seen == sorted(seen)


def test_lognormal_probabilities_peak_near_p_mean():
    s = karras_sigmas(641)
    p = lognormal_level_probs(s)
    assert abs(float(p.sum()) - 1) < 1e-9 and bool((p >= 0).all())
    peak = float(s[int(p.argmax())])
    assert 0.1 < peak < 1.0  # exp(-1.1) ≈ 0.33


def test_sampling_schedule_descends_from_sigma_max():
    for n in range(1, 6):
        s = sampling_schedule(n)
        assert len(s) == n and s[0] == SIGMA_MAX
        assert all(a > b for a, b in zip(s, s[1:]))
        assert s[-1] > SIGMA_MIN


def test_pseudo_huber_constant():
    assert math.isclose(pseudo_huber_c(3 * 32 * 32), 0.00054 * math.sqrt(3072))


def test_ict_curriculum_end_is_reached_for_any_later_step():
    # the JFDL stages ask for the end of the curriculum with k = 10**9 (once a billion-bit power of 2)
    assert ict_num_scales(10 ** 9, 1) == ict_num_scales(10 ** 12, 8000) == 1281
    assert [ict_num_scales(k, 8) for k in range(10)] == [11, 21, 41, 81, 161, 321, 641, 1281, 1281, 1281]


def test_extension_phases_follow_the_curriculum_then_each_phase():
    from training.schedules import discretisation_changes, extended_num_scales, parse_extension
    assert parse_extension("2500") == (2500, None) and parse_extension("800:160") == (800, 160)
    for bad in ("0", "x", "10:", "10:0", "-5"):
        with pytest.raises(ValueError):
            parse_extension(bad)
    phases = [(2500, None), (800, 160)]
    # up to the planned total: the iCT curriculum unchanged
    assert all(extended_num_scales(k, 5500, phases) == ict_num_scales(k, 5500) for k in range(0, 5500, 97))
    # then the curriculum's last level, then the coarser one for good
    assert extended_num_scales(5500, 5500, phases) == extended_num_scales(7999, 5500, phases) == 1281
    assert extended_num_scales(8000, 5500, phases) == extended_num_scales(10 ** 6, 5500, phases) == 161
    # the EMA restarts only where N changes (holding s1 past the curriculum changes nothing)
    assert discretisation_changes(5500, phases) == [8000]
    assert discretisation_changes(5500, [(2500, None)]) == []
