"""Reading a weekly workbook in a child process.

Parsing a large sheet is CPU work (about 0.1 ms a row). In the server's own process it takes
turns with the import it feeds and with every other request; in a process of its own it runs
on the other core while the import waits on the database. The child hands over rows in
batches through a pipe and says where the workbook broke, if it does."""

from __future__ import annotations

import asyncio
import io
import logging
import multiprocessing
from collections.abc import AsyncIterator
from multiprocessing.connection import Connection
from typing import Any

from handlers.imports.weekly_reader import RawRow, WorkbookError, read_weekly

log = logging.getLogger("ticketbot.imports")
_BATCH = 500


def _produce(source: str | bytes | bytearray, out: Connection) -> None:
    """The child: read the sheet and send ("rows", [...]) batches, then ("end", None) or
    ("error", message)."""
    try:
        sheet = read_weekly(source if isinstance(source, str) else io.BytesIO(source))
        batch: list[tuple[int, dict[str, Any]]] = []
        for row in sheet.rows:
            batch.append((row.row_number, row.values))
            if len(batch) >= _BATCH:
                out.send(("rows", batch))
                batch = []
        if batch:
            out.send(("rows", batch))
        out.send(("end", None))
    except WorkbookError as exc:
        out.send(("error", str(exc)))
    except BrokenPipeError:
        pass  # the import stopped listening
    finally:
        out.close()


def _receive(conn: Connection) -> tuple[str, Any]:
    try:
        return conn.recv()
    except EOFError:
        return "gone", None


async def rows_in_child(source: str | bytes | bytearray) -> AsyncIterator[RawRow]:
    """The sheet's rows as read_weekly(source).rows gives them, read by a child process.
    Call read_weekly first to report a file that is not a workbook; this re-reads it."""
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_produce, args=(source, sender), daemon=True,
                            name="ticketbot-workbook-reader")
    child.start()
    sender.close()
    loop = asyncio.get_running_loop()
    try:
        while True:
            kind, payload = await loop.run_in_executor(None, _receive, receiver)
            if kind == "rows":
                for row_number, values in payload:
                    yield RawRow(row_number, values)
            elif kind == "error":
                raise WorkbookError(payload)
            elif kind == "end":
                return
            else:
                raise WorkbookError("The workbook reader stopped before the end of the sheet.")
    finally:
        receiver.close()
        await loop.run_in_executor(None, _stop, child)


def _stop(child: Any) -> None:
    child.join(timeout=2)
    if child.is_alive():
        log.warning("workbook reader did not stop by itself; terminating it")
        child.terminate()
        child.join(timeout=2)
