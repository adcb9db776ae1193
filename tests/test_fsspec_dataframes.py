"""pandas and Dask through rftp:// against vsftpd (a server in its own processes).

The numbers read through rftp:// must equal those pandas computes from the
same files on the local disk.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from fsspec_support import base, url
from support import sha256


@pytest.fixture
def vsftpd_data(root):
    """vsftpd serving ``root`` with 100 CSV files under csv/."""
    from vsftpd import Vsftpd

    rng = np.random.default_rng(7)
    (root / "csv").mkdir()
    for i in range(100):
        n = 50 + i
        frame = pd.DataFrame(
            {
                "key": rng.choice(list("abcdefg"), n),
                "x": rng.integers(-1000, 1000, n),
                "y": rng.random(n).round(6),
                "file": i,
            }
        )
        frame.to_csv(root / "csv" / f"part-{i:03d}.csv", index=False)
    with Vsftpd(root) as srv:
        yield srv


def local_frame(srv):
    files = sorted((srv.root / "csv").glob("*.csv"))
    return pd.concat([pd.read_csv(f) for f in files], ignore_index=True)


def test_pandas_csv_round_trip(vsftpd_data):
    srv = vsftpd_data
    frame = pd.read_csv(url(srv, "csv/part-042.csv"))
    pd.testing.assert_frame_equal(frame, pd.read_csv(srv.root / "csv/part-042.csv"))
    frame["z"] = frame["x"] * 2
    frame.to_csv(url(srv, "out/written.csv"), index=False)
    local = srv.root / "out/written.csv"
    assert sha256(local.read_bytes()) == sha256(frame.to_csv(index=False).encode())
    pd.testing.assert_frame_equal(pd.read_csv(url(srv, "out/written.csv")), frame)


def test_pandas_parquet_random_access(vsftpd_data):
    srv = vsftpd_data
    frame = local_frame(srv)
    buf = io.BytesIO()
    frame.to_parquet(buf, engine="pyarrow", row_group_size=1000)
    (srv.root / "all.parquet").write_bytes(buf.getvalue())
    got = pd.read_parquet(url(srv, "all.parquet"), engine="pyarrow")
    pd.testing.assert_frame_equal(got, frame)
    cols = pd.read_parquet(url(srv, "all.parquet"), engine="pyarrow", columns=["x"])
    pd.testing.assert_frame_equal(cols, frame[["x"]])
    # and written through rftp:// too
    frame.head(500).to_parquet(url(srv, "head.parquet"), engine="pyarrow")
    pd.testing.assert_frame_equal(
        pd.read_parquet(srv.root / "head.parquet"), frame.head(500)
    )


def test_dask_cluster_reads_and_writes_over_rftp(vsftpd_data, tmp_path):
    import dask.dataframe as dd
    from dask.distributed import Client, LocalCluster

    srv = vsftpd_data
    want = (
        local_frame(srv)
        .groupby("key")
        .agg(x=("x", "sum"), y=("y", "sum"), n=("x", "size"))
    )
    # No warning filter: none comes (and filterwarnings=error would catch one).
    cluster = LocalCluster(
        n_workers=2,
        processes=True,
        threads_per_worker=1,
        dashboard_address=":0",  # never a clash over port 8787
        local_directory=str(tmp_path),
    )
    with cluster, Client(cluster) as client:
        frame = dd.read_csv(url(srv, "csv/*.csv"))
        assert frame.npartitions == 100
        result = frame.groupby("key").agg(
            x=("x", "sum"), y=("y", "sum"), n=("x", "size")
        )
        result = result.compute().sort_index()
        frame[frame.x > 0].to_csv(url(srv, "out/positive-*.csv"), index=False)
        workers = client.run(lambda: __import__("os").getpid())
        assert len(set(workers.values())) == 2
    pd.testing.assert_frame_equal(
        result,
        want,
        check_exact=False,
        rtol=1e-9,
        check_dtype=False,
        check_index_type=False,
    )
    written = sorted((srv.root / "out").glob("positive-*.csv"))
    assert len(written) == 100
    back = pd.concat([pd.read_csv(f) for f in written], ignore_index=True)
    local = local_frame(srv)
    expect = local[local.x > 0].reset_index(drop=True)
    pd.testing.assert_frame_equal(back, expect)
    assert base(srv)  # vsftpd: absolute paths in the URLs
