"""A writer for the kill -9 test: opens the store given on the command line and records
feedback rows in a loop, printing each row's id (flushed) only once its transaction has
committed. Runs until killed."""

import asyncio
import sys

from jamd.store import Store


async def write(path: str) -> None:
    store = await Store.open(path)
    song = await store.add_song({"genre": "blues"}, 7, 1.0, {})
    print(f"song {song}", flush=True)  # noqa: T201  (the test reads stdout)
    n = 0
    while True:
        n += 1
        row = await store.add_feedback(song, "like", float(n), n, {"n": n, "pad": "x" * 200})
        print(row, flush=True)  # noqa: T201


if __name__ == "__main__":
    asyncio.run(write(sys.argv[1]))
