from fares import fare, zone_of, zones_travelled


def test_stations_inside_a_ring_are_in_its_zone():
    assert [zone_of(km) for km in (0, 3, 5.5, 7.5, 12.5, 15, 30)] == [1, 1, 2, 2, 3, 3, 4]


def test_a_station_on_a_zone_edge_belongs_to_the_inner_zone():
    assert [zone_of(km) for km in (5, 12, 20)] == [1, 2, 3]


def test_zones_travelled_counts_both_ends_in_either_direction():
    assert zones_travelled(1, 2) == 1
    assert zones_travelled(1, 14) == 3
    assert zones_travelled(25, 8) == 3


def test_adults_pay_the_base_fare_and_each_extra_zone():
    assert fare(1, 3, 30) == 200
    assert fare(1, 8, 30) == 350
    assert fare(30, 1, 45) == 650


def test_young_children_travel_at_half_price():
    assert fare(1, 3, 4) == 100
    assert fare(1, 8, 10) == 175


def test_an_eleven_year_old_still_travels_at_half_price():
    assert fare(1, 3, 11) == 100


def test_from_twelve_the_full_fare_applies():
    assert fare(1, 3, 12) == 200
    assert fare(1, 8, 16) == 350
