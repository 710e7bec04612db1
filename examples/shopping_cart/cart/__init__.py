"""A small shopping cart priced in integer cents."""

from cart.cart import Cart, Item
from cart.money import format_cents, parse_price

__all__ = ["Cart", "Item", "format_cents", "parse_price"]
