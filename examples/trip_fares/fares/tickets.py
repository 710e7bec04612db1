"""Single-trip ticket prices."""

from fares.zones import zones_travelled

BASE_FARE_CENTS = 200  # a trip inside one zone
PER_EXTRA_ZONE_CENTS = 150
CHILD_MAX_AGE = 11  # children up to this age travel at half price


def fare(start_km: float, end_km: float, age: int) -> int:
    """The price in cents of a trip between two stations for a traveller of `age`."""
    price = BASE_FARE_CENTS + PER_EXTRA_ZONE_CENTS * (zones_travelled(start_km, end_km) - 1)
    if age < CHILD_MAX_AGE:
        price //= 2
    return price
