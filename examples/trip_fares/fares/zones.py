"""Concentric fare zones: zone 1 is the centre, each ring ends at one of the limits."""

ZONE_LIMITS_KM = (5, 12, 20)  # outer edge of zones 1, 2 and 3; zone 4 is everything beyond


def zone_of(distance_km: float) -> int:
    """The zone of a station `distance_km` from the centre; a station on an edge belongs to
    the inner zone."""
    zone = 1
    for limit in ZONE_LIMITS_KM:
        if distance_km >= limit:
            zone += 1
    return zone


def zones_travelled(start_km: float, end_km: float) -> int:
    """How many zones a trip touches, both ends included."""
    return abs(zone_of(end_km) - zone_of(start_km)) + 1
