import pytest

from cart import Cart, format_cents, parse_price


def cart_with(*lines):
    cart = Cart()
    for sku, price, quantity in lines:
        cart.add(sku, parse_price(price), quantity)
    return cart


def test_parse_and_format_prices():
    assert parse_price("$12.5") == 1250
    assert parse_price(" 3 ") == 300
    assert parse_price("0.99") == 99
    assert parse_price(".5") == 50
    for bad in ("1.234", "abc", "-4", "$"):
        with pytest.raises(ValueError):
            parse_price(bad)
    assert format_cents(123456) == "$1,234.56"
    assert format_cents(-5) == "-$0.05"
    assert format_cents(0) == "$0.00"


def test_adding_the_same_sku_merges_the_lines():
    cart = cart_with(("mug", "12.50", 1), ("mug", "12.50", 2), ("tea", "4.99", 1))
    assert sorted(cart.items) == ["mug", "tea"]
    assert cart.items["mug"].quantity == 3
    assert cart.subtotal() == 4249
    assert (cart.discount(), cart.tax(), cart.shipping()) == (0, 339, 499)


def test_removing_the_last_unit_drops_the_line():
    cart = cart_with(("mug", "12.50", 2), ("tea", "4.99", 1))
    cart.remove("mug")
    assert cart.items["mug"].quantity == 1
    cart.remove("tea")
    assert list(cart.items) == ["mug"]
    with pytest.raises(ValueError):
        cart.add("mug", 1250, 0)


@pytest.mark.parametrize("percent", [0, 101, -10])
def test_coupon_must_be_between_1_and_100_percent(percent):
    with pytest.raises(ValueError):
        Cart().apply_coupon(percent)


def test_small_order_pays_tax_and_shipping():
    cart = cart_with(("mug", "12.50", 2), ("tea", "9.99", 1))
    assert (cart.subtotal(), cart.discount(), cart.tax(), cart.shipping()) == (3499, 0, 279, 499)
    assert cart.total() == 4277


def test_large_order_ships_free():
    cart = cart_with(("kettle", "60", 1))
    assert (cart.tax(), cart.shipping()) == (480, 0)
    assert format_cents(cart.total()) == "$64.80"


def test_empty_cart_costs_nothing():
    assert Cart().total() == 0


def test_coupon_discount_rounds_down_to_the_cent():
    cart = cart_with(("tea", "4.99", 3), ("scoop", "18.36", 1))
    cart.apply_coupon(15)
    assert (cart.subtotal(), cart.discount(), cart.tax(), cart.shipping()) == (3333, 499, 226, 499)


def test_coupon_is_taken_off_before_tax():
    cart = cart_with(("kettle", "80", 1), ("mug", "10", 2))
    cart.apply_coupon(10)
    assert (cart.subtotal(), cart.discount(), cart.tax(), cart.shipping()) == (10000, 1000, 720, 0)
    assert cart.total() == 9720


def test_coupon_can_bring_an_order_below_free_shipping():
    cart = cart_with(("lamp", "52", 1))
    cart.apply_coupon(25)
    assert cart.shipping() == 499
    assert format_cents(cart.total()) == "$47.11"
