import pytest

from rooms import BookingError, Room, Slot, format_time, make_slot, overlaps, parse_time


def booked_room(*slots):
    room = Room("Aurora", capacity=8)
    for start, end in slots:
        room.book(make_slot(start, end), "alice")
    return room


def test_parse_and_format_time():
    assert parse_time("09:30") == 570
    assert parse_time("00:00") == 0
    assert format_time(570) == "09:30"
    assert format_time(parse_time("23:59")) == "23:59"
    with pytest.raises(ValueError):
        parse_time("24:00")


def test_make_slot_requires_a_positive_duration():
    assert make_slot("10:00", "10:45").duration == 45
    with pytest.raises(ValueError):
        make_slot("10:00", "10:00")
    with pytest.raises(ValueError):
        make_slot("11:00", "10:00")


@pytest.mark.parametrize("start, end", [
    ("10:30", "11:30"), ("09:30", "10:30"), ("10:15", "10:45"), ("09:00", "12:00"), ("10:00", "11:00"),
])
def test_overlapping_booking_is_rejected(start, end):
    room = booked_room(("10:00", "11:00"))
    with pytest.raises(BookingError, match="Aurora is taken at"):
        room.book(make_slot(start, end), "bob")
    assert len(room.bookings) == 1


def test_meetings_far_apart_both_fit():
    room = booked_room(("14:00", "15:00"), ("09:00", "10:00"), ("16:30", "17:00"))
    assert [booking[0] for booking in room.bookings] == [Slot(540, 600), Slot(840, 900), Slot(990, 1020)]


def test_back_to_back_meeting_after_an_existing_one():
    room = booked_room(("10:00", "11:00"), ("11:00", "12:00"))
    assert len(room.bookings) == 2


def test_back_to_back_meeting_before_an_existing_one():
    room = booked_room(("10:00", "11:00"), ("09:00", "10:00"))
    assert [booking[0].start for booking in room.bookings] == [540, 600]


def test_adjacent_slots_do_not_overlap_in_either_order():
    morning, noon = make_slot("11:00", "12:00"), make_slot("12:00", "13:00")
    assert overlaps(morning, noon) is False
    assert overlaps(noon, morning) is False
    assert overlaps(morning, make_slot("11:59", "12:30")) is True


def test_free_slots_between_bookings():
    room = booked_room(("13:00", "14:00"), ("09:00", "10:00"))
    assert room.free_slots(parse_time("08:00"), parse_time("18:00")) == [
        Slot(480, 540), Slot(600, 780), Slot(840, 1080),
    ]
    assert room.free_slots(parse_time("09:00"), parse_time("14:00")) == [Slot(600, 780)]
