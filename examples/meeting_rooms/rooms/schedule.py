"""Time slots and rooms. Times are minutes since midnight; a slot is half-open, so a
meeting that ends at 10:00 and one that starts at 10:00 do not overlap."""

from __future__ import annotations

from dataclasses import dataclass


class BookingError(Exception):
    """The requested slot collides with an existing booking."""


@dataclass(frozen=True)
class Slot:
    start: int
    end: int

    @property
    def duration(self) -> int:
        return self.end - self.start


def parse_time(text: str) -> int:
    hours, minutes = (int(part) for part in text.split(":"))
    if not (0 <= hours < 24 and 0 <= minutes < 60):
        raise ValueError(f"invalid time: {text!r}")
    return hours * 60 + minutes


def format_time(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def make_slot(start: str, end: str) -> Slot:
    slot = Slot(parse_time(start), parse_time(end))
    if slot.end <= slot.start:
        raise ValueError("a meeting must end after it starts")
    return slot


def overlaps(a: Slot, b: Slot) -> bool:
    return a.start < b.end and b.start <= a.end


class Room:
    def __init__(self, name: str, capacity: int) -> None:
        self.name = name
        self.capacity = capacity
        self.bookings: list[tuple[Slot, str]] = []

    def is_free(self, slot: Slot) -> bool:
        return not any(overlaps(slot, booked) for booked, _ in self.bookings)

    def book(self, slot: Slot, organizer: str) -> None:
        if not self.is_free(slot):
            raise BookingError(f"{self.name} is taken at {format_time(slot.start)}")
        self.bookings.append((slot, organizer))
        self.bookings.sort(key=lambda booking: booking[0].start)

    def free_slots(self, day_start: int, day_end: int) -> list[Slot]:
        gaps = []
        cursor = day_start
        for booked, _ in self.bookings:
            if booked.start > cursor:
                gaps.append(Slot(cursor, booked.start))
            cursor = max(cursor, booked.end)
        if cursor < day_end:
            gaps.append(Slot(cursor, day_end))
        return gaps
