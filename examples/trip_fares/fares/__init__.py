"""Fare zones and ticket prices of a city's rail network."""

from fares.tickets import fare
from fares.zones import zone_of, zones_travelled

__all__ = ["fare", "zone_of", "zones_travelled"]
