"""JSON log lines: batched behind a running loop, at once for warnings, never left behind."""

from __future__ import annotations

import asyncio
import io
import re

from gateway.logs import FLUSH_LINES, FLUSH_SECONDS, LineLogger, LineSink, UtcStamp, redact


async def test_info_lines_wait_for_each_other_and_a_warning_takes_them_out() -> None:
    out = io.BytesIO()
    logger = LineLogger(LineSink(out))
    logger.info(b'{"n":1}')
    logger.info(b'{"n":2}')
    assert out.getvalue() == b""
    logger.warning(b'{"n":3}')
    assert out.getvalue() == b'{"n":1}\n{"n":2}\n{"n":3}\n'


async def test_waiting_lines_are_written_within_the_flush_interval() -> None:
    out = io.BytesIO()
    logger = LineLogger(LineSink(out))
    logger.info(b'{"n":1}')
    await asyncio.sleep(FLUSH_SECONDS * 3)
    assert out.getvalue() == b'{"n":1}\n'


async def test_lines_joining_a_waiting_flush_and_lines_after_it_are_all_written() -> None:
    out = io.BytesIO()
    logger = LineLogger(LineSink(out))
    logger.info(b'{"n":1}')
    logger.info(b'{"n":2}')  # joins the flush the first one scheduled
    await asyncio.sleep(FLUSH_SECONDS * 3)
    assert out.getvalue() == b'{"n":1}\n{"n":2}\n'
    logger.info(b'{"n":3}')  # that flush is done: this one schedules the next
    await asyncio.sleep(FLUSH_SECONDS * 3)
    assert out.getvalue() == b'{"n":1}\n{"n":2}\n{"n":3}\n'


async def test_a_full_batch_is_written_at_once_without_waiting_for_the_interval() -> None:
    out = io.BytesIO()
    logger = LineLogger(LineSink(out))
    for n in range(FLUSH_LINES - 1):
        logger.info(b'{"n":%d}' % n)
    assert out.getvalue() == b""  # still waiting for more to join them
    logger.info(b'{"n":%d}' % (FLUSH_LINES - 1))
    assert out.getvalue() == b"".join(b'{"n":%d}\n' % n for n in range(FLUSH_LINES))
    logger.info(b'{"n":-1}')  # the next batch waits again
    assert out.getvalue().count(b"\n") == FLUSH_LINES
    await asyncio.sleep(FLUSH_SECONDS * 3)
    assert out.getvalue().endswith(b'{"n":-1}\n')


def test_without_an_event_loop_every_line_is_written_at_once() -> None:
    out = io.BytesIO()
    LineLogger(LineSink(out)).info(b'{"n":1}')
    assert out.getvalue() == b'{"n":1}\n'


def test_a_line_waiting_on_a_loop_that_ended_goes_out_with_the_next_loop() -> None:
    out = io.BytesIO()
    logger = LineLogger(LineSink(out))

    async def log_once(n: int) -> None:
        logger.info(b'{"n":%d}' % n)

    asyncio.run(log_once(1))  # this loop closes before its flush comes due
    assert out.getvalue() == b""

    async def log_and_wait() -> None:
        await log_once(2)
        await asyncio.sleep(FLUSH_SECONDS * 3)

    asyncio.run(log_and_wait())
    assert out.getvalue() == b'{"n":1}\n{"n":2}\n'


def test_a_closed_stream_loses_the_lines_quietly() -> None:
    out = io.BytesIO()
    sink = LineSink(out)
    out.close()
    LineLogger(sink).error(b'{"n":1}')  # nothing raised: logging never fails the caller


def test_timestamps_are_iso_utc_with_microseconds() -> None:
    stamp = UtcStamp()
    first = stamp(None, "info", {})["timestamp"]
    second = stamp(None, "info", {})["timestamp"]
    pattern = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z"
    assert re.fullmatch(pattern, first)
    assert re.fullmatch(pattern, second)
    assert second >= first


def test_redact_removes_every_value_and_each_hostid_part() -> None:
    text = (
        "bad activation_key=ABCDE-12345, hostid=HOSTNAME=build01,ETHERNET=AABBCCDDEEFF "
        "(build01 / AABBCCDDEEFF / s3cret)"
    )
    values = ["ABCDE-12345", "HOSTNAME=build01,ETHERNET=AABBCCDDEEFF", "s3cret"]
    redacted = redact(text, values)
    for secret in ("ABCDE-12345", "build01", "AABBCCDDEEFF", "s3cret"):
        assert secret not in redacted
    assert redacted.startswith("bad activation_key=")
