"""The PyTorch peer of `npm run bench` on the tiny fixture: one process at several batch sizes and
one request at a time, and one single-threaded process per core side by side."""
import os

from training.bench_torch import bench, bench_parallel

TINY = os.path.join(os.path.dirname(__file__), "..", "..", "test", "fixtures", "models", "tiny-rgb8")


def test_bench_reports_every_batch_size_and_the_best():
    r = bench(TINY, "jfdl", [80.0, 2.0], 1.5, images=8, batch_sizes=[1, 4], one_at_a_time=2, threads=1)
    assert set(r["images_per_s_by_batch"]) == {"1", "4"}
    assert all(v > 0 for v in r["images_per_s_by_batch"].values())
    assert r["images_per_s_best"] == max(r["images_per_s_by_batch"].values())
    assert r["images_per_s_one_at_a_time"] > 0
    assert r["threads"] == 1


def test_bench_parallel_runs_one_single_threaded_process_each():
    r = bench_parallel(TINY, "jfdl", [80.0, 2.0], 1.5, batch_sizes=[2], processes=2, seconds=0.2)
    assert r["processes"] == 2 and r["threads"] == 1
    assert r["best_batch"] == 2
    assert r["images_per_s_best"] == r["images_per_s_by_batch"]["2"] > 0
