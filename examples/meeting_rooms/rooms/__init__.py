"""Meeting room bookings for a single day."""

from rooms.schedule import BookingError, Room, Slot, format_time, make_slot, overlaps, parse_time

__all__ = ["BookingError", "Room", "Slot", "format_time", "make_slot", "overlaps", "parse_time"]
