"""What the side task is doing, as the status line and the OSC surface show it (a light
module: the surfaces import it without the store or the sources)."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TrainingState:
    """What the side task is doing, for ``/jamd/state``, STATUS= and the log."""

    running: bool = False
    genre: str = ""
    source: str = ""
    done: int = 0
    total: int | None = None
    genres_done: int = 0
    genres_total: int = 0
    last_finished: float | None = None  # seconds since the epoch
    last_summary: str = ""  # the last run's RefreshResult.summary()
    notices: tuple[str, ...] = ()

    def status(self) -> str:
        """A short phrase for the status line: ``training blues 2/8 (midi 120/400)``."""
        if self.running:
            where = f" ({self.source} {self.done}/{self.total or '?'})" if self.source else ""
            return f"training {self.genre} {self.genres_done + 1}/{self.genres_total}{where}"
        return ""
