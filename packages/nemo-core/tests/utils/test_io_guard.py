"""nemo.utils.io_guard: a block may write only inside its folder, and may not hang."""

import time

import pytest
from nemo.utils.io_guard import CallHangs, guarded


def test_writes_inside_the_folder_pass_and_writes_outside_are_listed(tmp_path):
    inside, outside = tmp_path / "inside", tmp_path / "outside"
    inside.mkdir()
    with guarded(inside):
        (inside / "sub").mkdir()
        (inside / "sub" / "a.txt").write_text("ok")
        (inside / "sub" / "a.txt").replace(inside / "b.txt")
    with pytest.raises(AssertionError, match=r"written outside .*inside.*open .*outside"):
        with guarded(inside):
            outside.write_text("escaped")
    assert outside.read_text() == "escaped"  # the guard reports; it does not undo
    with guarded(inside):  # reading outside is not writing
        assert outside.read_text() == "escaped"


def test_a_block_that_runs_too_long_is_interrupted():
    started = time.monotonic()
    with pytest.raises(CallHangs, match="still running after 0.2 s"):
        with guarded("/nonexistent-root-for-this-test", time_limit_s=0.2):
            time.sleep(5)
    assert time.monotonic() - started < 2
    time.sleep(0.3)  # the timer was cancelled: no alarm arrives after the block
